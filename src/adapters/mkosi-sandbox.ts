/**
 * mkosi's own sandbox (its `sandbox.py`, what `mkosi sandbox` runs) as a command prefix: the tools
 * tree's /usr over the host's, every other top-level directory of the host as it is, the current
 * directory kept. This is the layout of `mkosi sandbox`, built without mkosi's configuration parse
 * and zipapp (a second or more per call), because the audit and `boxes test` run many short programs.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ifMissing } from '../system/expected.js';

/** A top-level entry: a directory (or file) to bind, or a symlink to recreate. */
export type RootEntry = { kind: 'bind' } | { kind: 'symlink'; target: string };

export interface SandboxLayout {
  python: string;
  /** mkosi's sandbox.py. */
  script: string;
  tree: string;
  /** The tree's bin, sbin, lib, lib32 and lib64, as they are there. */
  treeRoots: Readonly<Record<string, RootEntry>>;
  /** The host's top-level entries that the sandbox keeps (not /usr, /proc or the tree's roots). */
  hostRoots: Readonly<Record<string, RootEntry>>;
  /** Files of the tree's /etc that belong with its /usr, bound where the host has a mount point. */
  etcFromTree: readonly string[];
}

/** Replaced by the tree (or by a fresh /proc); everything else of the host stays visible. */
const TREE_ROOTS = ['bin', 'sbin', 'lib', 'lib32', 'lib64'] as const;
const NOT_KEPT = new Set(['proc', 'usr', 'nix', ...TREE_ROOTS]);
/** The alternatives and the loader cache describe the tree's /usr, not the host's. */
const ETC_FROM_TREE = ['etc/alternatives', 'etc/ld.so.cache'] as const;

/** The sandbox command, up to (not including) the `--` before the program. */
export function sandboxPrefix(l: SandboxLayout): string[] {
  const argv = [l.python, '-SI', l.script, '--proc', '/proc', '--ro-bind', join(l.tree, 'usr'), '/usr'];
  const place = (entry: RootEntry, from: string, to: string, readOnly: boolean) =>
    entry.kind === 'symlink' ? ['--symlink', entry.target, to] : [readOnly ? '--ro-bind' : '--bind', from, to];
  for (const [name, entry] of Object.entries(l.treeRoots)) argv.push(...place(entry, join(l.tree, name), `/${name}`, true));
  for (const path of l.etcFromTree) argv.push('--ro-bind', join(l.tree, path), `/${path}`);
  for (const [name, entry] of Object.entries(l.hostRoots).sort(([a], [b]) => a.localeCompare(b))) argv.push(...place(entry, `/${name}`, `/${name}`, false));
  argv.push('--setenv', 'PATH', '/usr/bin:/usr/sbin', '--same-dir');
  return argv;
}

async function entryAt(path: string): Promise<RootEntry | undefined> {
  const info = await lstat(path).catch(ifMissing(undefined));
  if (!info) return undefined;
  return info.isSymbolicLink() ? { kind: 'symlink', target: await readlink(path) } : { kind: 'bind' };
}

/** Reads what the layout depends on: the tree's and the host's top-level entries. */
export async function readSandboxLayout(tree: string, script: string, python = 'python3', hostRoot = '/'): Promise<SandboxLayout> {
  const treeRoots: Record<string, RootEntry> = {};
  for (const name of TREE_ROOTS) {
    const entry = await entryAt(join(tree, name));
    if (entry) treeRoots[name] = entry;
  }
  const hostRoots: Record<string, RootEntry> = {};
  for (const name of await readdir(hostRoot)) {
    if (NOT_KEPT.has(name)) continue;
    const entry = await entryAt(join(hostRoot, name));
    if (entry) hostRoots[name] = entry;
  }
  const etcFromTree: string[] = [];
  for (const path of ETC_FROM_TREE) if ((await entryAt(join(tree, path))) && (await entryAt(join(hostRoot, path)))) etcFromTree.push(path);
  return { python, script, tree, treeRoots, hostRoots, etcFromTree };
}
