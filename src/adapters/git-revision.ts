/** The git commit of the config tree, recorded in image labels; "-dirty" when it has local edits. */
import { execa } from 'execa';

export async function treeRevision(dir: string): Promise<string> {
  const head = await execa('git', ['-c', 'safe.directory=*', '-C', dir, 'rev-parse', 'HEAD'], { reject: false });
  if (head.failed) return 'unknown';
  const status = await execa('git', ['-c', 'safe.directory=*', '-C', dir, 'status', '--porcelain', '--untracked-files=no'], { reject: false });
  return `${String(head.stdout).trim()}${String(status.stdout).trim() ? '-dirty' : ''}`;
}
