/**
 * An OCI archive as the audit sees it: each layer on its own (what every pull ships, whatever a
 * later layer hides) and each image's merged root filesystem (layers applied in order, whiteouts
 * removing what they name). A hard link is its target's file under its own name.
 */
import { scanOciArchive, type LayerEntry, type LayerScan } from './oci-scan.js';
import type { ContentMarker } from './secret-scan.js';
import type { FileEntry, FsView } from './view.js';

interface State {
  entries: Map<string, FileEntry>;
  contents: Map<string, Buffer>;
  markers: Map<string, ReadonlySet<ContentMarker>>;
}

function removeUnder(state: State, path: string, self: boolean): void {
  for (const key of [...state.entries.keys()])
    if ((self && key === path) || key.startsWith(path === '' ? '' : `${path}/`)) {
      state.entries.delete(key);
      state.contents.delete(key);
      state.markers.delete(key);
    }
}

/** Applies one layer's entries onto a state (an empty one: the layer on its own). */
function apply(state: State, layer: LayerScan): void {
  for (const e of layer.entries) {
    if (e.whiteout === 'opaque') {
      removeUnder(state, e.path, false);
      continue;
    }
    if (e.whiteout === 'remove') {
      removeUnder(state, e.path, true);
      continue;
    }
    if (e.type !== 'dir') removeUnder(state, e.path, true);
    state.entries.set(e.path, fileEntry(e, state));
    const source = e.type === 'hardlink' ? e.linkTarget! : e.path;
    const content = e.type === 'hardlink' ? state.contents.get(source) : layer.contents.get(source);
    const markers = e.type === 'hardlink' ? state.markers.get(source) : layer.markers.get(source);
    if (content) state.contents.set(e.path, content);
    if (markers) state.markers.set(e.path, markers);
  }
}

/** A hard link is its target's file (mode and owner included) under another name. */
function fileEntry(e: LayerEntry, state: State): FileEntry {
  if (e.type !== 'hardlink') return { path: e.path, type: e.type, mode: e.mode, uid: e.uid, size: e.size };
  const target = state.entries.get(e.linkTarget!);
  return { path: e.path, type: target?.type ?? 'file', mode: target?.mode ?? e.mode, uid: target?.uid ?? e.uid, size: target?.size ?? e.size };
}

function view(state: State, layer?: string): FsView {
  return { entries: state.entries, content: (p) => state.contents.get(p), markers: (p) => state.markers.get(p), layer };
}

const empty = (): State => ({ entries: new Map(), contents: new Map(), markers: new Map() });

export interface OciViews {
  /** Each distinct layer on its own, named `layer N of M (sha256:…)` after the first image that lists it. */
  layers: FsView[];
  /** Each image's root filesystem. */
  images: FsView[];
}

export async function ociViews(archive: string): Promise<OciViews> {
  const scan = await scanOciArchive(archive);
  const layers: FsView[] = [];
  const named = new Set<string>();
  for (const image of scan.images)
    image.layers.forEach((digest, i) => {
      if (named.has(digest)) return;
      named.add(digest);
      const state = empty();
      apply(state, scan.layers.get(digest)!);
      layers.push(view(state, `layer ${i + 1} of ${image.layers.length} (${digest.slice(0, 19)}…)`));
    });
  const images = scan.images.map((image) => {
    const state = empty();
    for (const digest of image.layers) apply(state, scan.layers.get(digest)!);
    return view(state);
  });
  return { layers, images };
}
