/**
 * Reads every byte an OCI archive ships, streaming: every image of index.json (nested indexes
 * too), every layer of each (gzip, zstd or plain tar), each layer's own entries, not only what the
 * last layer leaves visible. Two passes over the archive: the first keeps the small JSON documents
 * (oci-documents.ts), the second streams each layer through its digest, decompression, diff_id
 * and tar parser (oci-streams.ts), keeping only metadata, the small files the rules read, and what
 * a content scan found. Anything that cannot be read whole (a digest that does not match, a
 * truncated stream, a member no image accounts for) is a UsageError naming it: never a partial
 * answer.
 */
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import { UsageError } from '../system/errors.js';
import { canonicalPath } from './member-path.js';
import { blobName, listMembers, planImages, unreadable, type ImageScan } from './oci-documents.js';
import { decompressor, Digest, TarSink } from './oci-streams.js';
import { SecretScanner, type ContentMarker } from './secret-scan.js';
import { wantsContent } from './view.js';

export type { ImageScan } from './oci-documents.js';

export interface LayerEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  mode: number;
  uid: number;
  size: number;
  /** A hard link's target, canonical. */
  linkTarget?: string;
  /** `.wh.NAME` removes NAME from lower layers; `.wh..wh..opq` empties the directory. */
  whiteout?: 'remove' | 'opaque';
}

export interface LayerScan {
  digest: string;
  entries: LayerEntry[];
  contents: Map<string, Buffer>;
  markers: Map<string, Set<ContentMarker>>;
}

export interface OciScan {
  images: ImageScan[];
  layers: Map<string, LayerScan>;
}

function entryType(type: string): LayerEntry['type'] {
  if (type === 'File' || type === 'OldFile' || type === 'ContiguousFile') return 'file';
  if (type === 'Directory') return 'dir';
  if (type === 'SymbolicLink') return 'symlink';
  if (type === 'Link') return 'hardlink';
  return 'other';
}

/** One layer's own entries, streamed; `where` names it in errors. */
function layerParser(layer: LayerScan, where: string, fail: (e: UsageError) => void): tar.Parser {
  return new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      try {
        const path = canonicalPath(entry.path, where);
        if (path === '') return entry.resume();
        const slash = path.lastIndexOf('/');
        const dir = slash < 0 ? '' : path.slice(0, slash);
        const base = path.slice(slash + 1);
        const meta = { mode: (entry.mode ?? 0) & 0o7777, uid: entry.uid ?? 0, size: entry.size ?? 0 };
        if (base === '.wh..wh..opq') {
          layer.entries.push({ path: dir, type: 'other', ...meta, whiteout: 'opaque' });
          return entry.resume();
        }
        if (base.startsWith('.wh.')) {
          layer.entries.push({ path: dir ? `${dir}/${base.slice(4)}` : base.slice(4), type: 'other', ...meta, whiteout: 'remove' });
          return entry.resume();
        }
        const type = entryType(entry.type);
        const linkTarget = type === 'hardlink' ? canonicalPath(entry.linkpath ?? '', where) : undefined;
        layer.entries.push({ path, type, ...meta, ...(linkTarget !== undefined ? { linkTarget } : {}) });
        if (type !== 'file') return entry.resume();
        const scanner = new SecretScanner();
        const keep = wantsContent(path, meta.size);
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => {
          scanner.push(c);
          if (keep) chunks.push(c);
        });
        entry.on('end', () => {
          if (keep) layer.contents.set(path, Buffer.concat(chunks));
          if (scanner.secret) layer.markers.set(path, scanner.found);
        });
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        fail(error);
        entry.resume();
      }
    },
  });
}

export async function scanOciArchive(archive: string): Promise<OciScan> {
  const plan = planImages(archive, await listMembers(archive));
  const layers = new Map<string, LayerScan>();
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
        const name = canonicalPath(entry.path, archive);
        const info = byName.get(name);
        if (!info) return entry.resume();
        const where = `${archive}: layer ${info.digest}`;
        const layer: LayerScan = { digest: info.digest, entries: [], contents: new Map(), markers: new Map() };
        layers.set(info.digest, layer);
        const compressed = new Digest();
        const plain = new Digest();
        const stop = new AbortController();
        unfinished.add(stop);
        entry.on('end', () => unfinished.delete(stop));
        reading.push(
          pipeline(entry, compressed, decompressor(info.compression), plain, new TarSink(layerParser(layer, where, fail)), { signal: stop.signal }).then(
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
  for (const digest of plan.layers.keys()) if (!layers.has(digest)) throw new UsageError(`${archive}: layer ${digest} is missing`, 'the artifact is incomplete; rebuild it');
  return { images: plan.images, layers };
}
