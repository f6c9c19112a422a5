/**
 * What the audit keeps of every layer an OCI archive ships (read by src/oci/, streaming): each
 * layer's own entries, not only what the last layer leaves visible, the small files the rules
 * read, and what a content scan of every file found.
 */
import * as tar from 'tar';
import type { OciImage } from '../adapters/oci/documents.js';
import { streamOciArchive } from '../adapters/oci/layers.js';
import { canonicalPath } from '../adapters/oci/member-path.js';
import { UsageError } from '../system/errors.js';
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

export interface OciScan {
  images: OciImage[];
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
  const layers = new Map<string, LayerScan>();
  const plan = await streamOciArchive(archive, (info, where, fail) => {
    const layer: LayerScan = { digest: info.digest, entries: [], contents: new Map(), markers: new Map() };
    layers.set(info.digest, layer);
    return layerParser(layer, where, fail);
  });
  return { images: plan.images, layers };
}
