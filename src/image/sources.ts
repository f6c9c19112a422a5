/**
 * Debian apt sources for mkosi's sandbox. mkosi 25 always adds debian-debug, which some sites
 * cannot reach; a `mkosi.sources` in a sandbox tree replaces mkosi's list for the build.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface AptSourceInput {
  release: string;
  mirror?: string;
  /** YYYY-MM-DD: use snapshot.debian.org's archive of that day for every suite. */
  snapshot?: string;
}

export function aptSources({ release, mirror, snapshot }: AptSourceInput): string {
  const stamp = snapshot ? `${snapshot.replaceAll('-', '')}T000000Z` : undefined;
  const main = stamp ? `http://snapshot.debian.org/archive/debian/${stamp}` : (mirror ?? 'http://deb.debian.org/debian');
  const security = stamp ? `http://snapshot.debian.org/archive/debian-security/${stamp}` : 'http://security.debian.org/debian-security';
  const rolling = release === 'sid' || release === 'unstable';
  const stanza = (uri: string, suites: string[]) =>
    [`Types: deb`, `URIs: ${uri}`, `Suites: ${suites.join(' ')}`, `Components: main`, `Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg`].join('\n') + '\n';
  const stanzas = [stanza(main, rolling ? [release] : [release, `${release}-updates`])];
  if (!rolling) stanzas.push(stanza(security, [`${release}-security`]));
  return stanzas.join('\n');
}

/** Writes a sandbox tree holding the sources and returns its path (content-addressed, reusable). */
export async function writeSandboxTree(parent: string, input: AptSourceInput): Promise<string> {
  const text = aptSources(input);
  const dir = join(parent, createHash('sha256').update(text).digest('hex').slice(0, 16));
  const file = join(dir, 'etc/apt/sources.list.d/mkosi.sources');
  await mkdir(join(dir, 'etc/apt/sources.list.d'), { recursive: true });
  await writeFile(file, text);
  return dir;
}
