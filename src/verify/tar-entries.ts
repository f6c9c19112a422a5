/** Every member of a tar stream with what makes it differ: type, mode, owner, mtime and content hash. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';

export interface TarEntry {
  type: string;
  mode: number;
  owner: string;
  mtime: number;
  size: number;
  sha256: string;
  linkpath: string;
}

/** A tar parser that records each member it reads into `entries`. */
export function entryParser(entries: Map<string, TarEntry>): tar.Parser {
  return new tar.Parser({
    onReadEntry: (entry) => {
      const hash = createHash('sha256');
      entry.on('data', (c: Buffer) => hash.update(c));
      entry.on('end', () =>
        entries.set(entry.path.replace(/^\.\//, ''), {
          type: entry.type,
          mode: entry.mode ?? 0,
          owner: `${entry.uid ?? 0}:${entry.gid ?? 0}`,
          mtime: entry.mtime ? Math.floor(entry.mtime.getTime() / 1000) : 0,
          size: entry.size ?? 0,
          sha256: hash.digest('hex'),
          linkpath: entry.linkpath ?? '',
        }),
      );
    },
  });
}

/** Reads a gzipped tar (a Vagrant box). */
export async function tarEntries(file: string): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  await pipeline(createReadStream(file), createGunzip(), entryParser(entries));
  return entries;
}

/** `path: what differs` for each member that is not the same in both. */
export function entryDifferences(a: Map<string, TarEntry>, b: Map<string, TarEntry>): string[] {
  const out: string[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(path);
    const y = b.get(path);
    if (!x || !y) {
      out.push(`${path}: only in the ${x ? 'first' : 'second'} build`);
      continue;
    }
    const what = (['sha256', 'size', 'mode', 'owner', 'mtime', 'type', 'linkpath'] as const).filter((k) => x[k] !== y[k]).map((k) => (k === 'sha256' ? 'content' : k));
    if (what.length) out.push(`${path}: ${what.join(', ')} differ${what.length === 1 ? 's' : ''}`);
  }
  return out;
}
