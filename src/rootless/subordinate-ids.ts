/**
 * The subordinate id ranges of /etc/subuid and /etc/subgid (`NAME_OR_UID:START:COUNT` per line),
 * as newuidmap and newgidmap read them: a line names its user by login name or by numeric uid, and
 * one user may have several lines.
 */

export interface IdRange {
  start: number;
  count: number;
}

export interface Owner {
  uid: number;
  /** Login name, when the passwd database has one for the uid. */
  name?: string;
}

/** Ids a build namespace needs: 0 (the invoking user) plus 1..65535, where Debian and Arch put every system and nobody id. */
export const NAMESPACE_IDS = 65536;

/** Every range the file gives this owner, in file order. Malformed lines are skipped, as newuidmap does. */
export function rangesOf(text: string, owner: Owner): IdRange[] {
  const ranges: IdRange[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([^:#\s][^:]*):(\d+):(\d+)\s*$/.exec(line);
    if (!m) continue;
    const [, who, start, count] = m;
    if (who !== String(owner.uid) && who !== owner.name) continue;
    ranges.push({ start: Number(start), count: Number(count) });
  }
  return ranges;
}

/** The first range large enough for a build namespace (what the mapping uses of it: NAMESPACE_IDS - 1 ids). */
export function usableRange(ranges: readonly IdRange[]): IdRange | undefined {
  return ranges.find((r) => r.count >= NAMESPACE_IDS - 1);
}

export const formatRange = (r: IdRange) => `${r.start}-${r.start + r.count - 1}`;
