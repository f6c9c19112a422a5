/**
 * The user namespace rootless builds run mkosi in: the invoking user is uid/gid 0, and ids
 * 1..65535 are the user's subordinate range (mkosi's own `become_root_in_subuid_range` layout).
 * util-linux unshare sets it up through newuidmap/newgidmap and then execs mkosi, so mkosi is the
 * child boxes signals, and everything mkosi writes as "root" belongs to the invoking user outside.
 */
import { readFile, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { execa } from 'execa';
import { findTool } from '../system/which.js';
import { PrerequisiteError } from '../system/errors.js';
import type { Mkosi } from '../adapters/mkosi.js';
import { run } from '../system/runner.js';
import { chooseBuildMode, subordinateIdsFix, versionAtLeast, type BuildMode, type IdFacts } from './build-mode.js';
import { NAMESPACE_IDS } from './subordinate-ids.js';
import { ifMissing } from '../system/expected.js';

type Mapped = Extract<BuildMode, { kind: 'subordinate-ids' }>;

/** util-linux 2.39 changed --map-users from OUTER,INNER,COUNT to INNER:OUTER:COUNT. */
export function rangeSpec(unshareVersion: string, inner: number, outer: number, count: number): string {
  return versionAtLeast(unshareVersion, [2, 39]) ? `${inner}:${outer}:${count}` : `${outer},${inner},${count}`;
}

/** The argv prefix that runs a command as uid 0 of the build namespace. Pure. */
export function namespacePrefix(mode: Mapped): string[] {
  const count = NAMESPACE_IDS - 1;
  return [
    'unshare',
    '--map-user=0',
    '--map-group=0',
    `--map-users=${rangeSpec(mode.unshare, 1, mode.subuid.start, count)}`,
    `--map-groups=${rangeSpec(mode.unshare, 1, mode.subgid.start, count)}`,
    '--setuid=0',
    '--setgid=0',
    // mkosi checks its effective capabilities before it mounts; keep them across exec.
    '--keep-caps',
    '--',
  ];
}

/** mkosi as this mode runs it. */
export function mkosiFor(mkosi: Mkosi, mode: BuildMode): Mkosi {
  return mode.kind === 'subordinate-ids' ? { ...mkosi, argv: [...namespacePrefix(mode), ...mkosi.argv] } : mkosi;
}

export function parseUnshareVersion(text: string): string | undefined {
  return /util-linux\s+(\d+(?:\.\d+)*)/.exec(text)?.[1];
}

const readOptional = (path: string) => readFile(path, 'utf8').catch(ifMissing(undefined));

export async function hostIdFacts(): Promise<IdFacts> {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch (error) {
    // A uid with no passwd entry (a container's): libuv's lookup fails with ERR_SYSTEM_ERROR.
    if ((error as NodeJS.ErrnoException).code !== 'ERR_SYSTEM_ERROR') throw error;
    user = process.env.USER || undefined;
  }
  const unshare = await execa('unshare', ['--version'], { reject: false, timeout: 10_000 });
  return {
    uid: process.getuid!(),
    gid: process.getgid!(),
    user,
    subuid: await readOptional('/etc/subuid'),
    subgid: await readOptional('/etc/subgid'),
    newuidmap: (await findTool('newuidmap')) !== undefined,
    newgidmap: (await findTool('newgidmap')) !== undefined,
    unshare: unshare.failed ? undefined : parseUnshareVersion(String(unshare.stdout)),
  };
}

/**
 * The mode this user's builds get. A fully mapped namespace is entered once here, so a setup the
 * kernel or newuidmap refuses (no setuid bit, a range another user owns) fails before anything slow.
 */
export async function detectBuildMode(options: { singleUid: boolean; signal?: AbortSignal }, facts?: IdFacts): Promise<BuildMode> {
  const f = facts ?? (await hostIdFacts());
  const mode = chooseBuildMode(f, options);
  if (mode.kind !== 'subordinate-ids') return mode;
  const probe = await execa(namespacePrefix(mode)[0]!, [...namespacePrefix(mode).slice(1), 'id', '-u'], { reject: false, timeout: 30_000, cancelSignal: options.signal });
  if (probe.failed || String(probe.stdout).trim() !== '0') {
    const why = String(probe.stderr).trim().split('\n')[0] || `exit ${probe.exitCode}`;
    throw new PrerequisiteError(`cannot enter the build namespace (${why})`, subordinateIdsFix(f.user ?? String(f.uid)));
  }
  return mode;
}

/**
 * Removes a tree mkosi wrote. In a mapped namespace some of its directories belong to subordinate
 * ids, which the invoking user cannot empty from outside; namespace root can.
 */
export async function removeTree(path: string, mode: BuildMode): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (mode.kind !== 'subordinate-ids' || (code !== 'EACCES' && code !== 'EPERM')) throw error;
    await run([...namespacePrefix(mode), 'rm', '-rf', '--', path], { what: `removing ${path}` });
  }
}
