/**
 * The state of a live package archive, for the install cache key. A snapshot or a local repository
 * pins the packages a build installs; a live mirror does not: when the archive publishes an update,
 * a package set cached before it holds the old version while a fresh build gets the new one. The
 * key therefore includes what the archive publishes now: Debian's signed InRelease files, Arch's
 * database headers, a local repository's files. Undefined when that cannot be read: the build then installs without the cache.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchWithin } from '../system/download.js';
import { isNetworkFailure } from '../system/expected.js';

export interface ArchiveRequest {
  url: string;
  /** HEAD: the headers say enough (Arch's databases are megabytes). */
  head?: boolean;
}

/** One suite of a deb822 apt source: its archive's root, the suite and its components. */
export interface DebianSuite {
  uri: string;
  suite: string;
  components: string[];
}

/** Every suite of the apt sources boxes writes (deb822 stanzas), in their order. */
export function debianSuites(sources: string): DebianSuite[] {
  return sources.split(/\n\s*\n/).flatMap((stanza) => {
    const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1]?.replace(/\/+$/, '');
    const words = (field: string) => new RegExp(`^${field}:\\s*(.+)$`, 'm').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
    return uri ? words('Suites').map((suite) => ({ uri, suite, components: words('Components') })) : [];
  });
}

/** Debian: the signed InRelease of every suite. */
export function debianRequests(sources: string): ArchiveRequest[] {
  return debianSuites(sources).map(({ uri, suite }) => ({ url: `${uri}/dists/${suite}/InRelease` }));
}

/** Arch: the repositories' databases on the mirror mkosi uses. */
export function archRequests(mirror: string, repositories: readonly string[]): ArchiveRequest[] {
  return repositories.map((repo) => ({ url: `${mirror.replace(/\/+$/, '')}/${repo}/os/x86_64/${repo}.db`, head: true }));
}

/** The mirror mkosi 25 uses for Arch when none is given. */
export const ARCH_DEFAULT_MIRROR = 'https://fastly.mirror.pkgbuild.com';

export async function archiveState(requests: readonly ArchiveRequest[], signal?: AbortSignal): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    // All at once (a build waits on this before anything else), hashed in request order.
    const answers = await Promise.all(
      requests.map(async (r) => {
        const response = await fetchWithin(r.url, 20_000, signal, { method: r.head ? 'HEAD' : 'GET' });
        if (!response.ok) return undefined;
        if (r.head) return Buffer.from(['last-modified', 'etag', 'content-length'].map((h) => response.headers.get(h) ?? '').join('\0'));
        return Buffer.from(await response.arrayBuffer());
      }),
    );
    for (const [i, r] of requests.entries()) {
      const answer = answers[i];
      if (answer === undefined) return undefined;
      hash.update(`${r.url}\0`);
      hash.update(answer);
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    // Unreachable or too slow: the state is unknown, and the install cache is not used.
    if (isNetworkFailure(error)) return undefined;
    throw error;
  }
  return hash.digest('hex');
}

/** A local repository's file names, sizes and modification times: a rebuilt package changes them. */
export async function localMirrorState(path: string): Promise<string> {
  const hash = createHash('sha256');
  async function walk(p: string, rel: string): Promise<void> {
    const st = await stat(p);
    if (st.isDirectory()) for (const name of (await readdir(p)).sort()) await walk(join(p, name), `${rel}/${name}`);
    else hash.update(`${rel}\0${st.size}\0${st.mtimeMs}\0`);
  }
  if (existsSync(path)) await walk(path, '.');
  return hash.digest('hex');
}
