/**
 * Where the programs boxes runs come from. Every external program (the audit's readers, QEMU and
 * its firmware, ssh, the seed-ISO maker, diffoscope, skopeo) runs from the pinned tools tree
 * through mkosi's sandbox (src/adapters/mkosi-sandbox.ts), so a host needs only Node and Python
 * and every host gets the same versions. The host toolbox exists for the host services boxes
 * drives (libvirt's own QEMU and firmware) and for tests of the host's tools on fixtures.
 */
import { join, resolve, sep } from 'node:path';
import { UsageError } from './errors.js';

export interface Toolbox {
  /** 'host', or the tools tree's path. */
  readonly source: string;
  /** The argv that runs ARGV with this toolbox's programs. */
  wrap(argv: readonly string[]): string[];
  /** Where a file of the toolbox's /usr (firmware, keys) is on the host, to read it from here. */
  file(path: string): string;
}

export const HOST_TOOLBOX: Toolbox = Object.freeze({
  source: 'host',
  wrap: (argv: readonly string[]) => [...argv],
  file: (path: string) => path,
});

/** Where the tools tree's programs see the tree, not the host: a host path below these is hidden from them. */
const TREE_ROOTS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64'];

/**
 * Refuses a path the tools tree's programs cannot see (one below the host's /usr, which the
 * sandbox replaces with the tree's): said before anything runs, naming the option.
 */
export function requireVisibleToTools(what: string, path: string): void {
  const full = resolve(path);
  const under = TREE_ROOTS.find((r) => full === r || full.startsWith(`${r}${sep}`));
  if (under)
    throw new UsageError(`${what}: ${full} is below ${under}, which the tools tree's programs see as the tree's own`, 'use a directory outside /usr, /bin, /sbin and /lib');
}

/** A toolbox over a tree whose programs run through PREFIX (the sandbox command). */
export function treeToolbox(tree: string, prefix: readonly string[]): Toolbox {
  return Object.freeze({
    source: tree,
    wrap: (argv: readonly string[]) => [...prefix, '--', ...argv],
    file: (path: string) => join(tree, path),
  });
}
