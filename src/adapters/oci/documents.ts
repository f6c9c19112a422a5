/**
 * The documents of an OCI archive, read in a first pass: every member's name and size, the small
 * JSON documents (bounded), and the plan they make: every image of index.json (nested indexes
 * too), its config, its layers with their compression and diff_id, and proof that every member
 * belongs to an image. Anything that does not add up is a UsageError naming it. The audit, verify,
 * publish and the build record all read archives through this.
 */
import * as tar from 'tar';
import { z } from 'zod';
import { UsageError } from '../../system/errors.js';
import { canonicalPath } from './member-path.js';
import { parseJson } from '../../system/expected.js';

export interface OciImage {
  /** The manifest's digest, and its layers' digests in order. */
  manifest: string;
  layers: string[];
  /** The image config, every key kept. */
  config: Record<string, unknown>;
  diffIds: string[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const descriptor = z.object({
  mediaType: z.string(),
  digest: z.string().regex(DIGEST),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const indexSchema = z.object({ schemaVersion: z.literal(2), manifests: z.array(descriptor).min(1) });
const manifestSchema = z.object({ schemaVersion: z.literal(2), config: descriptor, layers: z.array(descriptor) });
const configSchema = z.looseObject({ rootfs: z.object({ diff_ids: z.array(z.string().regex(DIGEST)).optional() }).optional() });
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

export const blobName = (digest: string) => `blobs/${digest.replace(':', '/')}`;

interface Member {
  size: number;
  data?: Buffer;
}

/** First pass: every member's name and size, and the bytes of the small ones. */
export async function listMembers(archive: string): Promise<Map<string, Member>> {
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
          if (entry.type !== 'File' && entry.type !== 'OldFile')
            throw new UsageError(`${archive}: member ${name} is a ${entry.type}, not a file`, 'an OCI archive holds only files and directories');
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

export function unreadable(archive: string, what: string, error: unknown): Error {
  if (error instanceof UsageError) return error;
  if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT') return new UsageError(`cannot read ${archive}: ENOENT`, 'check the path');
  if (error instanceof Error) return new UsageError(`${archive}: ${what} cannot be read whole: ${error.message}`, 'the artifact is truncated or corrupt; rebuild it');
  throw error;
}

export interface Plan {
  /** Each image once, in index order, however many ref names index.json gives it. */
  images: OciImage[];
  /** The ref names (org.opencontainers.image.ref.name) of index.json's entries, in order: one image may have several. */
  refs: string[];
  /** Every layer to read: its media type's compression and the diff_id its config records. */
  layers: Map<string, { compression: 'gzip' | 'zstd' | 'none'; size: number; diffId?: string }>;
  /** Members some document accounts for. */
  used: Set<string>;
}

export function planImages(archive: string, members: Map<string, Member>): Plan {
  const used = new Set<string>(['oci-layout', 'index.json']);
  const doc = <T>(name: string, schema: z.ZodType<T>, what: string): T => {
    const member = members.get(name);
    if (!member) throw new UsageError(`${archive} is not an OCI archive: ${what} (${name}) is missing`, 'pass an archive that boxes build wrote');
    if (!member.data) throw new UsageError(`${archive}: ${what} (${name}) is too large to be a document`);
    used.add(name);
    const json = parseJson(member.data.toString('utf8'), () => new UsageError(`${archive}: ${what} (${name}) is not JSON`, 'the artifact is corrupt; rebuild it'));
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new UsageError(`${archive}: ${what} (${name}): ${parsed.error.issues.map((i) => `${i.path.join('.') || 'document'}: ${i.message}`).join('; ')}`);
    return parsed.data;
  };
  const blob = (d: z.infer<typeof descriptor>, what: string) => {
    const member = members.get(blobName(d.digest));
    if (!member) throw new UsageError(`${archive}: ${what} ${d.digest} is missing`, 'the artifact is incomplete; rebuild it');
    if (member.size !== d.size)
      throw new UsageError(`${archive}: ${what} ${d.digest} has ${member.size} bytes, its descriptor says ${d.size}`, 'the artifact is corrupt; rebuild it');
    return blobName(d.digest);
  };
  const plan: Plan = { images: [], refs: [], layers: new Map(), used };
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
          if (!compression)
            throw new UsageError(`${archive}: layer ${layer.digest} has the unknown media type ${layer.mediaType}`, 'boxes audit reads tar layers, plain, gzip or zstd');
          used.add(blob(layer, 'layer'));
          const diffId = diffIds?.[i];
          const known = plan.layers.get(layer.digest);
          if (known && known.diffId !== undefined && diffId !== undefined && known.diffId !== diffId) throw new UsageError(`${archive}: layer ${layer.digest} has two diff_ids`);
          plan.layers.set(layer.digest, { compression, size: layer.size, diffId: known?.diffId ?? diffId });
        });
        plan.images.push({ manifest: d.digest, layers: manifest.layers.map((l) => l.digest), config, diffIds: diffIds ?? [] });
      } else throw new UsageError(`${archive}: index entry ${d.digest} has the unknown media type ${d.mediaType}`);
    }
  };
  doc('oci-layout', z.object({ imageLayoutVersion: z.string() }), 'oci-layout');
  const index = doc('index.json', indexSchema, 'index.json');
  plan.refs = index.manifests.flatMap((d) => d.annotations?.['org.opencontainers.image.ref.name'] ?? []);
  walk(index, 0);
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

/** The archive's documents, checked whole (every blob present, sized as described, accounted for); layers are not read. */
export async function readOciDocuments(archive: string): Promise<Plan> {
  return planImages(archive, await listMembers(archive));
}
