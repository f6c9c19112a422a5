/** Facts about the host's filesystem: whether the output directory is writable, making it. */
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { ifMissing } from './expected.js';

/** Why `dir` cannot hold build outputs, or undefined when it can. Creates nothing. */
export async function outputDirProblem(dir: string): Promise<string | undefined> {
  let current = resolve(dir);
  for (;;) {
    try {
      const s = await stat(current);
      if (!s.isDirectory()) return `${current} is not a directory`;
      await access(current, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') return `${current} is not writable`;
      if (code !== 'ENOENT') return `${current}: ${code}`;
      const parent = dirname(current);
      if (parent === current) return `no existing parent of ${dir}`;
      current = parent;
    }
  }
}

/**
 * Creates `dir` one component at a time. Node's recursive mkdir loops forever on some pseudo
 * filesystems (e.g. below /proc), which would hang the build before it could report anything.
 */
export async function makeDirectory(dir: string, what = 'the output directory', option = '--output-dir'): Promise<void> {
  const missing: string[] = [];
  let current = resolve(dir);
  while (!(await stat(current).then((s) => s.isDirectory(), ifMissing(false)))) {
    missing.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const path of missing) {
    try {
      await mkdir(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new UsageError(`cannot create ${what} ${path}: ${(error as NodeJS.ErrnoException).code}`, `pass a writable ${option}`);
    }
  }
}
