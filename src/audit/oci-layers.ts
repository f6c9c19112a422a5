/**
 * Reads every byte an OCI archive ships, streaming: every image of index.json (nested indexes
 * too), every layer of each (gzip, zstd or plain tar), each layer's own entries, not only what the
 * last layer leaves visible. Two passes over the archive: the first keeps the small JSON documents,
 * the second streams each layer through its digest, decompression, diff_id and tar parser, keeping
 * only metadata, the small files the rules read, and what a content scan found. Anything that
 * cannot be read whole (a digest that does not match, a truncated stream, a member no image
 * accounts for) is a UsageError naming it: never a partial answer.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import * as tar from 'tar';
import { z } from 'zod';
import { UsageError } from '../system/errors.js';
import { canonicalPath } from './member-path.js';
import { SecretScanner, type ContentMarker } from './secret-scan.js';
import { wantsContent } from './view.js';

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

export interface ImageScan {
  /** The manifest's digest, and its layers' digests in order. */
  manifest: string;
  layers: string[];
}

export interface OciScan {
  images: ImageScan[];
  layers: Map<string, LayerScan>;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const descriptor = z.object({ mediaType: z.string(), digest: z.string().regex(DIGEST), size: z.number().int().nonnegative() });
const indexSchema = z.object({ schemaVersion: z.literal(2), manifests: z.array(descriptor).min(1) });
const manifestSchema = z.object({ schemaVersion: z.literal(2), config: descriptor, layers: z.array(descriptor) });
const configSchema = z.object({ rootfs: z.object({ diff_ids: z.array(z.string().regex(DIGEST)).optional() }).optional() });
const dockerManifestSchema = z.array(z.object({ Config: z.string(), Layers: z.array(z.string()) }));

const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];
const LAYER_TYPES: Record<string, 'gzip' | 'zstd' | 'none'> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
};
/** Documents larger than this are not JSON an image needs; bounded memory for the first pass. */
const MAX_DOCUMENT = 4 << 20;
const MAX_DOCUMENTS_TOTAL = 64 << 20;
const MAX_DEPTH = 8;

const blobName = (digest: string) => `blobs/${digest.replace(':', '/')}`;

interface Member {
  size: number;
  data?: Buffer;
}

/** First pass: every member's name and size, and the bytes of the small ones. */
async function listMembers(archive: string): Promise<Map<string, Member>> {
  const members = new Map<string, Member>();
  let kept = 0;
  let problem: UsageError | undefined;
  const fail = (e: UsageError) => {
    problem ??= e;
  };
  await tar
    .t({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        try {
          const name = canonicalPath(entry.path, archive);
          if (entry.type === 'Directory') return entry.resume();
          if (entry.type !== 'File' && entry.type !== 'OldFile') throw new UsageError(`${archive}: member ${name} is a ${entry.type}, not a file`, 'an OCI archive holds only files and directories');
          if (members.has(name)) throw new UsageError(`${archive}: member ${name} appears twice`, 'an OCI archive names each file once');
          const member: Member = { size: entry.size ?? 0 };
          members.set(name, member);
          if (member.size > MAX_DOCUMENT || kept + member.size > MAX_DOCUMENTS_TOTAL) return entry.resume();
          kept += member.size;
          const chunks: Buffer[] = [];
          entry.on('data', (c: Buffer) => chunks.push(c));
          entry.on('end', () => (member.data = Buffer.concat(chunks)));
        } catch (error) {
          if (!(error instanceof UsageError)) throw error;
          fail(error);
          entry.resume();
        }
      },
    })
    .catch((error: unknown) => {
      throw unreadable(archive, 'the archive', error);
    });
  if (problem) throw problem;
  return members;
}

function unreadable(archive: string, what: string, error: unknown): Error {
  if (error instanceof UsageError) return error;
  if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT') return new UsageError(`cannot read ${archive}: ENOENT`, 'check the path');
  if (error instanceof Error) return new UsageError(`${archive}: ${what} cannot be read whole: ${error.message}`, 'the artifact is truncated or corrupt; rebuild it');
  throw error;
}

interface Plan {
  images: ImageScan[];
  /** Every layer to read: its media type's compression and the diff_id its config records. */
  layers: Map<string, { compression: 'gzip' | 'zstd' | 'none'; size: number; diffId?: string }>;
  /** Members some document accounts for. */
  used: Set<string>;
}

