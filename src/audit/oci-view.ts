/** An OCI archive's root filesystem: its layers applied in order, whiteouts removing what they name. */
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { UsageError } from '../system/errors.js';
import { wantsContent, type FileEntry, type FsView } from './view.js';

export interface Blobs {
  small: Map<string, Buffer>;
  layers: Map<string, Buffer>;
}

/** Every member of an OCI archive in memory: JSON documents and layers. */
export async function readArchive(archive: string): Promise<Blobs> {
  const small = new Map<string, Buffer>();
  const layers = new Map<string, Buffer>();
  await tar.t({
    file: archive,
    onReadEntry: (entry) => {
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        const data = Buffer.concat(chunks);
        const name = entry.path.replace(/^\.\//, '');
        (data.length < 1 << 20 ? small : layers).set(name, data);
      });
    },
  });
  return { small, layers };
}

const clean = (p: string) => p.replace(/^\.?\//, '').replace(/\/$/, '');

export async function ociView(archive: string): Promise<FsView> {
  const { small, layers } = await readArchive(archive);
  const json = (name: string) => {
    const data = small.get(name);
    if (!data) throw new UsageError(`${archive} is not an OCI archive: ${name} is missing`, 'pass an archive that boxes build wrote');
    return JSON.parse(data.toString('utf8')) as Record<string, unknown>;
  };
  const index = json('index.json') as { manifests?: { digest: string }[] };
  const manifestDigest = index.manifests?.[0]?.digest;
  if (!manifestDigest) throw new UsageError(`${archive}: index.json names no manifest`);
  const manifest = json(`blobs/${manifestDigest.replace(':', '/')}`) as { layers?: { digest: string; mediaType: string }[] };
  if (!Array.isArray(manifest.layers)) throw new UsageError(`${archive} is not an OCI archive: its manifest lists no layers`);
  const entries = new Map<string, FileEntry>();
  const contents = new Map<string, Buffer>();
  const remove = (path: string) => {
    for (const key of [...entries.keys()]) if (key === path || key.startsWith(`${path}/`)) (entries.delete(key), contents.delete(key));
  };
  for (const layer of manifest.layers) {
    const name = `blobs/${layer.digest.replace(':', '/')}`;
    const data = layers.get(name) ?? small.get(name);
    if (!data) throw new UsageError(`${archive}: layer ${layer.digest} is missing`);
    const parser = new tar.Parser({
      onReadEntry: (entry) => {
        const path = clean(entry.path);
        const base = path.split('/').at(-1) ?? '';
        const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
        if (base === '.wh..wh..opq') {
          for (const key of [...entries.keys()]) if (key.startsWith(`${dir}/`)) (entries.delete(key), contents.delete(key));
          return entry.resume();
        }
        if (base.startsWith('.wh.')) {
          remove(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
          return entry.resume();
        }
        if (!path) return entry.resume();
        const type = entry.type === 'File' || entry.type === 'OldFile' ? 'file' : entry.type === 'Directory' ? 'dir' : entry.type === 'SymbolicLink' ? 'symlink' : 'other';
        remove(path);
        entries.set(path, { path, type, mode: (entry.mode ?? 0) & 0o7777, uid: entry.uid ?? 0, size: entry.size ?? 0 });
        if (type !== 'file' || !wantsContent(path, entry.size ?? 0)) return entry.resume();
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => contents.set(path, Buffer.concat(chunks)));
      },
    });
    const gz = layer.mediaType.endsWith('+gzip') || (data[0] === 0x1f && data[1] === 0x8b);
    if (gz) await pipeline(Readable.from([data]), createGunzip(), parser);
    else await pipeline(Readable.from([data]), parser);
  }
  return { entries, content: (path) => contents.get(path) };
}
