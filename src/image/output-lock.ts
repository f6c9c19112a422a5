/** One build per output directory: a lock file holding the owner's pid; stale locks are taken over. */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../system/errors.js';
import { ifMissing } from '../system/expected.js';

const NAME = '.boxes.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockOutputDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await readFile(path, 'utf8').catch(ifMissing(''))).trim());
      if (pid > 0 && alive(pid)) throw new UsageError(`another boxes build (pid ${pid}) is writing to ${dir}`, 'wait for it to finish or pass another --output-dir');
      await rm(path, { force: true });
    }
  }
  throw new UsageError(`cannot lock ${dir}`, `remove ${path} if no build is running`);
}
