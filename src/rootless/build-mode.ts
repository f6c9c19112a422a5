/**
 * How mkosi runs for this user. Root builds run mkosi directly. An unprivileged user's builds run
 * mkosi as uid 0 of a user namespace that maps a whole subordinate id range, so mkosi chowns for
 * real and the image is the root build's, byte for byte. Without such a range the build is refused,
 * unless the user asks for mkosi's single-uid mode (no chown: files of other owners become root's).
 */
import { PrerequisiteError } from '../system/errors.js';
import { formatRange, NAMESPACE_IDS, rangesOf, usableRange, type IdRange } from './subordinate-ids.js';

export type BuildMode = { kind: 'root' } | { kind: 'subordinate-ids'; subuid: IdRange; subgid: IdRange; unshare: string } | { kind: 'single-uid' };

/** What the host says about the invoking user; gathered by `hostIdFacts`, passed in for tests. */
export interface IdFacts {
  uid: number;
  gid: number;
  user?: string;
  /** File contents; undefined when the file does not exist. */
  subuid?: string;
  subgid?: string;
  newuidmap: boolean;
  newgidmap: boolean;
  /** util-linux unshare's version, e.g. "2.38.1"; undefined when unshare is missing. */
  unshare?: string;
}

/** The line every refusal ends with: what an administrator runs, and the way around it. */
export function subordinateIdsFix(user: string): string {
  return `as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user} and apt-get install uidmap; or pass --single-uid (file owners in images will differ from a root build)`;
}

export function versionAtLeast(version: string, want: readonly number[]): boolean {
  const have = version.split('.').map(Number);
  for (const [i, w] of want.entries()) {
    const h = have[i] ?? 0;
    if (h !== w) return h > w;
  }
  return true;
}

/** Why this user cannot have a fully mapped build namespace, or the mode it gets. Pure. */
export function chooseBuildMode(facts: IdFacts, options: { singleUid: boolean }): BuildMode {
  if (facts.uid === 0) return { kind: 'root' };
  if (options.singleUid) return { kind: 'single-uid' };
  const who = facts.user ?? String(facts.uid);
  const refuse = (why: string) => new PrerequisiteError(`rootless builds map a whole id range, but ${why}`, subordinateIdsFix(who));
  const pick = (file: '/etc/subuid' | '/etc/subgid', text: string | undefined): IdRange => {
    if (text === undefined) throw refuse(`${file} does not exist`);
    const ranges = rangesOf(text, { uid: facts.uid, name: facts.user });
    if (ranges.length === 0) throw refuse(`${file} has no range for ${who}`);
    const range = usableRange(ranges);
    if (!range) throw refuse(`${file} gives ${who} only ${ranges.map(formatRange).join(', ')}; a build needs ${NAMESPACE_IDS - 1} ids in one range`);
    return range;
  };
  const subuid = pick('/etc/subuid', facts.subuid);
  const subgid = pick('/etc/subgid', facts.subgid);
  if (!facts.newuidmap || !facts.newgidmap) throw refuse('newuidmap and newgidmap (package uidmap) are not installed');
  if (!facts.unshare) throw refuse('unshare (util-linux) is not installed');
  if (!versionAtLeast(facts.unshare, [2, 38])) throw refuse(`unshare ${facts.unshare} cannot map id ranges (util-linux 2.38 or newer can)`);
  return { kind: 'subordinate-ids', subuid, subgid, unshare: facts.unshare };
}

/** One line for `boxes setup --check` and build logs: the mode and why. */
export function describeBuildMode(mode: BuildMode): string {
  switch (mode.kind) {
    case 'root':
      return 'root: mkosi runs directly';
    case 'subordinate-ids':
      return `rootless, full id mapping: namespace ids 1-${NAMESPACE_IDS - 1} are uids ${formatRange({ start: mode.subuid.start, count: NAMESPACE_IDS - 1 })}, gids ${formatRange({ start: mode.subgid.start, count: NAMESPACE_IDS - 1 })}`;
    case 'single-uid':
      return 'rootless, single uid (--single-uid): files owned by other users or groups become root-owned';
  }
}
