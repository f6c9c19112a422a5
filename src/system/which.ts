/** Where a program is: the first executable of that name in PATH's directories (or others given). */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ifMissingOrDenied } from './expected.js';

/** The first executable NAME in DIRS (default: PATH's directories), or undefined. */
export async function which(name: string, dirs = (process.env.PATH ?? '').split(delimiter)): Promise<string | undefined> {
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await access(candidate, constants.X_OK).then(() => true, ifMissingOrDenied(false))) return candidate;
  }
  return undefined;
}

export async function onPath(name: string, path = process.env.PATH ?? ''): Promise<boolean> {
  return (await which(name, path.split(delimiter))) !== undefined;
}

/** Like `which`, also in the sbin directories a normal user's PATH often lacks (debugfs, sfdisk). */
export async function findTool(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  return which(name, [...path.split(delimiter), '/usr/sbin', '/sbin']);
}
