/**
 * Streams every layer of an OCI archive through a tar parser the caller gives, in one pass over
 * the archive: each layer through its digest, its decompression (gzip, zstd or none), its diff_id
 * and the parser. Memory stays bounded whatever the image's size. Anything that cannot be read
 * whole (a digest that does not match, a truncated stream, a missing layer) is a UsageError
 * naming it: a caller never sees a partial answer as a whole one.
 */
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { UsageError } from '../../system/errors.js';
import { blobName, readOciDocuments, unreadable, type Plan } from './documents.js';
import { canonicalPath } from './member-path.js';
import { decompressor, Digest, TarSink } from './streams.js';

export interface LayerInfo {
  digest: string;
  compression: 'gzip' | 'zstd' | 'none';
  size: number;
  diffId?: string;
}

/**
 * A parser for one layer's tar stream. `where` names the layer in errors; a parser reports a
 * problem through `fail` (the first one wins) and goes on draining.
 */
export type LayerParserFactory = (layer: LayerInfo, where: string, fail: (e: UsageError) => void) => tar.Parser;

/** Reads the archive's documents, then every layer through `parserFor`; resolves to the plan once all of it was read and checked. */
export async function streamOciArchive(archive: string, parserFor: LayerParserFactory): Promise<Plan> {
  const plan = await readOciDocuments(archive);
  const seen = new Set<string>();
  const reading: Promise<void>[] = [];
  let problem: UsageError | undefined;
  const fail = (e: UsageError) => {
    problem ??= e;
  };
  const byName = new Map([...plan.layers].map(([digest, info]) => [blobName(digest), { digest, ...info }]));
  // A member the archive cuts short never ends: its pipeline is stopped once the archive is read.
  const unfinished = new Set<AbortController>();
  await tar
    .t({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        const info = byName.get(canonicalPath(entry.path, archive));
        if (!info) return entry.resume();
        const where = `${archive}: layer ${info.digest}`;
        seen.add(info.digest);
        const compressed = new Digest();
        const plain = new Digest();
        const stop = new AbortController();
        unfinished.add(stop);
        entry.on('end', () => unfinished.delete(stop));
        reading.push(
          pipeline(entry, compressed, decompressor(info.compression), plain, new TarSink(parserFor(info, where, fail)), { signal: stop.signal }).then(
            () => {
              if (`sha256:${compressed.hash.digest('hex')}` !== info.digest || compressed.bytes !== info.size)
                fail(new UsageError(`${where} does not match its digest`, 'the artifact is corrupt or was changed; rebuild it'));
              else if (info.diffId && `sha256:${plain.hash.digest('hex')}` !== info.diffId)
                fail(new UsageError(`${where} does not match its diff_id ${info.diffId}`, 'the artifact is corrupt or was changed; rebuild it'));
            },
            (error: unknown) => {
              fail(error instanceof UsageError ? error : (unreadable(archive, `layer ${info.digest}`, error) as UsageError));
            },
          ),
        );
      },
    })
    .catch((error: unknown) => {
      fail(unreadable(archive, 'the archive', error) as UsageError);
    });
  for (const stop of unfinished) stop.abort(new UsageError(`${archive}: a layer is cut short`, 'the artifact is truncated; rebuild it'));
  await Promise.all(reading);
  if (problem) throw problem;
  for (const digest of plan.layers.keys()) if (!seen.has(digest)) throw new UsageError(`${archive}: layer ${digest} is missing`, 'the artifact is incomplete; rebuild it');
  return plan;
}
