/**
 * Before a rebuild from a live mirror: does it still serve every package version the record lists?
 * A Debian suite holds one version of each package, and an Arch mirror the newest alone, so once
 * the archive publishes an update a record from before it cannot be rebuilt from the mirror.
 * Saying so before the build, package by package and with where each recorded version stays,
 * beats minutes of building that end in a mismatch. The indexes are not verified here: they only
 * decide whether to build, and the build's package manager checks what it installs against the
 * archive's signatures as always.
 */
import { ARCHITECTURE_WORDS } from '../artifact/artifact.js';
import { readPackagesIndexes } from '../adapters/debian-packages-index.js';
import { readPacmanDbs } from '../adapters/pacman-db.js';
import { ARCH_DEFAULT_MIRROR, debianSuites } from '../image/archive-state.js';
import { aptSources } from '../image/sources.js';
import type { BuildRecord } from '../record/schema.js';
import type { Toolbox } from '../system/toolbox.js';
import { archiveOf, capped } from './package-drift.js';

/** The repositories an Arch build may install from (multilib-devel enables `[multilib]`). */
const ARCH_REPOSITORIES = ['core', 'extra', 'multilib'];

/** `name version architecture`: one package version an index lists. */
const key = (name: string, version: string, architecture: string) => `${name} ${version} ${architecture}`;

/** Where a record's mirror lists what it serves: Debian's `Packages.xz` of every suite of its apt sources, Arch's repository databases. */
export function indexUrls(image: BuildRecord['image'], mirror: string | undefined): string[] {
  if (image.distribution === 'arch') {
    const root = (mirror ?? ARCH_DEFAULT_MIRROR).replace(/\/+$/, '');
    const arch = ARCHITECTURE_WORDS[image.architecture].name.arch;
    return ARCH_REPOSITORIES.map((repo) => `${root}/${repo}/os/${arch}/${repo}.db`);
  }
  const dpkg = ARCHITECTURE_WORDS[image.architecture].dpkg;
  return debianSuites(aptSources({ release: image.release, mirror })).flatMap(({ uri, suite, components }) =>
    components.map((c) => `${uri}/dists/${suite}/${c}/binary-${dpkg}/Packages.xz`),
  );
}

/**
 * Every package version the indexes list; undefined when one cannot be read (unreachable, not
 * there, garbled): the check is then skipped, and the build meets the archive as it is.
 */
export async function servedPackages(
  distribution: BuildRecord['image']['distribution'],
  urls: readonly string[],
  /** Debian's: the toolbox whose xz reads the indexes (opened only when needed). */
  tools: () => Promise<Toolbox>,
  signal?: AbortSignal,
): Promise<Set<string> | undefined> {
  const served = new Set<string>();
  const add = (name: string, version: string, architecture: string) => served.add(key(name, version, architecture));
  const read = distribution === 'arch' ? await readPacmanDbs(urls, add, signal) : await readPackagesIndexes(urls, add, await tools(), signal);
  return read ? served : undefined;
}

/** One line per recorded package the archive no longer serves, with where its version stays. */
export function unservedPackages(record: BuildRecord, served: ReadonlySet<string>): string[] {
  const missing = record.packages.filter((p) => !served.has(key(p.name, p.version, p.architecture)));
  return capped(missing.map((p) => `${p.name} ${p.version} (${p.architecture}) is not in the archive now; the recorded version: ${archiveOf(record.image.distribution, p.name)}`));
}
