/**
 * Why a rebuild from a record can differ while the tree and mkosi are the record's: the archive
 * gave other packages than the record lists (a point release, a security update, a package
 * dropped), or the tools tree did. One line per package, naming where the recorded version can
 * still be downloaded.
 */
import type { BuildRecord, PackageEntry } from '../record/schema.js';

/** Lines beyond this are counted, not listed: a release upgrade changes hundreds. */
const MOST = 20;

/** Where every published version of a package stays downloadable. */
export function archiveOf(distribution: BuildRecord['image']['distribution'], name: string): string {
  return distribution === 'arch' ? `https://archive.archlinux.org/packages/${name[0]}/${name}/` : `https://snapshot.debian.org/binary/${name}/`;
}

const byName = (packages: readonly PackageEntry[]) => new Map(packages.map((p) => [`${p.name}:${p.architecture}`, p]));

/** `name version` lines (the tools tree's) as a map. */
const byWord = (lines: readonly string[]) => new Map(lines.map((l) => [l.split(' ')[0]!, l.slice(l.indexOf(' ') + 1)]));

export function packageDrift(recorded: BuildRecord, rebuilt: BuildRecord): string[] {
  const lines: string[] = [];
  const where = (name: string) => archiveOf(recorded.image.distribution, name);
  const then = byName(recorded.packages);
  const now = byName(rebuilt.packages);
  for (const [key, p] of then) {
    const again = now.get(key);
    if (!again) lines.push(`${p.name} ${p.version} (recorded) was not installed this time; the recorded version: ${where(p.name)}`);
    else if (again.version !== p.version) lines.push(`${p.name} ${p.version} (recorded) is ${again.version} now; the recorded version: ${where(p.name)}`);
  }
  for (const [key, p] of now) if (!then.has(key)) lines.push(`${p.name} ${p.version} was installed this time; the record has no ${p.name}`);
  const toolsThen = byWord(recorded.toolsTree.packages);
  const toolsNow = byWord(rebuilt.toolsTree.packages);
  for (const [name, version] of toolsThen) {
    const again = toolsNow.get(name);
    if (again !== version) lines.push(`tools tree: ${name} ${version} (recorded) is ${again ?? 'not installed'} now`);
  }
  for (const [name, version] of toolsNow) if (!toolsThen.has(name)) lines.push(`tools tree: ${name} ${version} is new; the record has no ${name}`);
  return capped(lines);
}

/** The first lines of a long list, and how many more there are. */
export function capped(lines: readonly string[]): string[] {
  return lines.length > MOST ? [...lines.slice(0, MOST), `... and ${lines.length - MOST} more`] : [...lines];
}
