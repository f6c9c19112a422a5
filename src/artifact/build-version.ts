/** Build versions and default timestamps (arch-boxes / archlinux-docker conventions). */
/** `YYYYMMDD.0` of the epoch's UTC date. */
export function buildVersionFromEpoch(epoch: number): string {
  const d = new Date(epoch * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}.0`;
}

/** archlinux-docker's convention: builds on the same UTC day share a timestamp. */
export function startOfUtcDay(now: Date): number {
  return Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) / 1000);
}

/** Parses YYYY-MM-DD strictly; undefined for impossible dates such as 2025-02-30. */
export function parseSnapshotDate(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
  return date;
}
