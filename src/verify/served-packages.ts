/**
 * Before a rebuild from a live Debian mirror: does the archive still serve every package version
 * the record lists? A suite holds one version of each package, so once the archive publishes an
 * update a record from before it cannot be rebuilt from the mirror. Saying so before the build,
 * package by package and with where each recorded version stays, beats minutes of building that
 * end in a mismatch. The indexes are not verified here: they only decide whether to build, and the
 * build's apt checks what it installs against the archive's signatures as always.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARCHITECTURE_WORDS } from '../artifact/artifact.js';
import { debianSuites } from '../image/archive-state.js';
import type { BuildRecord } from '../record/schema.js';
import { ChildFailed } from '../system/errors.js';
import { isNetworkFailure } from '../system/expected.js';
import { run } from '../system/runner.js';
import type { Toolbox } from '../system/toolbox.js';
import { archiveOf, capped } from './package-drift.js';

/** `name version architecture`: one package version an index lists. */
const key = (name: string, version: string, architecture: string) => `${name} ${version} ${architecture}`;

/**
 * The Packages index of every suite and component in the apt sources, for one architecture. xz:
 * the one compression Debian publishes for every suite (the updates and security suites have no
 * gzip).
 */
export function packagesIndexUrls(sources: string, architecture: BuildRecord['image']['architecture']): string[] {
  const dpkg = ARCHITECTURE_WORDS[architecture].dpkg;
  return debianSuites(sources).flatMap(({ uri, suite, components }) => components.map((c) => `${uri}/dists/${suite}/${c}/binary-${dpkg}/Packages.xz`));
}

/** Reads a Packages index (deb822 stanzas) as its text arrives, adding every package version to `served`. */
export function indexReader(served: Set<string>): { push: (text: string) => void; end: () => void } {
  let rest = '';
  let name = '';
  let version = '';
  let architecture = '';
  const flush = () => {
    if (name && version && architecture) served.add(key(name, version, architecture));
    name = version = architecture = '';
  };
  const line = (l: string) => {
    if (l === '') flush();
    else if (l.startsWith('Package: ')) name = l.slice(9).trim();
    else if (l.startsWith('Version: ')) version = l.slice(9).trim();
    else if (l.startsWith('Architecture: ')) architecture = l.slice(14).trim();
  };
  return {
    push(text) {
      const lines = (rest + text).split('\n');
      rest = lines.pop()!;
      lines.forEach(line);
    },
    end() {
      if (rest) line(rest);
      rest = '';
      flush();
    },
  };
}

/**
 * Every package version the indexes list; undefined when one cannot be read (unreachable, not
 * there, or not xz): the check is then skipped, and the build meets the archive as it is.
 */
export async function servedPackages(urls: readonly string[], tools: Toolbox, signal?: AbortSignal): Promise<Set<string> | undefined> {
  const served = new Set<string>();
  const scratch = await mkdtemp(join(tmpdir(), 'boxes-indexes-'));
  try {
    const files = await Promise.all(
      urls.map(async (url, i) => {
        const timeout = AbortSignal.timeout(120_000);
        const response = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        if (!response.ok) return undefined;
        const file = join(scratch, `${i}.xz`);
        await writeFile(file, Buffer.from(await response.arrayBuffer()));
        return file;
      }),
    );
    if (files.some((f) => f === undefined)) return undefined;
    for (const file of files as string[]) {
      const reader = indexReader(served);
      const decoder = new TextDecoder();
      await run(['xz', '-dc'], { tools, stdinFile: file, signal, what: 'xz -dc (a Packages index)', onStdout: (chunk) => reader.push(decoder.decode(chunk, { stream: true })) });
      reader.push(decoder.decode());
      reader.end();
    }
    return served;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    // Unreachable or too slow, or not an xz file (a proxy's error page).
    if (isNetworkFailure(error) || error instanceof ChildFailed) return undefined;
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** One line per recorded package the archive no longer serves, with where its version stays. */
export function unservedPackages(record: BuildRecord, served: ReadonlySet<string>): string[] {
  const missing = record.packages.filter((p) => !served.has(key(p.name, p.version, p.architecture)));
  return capped(missing.map((p) => `${p.name} ${p.version} (${p.architecture}) is not in the archive now; the recorded version: ${archiveOf(record.image.distribution, p.name)}`));
}
