/**
 * Where two builds of one artifact differ, in words: the OCI config keys and layer files, the box
 * members, the disk partition and the root filesystem entries. diffoscope, where installed, goes
 * deeper; this needs only the tools boxes already uses.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { detectKind } from '../audit/audit-artifact.js';
import { diskView } from '../audit/disk-view.js';
import type { Toolbox } from '../system/toolbox.js';
import type { FsView } from '../audit/view.js';
import { streamOciArchive } from '../adapters/oci/layers.js';
import { run } from '../system/runner.js';
import { unpackBoxDisk } from '../vagrant/box-file.js';
import { entryDifferences, entryParser, tarEntries, type TarEntry } from './tar-entries.js';
import { partitionTable } from '../adapters/sfdisk.js';

const LIMIT = 20;

function jsonDifferences(a: unknown, b: unknown, path = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => jsonDifferences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path ? `${path}.${k}` : k));
  }
  return [`${path || '(document)'}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`];
}

interface OciContents {
  config: Record<string, unknown> | undefined;
  layers: { digest: string; entries: Map<string, TarEntry> }[];
}

/** The first image's config and each of its layers' members, read by the one OCI reader. */
async function ociContents(archive: string): Promise<OciContents> {
  const byDigest = new Map<string, Map<string, TarEntry>>();
  const plan = await streamOciArchive(archive, (layer) => {
    const entries = new Map<string, TarEntry>();
    byDigest.set(layer.digest, entries);
    return entryParser(entries);
  });
  const image = plan.images[0];
  return { config: image?.config, layers: (image?.layers ?? []).map((digest) => ({ digest, entries: byDigest.get(digest)! })) };
}

async function ociDifferences(a: string, b: string): Promise<string[]> {
  const [x, y] = await Promise.all([ociContents(a), ociContents(b)]);
  const out: string[] = [];
  for (let i = 0; i < Math.max(x.layers.length, y.layers.length); i++) {
    const [la, lb] = [x.layers[i], y.layers[i]];
    if (!la || !lb) out.push(`layer ${i + 1}: only in the ${la ? 'first' : 'second'} build`);
    else if (la.digest !== lb.digest) {
      const files = entryDifferences(la.entries, lb.entries);
      out.push(...(files.length ? files.map((f) => `layer ${i + 1}: /${f}`) : [`layer ${i + 1}: same files, different bytes (tar or compression encoding)`]));
    }
  }
  // Layer changes show again as diff_ids in the config; the files come first.
  return [...out, ...jsonDifferences(x.config, y.config).map((d) => `image config ${d}`)];
}

function viewDifferences(x: FsView, y: FsView): string[] {
  const out: string[] = [];
  for (const path of [...new Set([...x.entries.keys(), ...y.entries.keys()])].sort()) {
    const [p, q] = [x.entries.get(path), y.entries.get(path)];
    if (!p || !q) out.push(`/${path}: only in the ${p ? 'first' : 'second'} build`);
    else {
      const what = (['type', 'mode', 'uid', 'size'] as const).filter((k) => p[k] !== q[k]);
      const [cp, cq] = [x.content(path), y.content(path)];
      if (cp && cq && !cp.equals(cq)) what.push('content' as never);
      if (what.length) out.push(`/${path}: ${what.join(', ')} differ${what.length === 1 ? 's' : ''}`);
    }
  }
  return out;
}

async function diskDifferences(a: string, b: string, format: string, work: string, tools: Toolbox, signal?: AbortSignal): Promise<string[]> {
  const compare = await run(['qemu-img', 'compare', '-f', format, '-F', format, a, b], { tools, signal, what: 'qemu-img compare' }).then(
    () => undefined,
    (e: Error & { logTail?: string[] }) => e.logTail?.join(' ') ?? e.message,
  );
  const out: string[] = [];
  const offset = /offset (\d+)/.exec(compare ?? '')?.[1];
  const rawA = join(work, 'a.raw');
  await run(['qemu-img', 'convert', '-f', format, '-O', 'raw', a, rawA], { tools, signal, what: 'qemu-img convert' });
  if (offset) {
    const table = await partitionTable(tools, rawA, a, signal);
    const sector = table.sectorSize;
    const at = Number(offset);
    const part = table.partitions.find((p) => at >= p.start * sector && at < (p.start + p.size) * sector);
    out.push(
      `disk: first difference at byte ${at}${part ? `, in partition ${part.node.replace(/^.*?(\d+)$/, '$1')} (type ${part.type})` : ', outside every partition (partition table)'}`,
    );
  }
  const [da, db] = [join(work, 'view-a'), join(work, 'view-b')];
  await Promise.all([mkdir(da), mkdir(db)]);
  const files = viewDifferences(await diskView(rawA, 'raw', da, tools, signal), await diskView(b, format, db, tools, signal));
  out.push(...files.map((f) => `root filesystem ${f}`));
  if (files.length === 0) out.push('root filesystem: same files, modes, owners and sizes (the difference is in file contents or filesystem metadata; diffoscope shows it)');
  return out;
}

/** Lines saying where two builds of one artifact differ; at most LIMIT and a count of the rest. */
export async function explainDifference(a: string, b: string, work: string, tools: Toolbox, signal?: AbortSignal): Promise<string[]> {
  const { kind, format } = await detectKind(a);
  let lines: string[];
  if (kind === 'container') lines = await ociDifferences(a, b);
  else if (kind === 'disk') lines = await diskDifferences(a, b, format!, work, tools, signal);
  else {
    lines = entryDifferences(await tarEntries(a), await tarEntries(b)).map((m) => `box member ${m}`);
    if (lines.some((l) => /box\.img|\.vmdk/.test(l))) {
      const [ua, ub] = [join(work, 'box-a'), join(work, 'box-b')];
      await Promise.all([mkdir(ua), mkdir(ub)]);
      const [x, y] = [await unpackBoxDisk(a, ua), await unpackBoxDisk(b, ub)];
      lines.push(...(await diskDifferences(x.path, y.path, x.format, work, tools, signal)));
    }
  }
  return lines.length > LIMIT ? [...lines.slice(0, LIMIT), `... and ${lines.length - LIMIT} more`] : lines;
}