function planImages(archive: string, members: Map<string, Member>): Plan {
  const used = new Set<string>(['oci-layout', 'index.json']);
  const doc = <T>(name: string, schema: z.ZodType<T>, what: string): T => {
    const member = members.get(name);
    if (!member) throw new UsageError(`${archive} is not an OCI archive: ${what} (${name}) is missing`, 'pass an archive that boxes build wrote');
    if (!member.data) throw new UsageError(`${archive}: ${what} (${name}) is too large to be a document`);
    used.add(name);
    let json: unknown;
    try {
      json = JSON.parse(member.data.toString('utf8'));
    } catch {
      throw new UsageError(`${archive}: ${what} (${name}) is not JSON`, 'the artifact is corrupt; rebuild it');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new UsageError(`${archive}: ${what} (${name}): ${parsed.error.issues.map((i) => `${i.path.join('.') || 'document'}: ${i.message}`).join('; ')}`);
    return parsed.data;
  };
  const blob = (d: z.infer<typeof descriptor>, what: string) => {
    const member = members.get(blobName(d.digest));
    if (!member) throw new UsageError(`${archive}: ${what} ${d.digest} is missing`, 'the artifact is incomplete; rebuild it');
    if (member.size !== d.size) throw new UsageError(`${archive}: ${what} ${d.digest} has ${member.size} bytes, its descriptor says ${d.size}`, 'the artifact is corrupt; rebuild it');
    return blobName(d.digest);
  };
  const plan: Plan = { images: [], layers: new Map(), used };
  const seen = new Set<string>();
  const walk = (index: z.infer<typeof indexSchema>, depth: number) => {
    if (depth > MAX_DEPTH) throw new UsageError(`${archive}: image indexes nest deeper than ${MAX_DEPTH}`);
    for (const d of index.manifests) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      if (INDEX_TYPES.includes(d.mediaType)) walk(doc(blob(d, 'index'), indexSchema, `index ${d.digest}`), depth + 1);
      else if (MANIFEST_TYPES.includes(d.mediaType)) {
        const manifest = doc(blob(d, 'manifest'), manifestSchema, `manifest ${d.digest}`);
        const config = doc(blob(manifest.config, 'config'), configSchema, `config ${manifest.config.digest}`);
        const diffIds = config.rootfs?.diff_ids;
        if (diffIds && diffIds.length !== manifest.layers.length)
          throw new UsageError(`${archive}: manifest ${d.digest} lists ${manifest.layers.length} layers, its config ${diffIds.length} diff_ids`);
        manifest.layers.forEach((layer, i) => {
          const compression = LAYER_TYPES[layer.mediaType];
          if (!compression) throw new UsageError(`${archive}: layer ${layer.digest} has the unknown media type ${layer.mediaType}`, 'boxes audit reads tar layers, plain, gzip or zstd');
          used.add(blob(layer, 'layer'));
          const diffId = diffIds?.[i];
          const known = plan.layers.get(layer.digest);
          if (known && known.diffId !== undefined && diffId !== undefined && known.diffId !== diffId)
            throw new UsageError(`${archive}: layer ${layer.digest} has two diff_ids`);
          plan.layers.set(layer.digest, { compression, size: layer.size, diffId: known?.diffId ?? diffId });
        });
        plan.images.push({ manifest: d.digest, layers: manifest.layers.map((l) => l.digest) });
      } else throw new UsageError(`${archive}: index entry ${d.digest} has the unknown media type ${d.mediaType}`);
    }
  };
  doc('oci-layout', z.object({ imageLayoutVersion: z.string() }), 'oci-layout');
  walk(doc('index.json', indexSchema, 'index.json'), 0);
  // Docker's manifest.json (docker load) may name only blobs the OCI index accounts for.
  if (members.has('manifest.json')) {
    for (const image of doc('manifest.json', dockerManifestSchema, "Docker's manifest.json"))
      for (const path of [image.Config, ...image.Layers]) {
        const name = canonicalPath(path, `${archive}: manifest.json`);
        if (!used.has(name)) throw new UsageError(`${archive}: Docker's manifest.json names ${path}, which no OCI manifest lists`);
      }
  }
  for (const name of members.keys())
    if (!used.has(name)) throw new UsageError(`${archive}: member ${name} belongs to no image`, 'an artifact ships nothing its index does not account for; rebuild it');
  return plan;
}

/** Counts and hashes what flows through. */
class Digest extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

class Zstd extends Transform {
  private readonly decoder = new Decompress((data) => this.push(Buffer.from(data)));
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }
  override _flush(done: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      done();
    } catch (error) {
      done(error as Error);
    }
  }
}

/**
 * Feeds a tar parser as the pipeline's last stage. node-tar's parser stops draining once it has
 * failed, which a pipeline would wait on forever; this stage fails with it instead.
 */
class TarSink extends Writable {
  constructor(private readonly parser: tar.Parser) {
    super();
    const stop = (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error)));
    parser.on('error', stop);
    parser.on('warn', (_code: string, message: unknown) => stop(message instanceof Error ? message : new Error(String(message))));
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    try {
      this.parser.write(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }
  override _final(done: (error?: Error | null) => void): void {
    this.parser.once('end', () => done());
    this.parser.end();
  }
}

const decompressor = (compression: 'gzip' | 'zstd' | 'none') => (compression === 'gzip' ? createGunzip() : compression === 'zstd' ? new Zstd() : new Transform({ transform: (c, _e, done) => done(null, c) }));

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
