/**
 * pacman's repository databases (`core.db`: a tar of one `desc` file per package, gzip or zstd
 * compressed), read for the package versions they list.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { downloadAll } from '../system/download.js';
import { isNetworkFailure } from '../system/expected.js';
import { decompressor, TarSink } from './oci/streams.js';
import type { OnPackage } from './debian-packages-index.js';

/** A `desc` file's `%FIELD%` sections: the first line of each. */
export function descFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const section of text.split(/\n\s*\n/)) {
    const [head, value] = section.trim().split('\n');
    const name = /^%([A-Z0-9]+)%$/.exec(head ?? '')?.[1];
    if (name && value !== undefined) fields.set(name, value.trim());
  }
  return fields;
}

function compressionOf(bytes: Buffer): 'gzip' | 'zstd' | 'none' {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

/** Every package version one database lists. */
export async function readPacmanDb(bytes: Buffer, onPackage: OnPackage): Promise<void> {
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      if (!entry.path.endsWith('/desc')) return entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        const f = descFields(Buffer.concat(chunks).toString('utf8'));
        const [name, version, architecture] = [f.get('NAME'), f.get('VERSION'), f.get('ARCH')];
        if (name && version && architecture) onPackage(name, version, architecture);
      });
    },
  });
  await pipeline(Readable.from([bytes]), decompressor(compressionOf(bytes)), new TarSink(parser));
}

/** Every package version the databases at `urls` list. False when one cannot be read (unreachable, not there, not a database). */
export async function readPacmanDbs(urls: readonly string[], onPackage: OnPackage, signal?: AbortSignal): Promise<boolean> {
  try {
    const dbs = await downloadAll(urls, 120_000, signal);
    if (!dbs) return false;
    for (const db of dbs)
      await readPacmanDb(db, onPackage).catch((error: unknown) => {
        throw new UnreadableDatabase(error);
      });
    return true;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (isNetworkFailure(error) || error instanceof UnreadableDatabase) return false;
    throw error;
  }
}

/** Bytes that decompress or untar to no database (corrupt, truncated, a proxy's error page): only these bytes were read. */
class UnreadableDatabase extends Error {
  constructor(readonly reason: unknown) {
    super('not a pacman database');
  }
}
