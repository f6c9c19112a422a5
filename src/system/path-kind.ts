/** What a path names, for options that need a file or a directory: one line naming the option when it is not. */
import { stat } from 'node:fs/promises';
import { UsageError } from './errors.js';

export async function pathKind(path: string): Promise<'file' | 'directory' | 'other' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'directory' : s.isFile() ? 'file' : 'other';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** `--option PATH` must name an existing file (`file`), an existing directory (`directory`), or anything but a directory (`not-directory`: a file to write). */
export async function requirePath(option: string, path: string, want: 'file' | 'directory' | 'not-directory'): Promise<void> {
  const kind = await pathKind(path);
  if (want === 'not-directory') {
    if (kind === 'directory') throw new UsageError(`${option}: ${path} is a directory, not a file`, `pass a file name for ${option}`);
    return;
  }
  if (kind === want) return;
  const is = kind === undefined ? 'does not exist' : kind === 'directory' ? 'is a directory' : 'is not a regular file';
  throw new UsageError(`${option}: ${path} ${want === 'directory' && kind === 'file' ? 'is a file, not a directory' : is}`, `pass an existing ${want} for ${option}`);
}
