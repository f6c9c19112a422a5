/**
 * A disk image's filesystems, read without mounting: qemu-img makes a sparse raw copy (after
 * refusing an image that names a backing file, an external data file or extent: an artifact must
 * be self-contained, and the audit never reads a host file an artifact names), sfdisk lists the
 * partitions, and debugfs lists every ext2/3/4 partition with a Linux type by inode (one batch of
 * `ls -p <inode>` a directory level, so no file name is ever quoted into a command) and dumps the
 * few files the rules read. Each partition is placed where it mounts: by its GPT type (root,
 * /home, /srv, /var, /var/tmp, /usr), else by the root's /etc/fstab, else at the root.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { ChildFailed, UsageError } from '../system/errors.js';
import { run } from '../system/runner.js';
import { diskTools } from './tools.js';
import { typeOfMode, wantsContent, type FileEntry, type FsView } from './view.js';

/** GPT partition types (Discoverable Partitions Specification) and where each mounts. */
const MOUNTS: Record<string, string | undefined> = {
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': '', // root, x86-64
  'B921B045-1DF0-41C3-AF44-4C6F280D3FAE': '', // root, arm64
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': 'home',
  '3B8F8425-20E0-4F3B-907F-1A25A76F98E8': 'srv',
  '4D21B016-B534-45C2-A9FB-5C16E091FD2D': 'var',
  '7EC6F557-3BC5-4ACA-B293-16EF5DF639D1': 'var/tmp',
  '8484680C-9521-48C6-9C11-B0720656F69E': 'usr', // x86-64
  'B0E01050-EE5F-4390-949A-9101B17104E9': 'usr', // arm64
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': undefined, // Linux data: where /etc/fstab says
};
const ROOTS = ['4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', 'B921B045-1DF0-41C3-AF44-4C6F280D3FAE', '0FC63DAF-8483-4772-8E79-3D69D8477DE4'];

const infoSchema = z.object({
  'backing-filename': z.string().optional(),
  'format-specific': z
    .object({ data: z.object({ 'data-file': z.string().optional(), extents: z.array(z.object({ filename: z.string() })).optional() }).optional() })
    .optional(),
});
const tableSchema = z.object({
  partitiontable: z.object({
    sectorsize: z.number().int().positive().optional(),
    partitions: z.array(z.object({ start: z.number().int().nonnegative(), type: z.string(), uuid: z.string().optional() })).optional(),
  }),
});

/** Refuses an image whose bytes live partly elsewhere: a backing file, a data file, another extent. */
export function externalReferences(info: z.infer<typeof infoSchema>, image: string): string[] {
  const out: string[] = [];
  if (info['backing-filename']) out.push(`backing file ${info['backing-filename']}`);
  const data = info['format-specific']?.data;
  if (data?.['data-file']) out.push(`data file ${data['data-file']}`);
  for (const extent of data?.extents ?? []) if (basename(extent.filename) !== basename(image)) out.push(`extent ${extent.filename}`);
  return out;
}

interface Listed {
  inode: number;
  name: string;
  mode: number;
  uid: number;
  size: number;
}

/** Parses `debugfs -f` output of `ls -p <inode>` commands: each listed directory's entries, by inode. */
export function parseListings(out: string): Map<number, Listed[]> {
  const listings = new Map<number, Listed[]>();
  let current: Listed[] | undefined;
  for (const line of out.split('\n')) {
    const cmd = /^debugfs: ls -p <(\d+)>$/.exec(line);
    if (cmd) {
      current = [];
      listings.set(Number(cmd[1]), current);
      continue;
    }
    if (line === '' || line.startsWith('debugfs: ')) continue;
    const m = /^\/(\d+)\/(\d+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
    // A name debugfs cannot print on one line: the directory cannot be read whole.
    if (!m || !current) throw new UsageError(`debugfs printed a directory entry boxes cannot read: ${JSON.stringify(line.slice(0, 80))}`, 'the filesystem holds a file name with a line break; rebuild the image without it');
    if (m[5] === '.' || m[5] === '..') continue;
    current.push({ inode: Number(m[1]), name: m[5]!, mode: parseInt(m[2]!, 8), uid: Number(m[3]), size: Number(m[6] || 0) });
  }
  return listings;
}

async function debugfs(device: string, commands: string[], work: string, signal?: AbortSignal): Promise<string> {
  const file = join(work, 'debugfs.cmds');
  await writeFile(file, `${commands.join('\n')}\n`);
  return (await run([(await diskTools()).debugfs, '-f', file, device], { signal, what: 'debugfs' })).stdout;
}

/** The filesystem UUID of an ext2/3/4 filesystem, or a UsageError: the audit reads no other kind. */
async function filesystemUuid(device: string, what: string, work: string, signal?: AbortSignal): Promise<string> {
  const stats = await debugfs(device, ['stats'], work, signal).catch((error: unknown) => {
    if (error instanceof ChildFailed) return '';
    throw error;
  });
  const uuid = /^Filesystem UUID:\s*(\S+)/m.exec(stats)?.[1];
  if (!uuid) throw new UsageError(`${what} holds no filesystem debugfs can read`, 'boxes audit reads ext2/3/4 partitions; an artifact must not ship what the audit cannot read');
  return uuid;
}

/** One ext filesystem's tree, every directory whatever its name, under `prefix`. */
async function listFilesystem(device: string, prefix: string, work: string, signal: AbortSignal | undefined, entries: Map<string, FileEntry & { inode: number; device: string }>) {
  let level: { path: string; inode: number }[] = [{ path: prefix, inode: 2 }];
  while (level.length > 0) {
    const listings = parseListings(await debugfs(device, level.map((d) => `ls -p <${d.inode}>`), work, signal));
    const next: { path: string; inode: number }[] = [];
    for (const dir of level) {
      const listed = listings.get(dir.inode);
      if (!listed) throw new UsageError(`debugfs could not list /${dir.path} (inode ${dir.inode})`, 'the filesystem is damaged; rebuild the image');
      for (const e of listed) {
        const path = dir.path ? `${dir.path}/${e.name}` : e.name;
        const type = typeOfMode(e.mode);
        entries.set(path, { path, type, mode: e.mode & 0o7777, uid: e.uid, size: e.size, inode: e.inode, device });
        if (type === 'dir') next.push({ path, inode: e.inode });
      }
    }
    level = next;
  }
}

/** Where /etc/fstab mounts a partition, by its PARTUUID or filesystem UUID. */
function fstabMount(fstab: string, partuuid: string | undefined, fsuuid: string | undefined): string | undefined {
  for (const line of fstab.split('\n')) {
    const [spec, where] = line.trim().split(/\s+/);
    if (!spec || !where || spec.startsWith('#') || !where.startsWith('/')) continue;
    const [key, value] = spec.split('=');
    if ((key === 'PARTUUID' && value?.toLowerCase() === partuuid?.toLowerCase()) || (key === 'UUID' && value?.toLowerCase() === fsuuid?.toLowerCase()))
      return where.replace(/^\/+|\/+$/g, '');
  }
  return undefined;
}

export async function diskView(image: string, format: string, work: string, signal?: AbortSignal): Promise<FsView> {
  const tools = await diskTools();
  const info = infoSchema.safeParse(JSON.parse((await run([tools['qemu-img'], 'info', '-f', format, '--output=json', image], { signal, what: 'qemu-img info' })).stdout));
  if (!info.success) throw new UsageError(`${image}: qemu-img cannot describe it`, 'pass a qcow2 or raw disk that boxes build wrote');
  const external = externalReferences(info.data, image);
  if (external.length > 0) throw new UsageError(`${image} is not self-contained: it names a ${external.join(', ')}`, 'an artifact must hold all its bytes; rebuild it without a backing file');
  let raw = image;
  if (format !== 'raw') {
    raw = join(work, 'disk.raw');
    await run([tools['qemu-img'], 'convert', '-f', format, '-O', 'raw', image, raw], { signal, what: 'qemu-img convert' });
  }
  const table = tableSchema.safeParse(JSON.parse((await run([tools.sfdisk, '--json', raw], { signal, what: 'sfdisk --json' })).stdout));
  if (!table.success) throw new UsageError(`${image}: sfdisk printed a partition table boxes cannot read`);
  const sector = table.data.partitiontable.sectorsize ?? 512;
  const linux = (table.data.partitiontable.partitions ?? []).filter((p) => p.type.toUpperCase() in MOUNTS);
  const root = linux.find((p) => ROOTS.includes(p.type.toUpperCase()));
  if (!root) throw new UsageError(`${image} has no Linux root partition to audit`);

  const entries = new Map<string, FileEntry & { inode: number; device: string }>();
  const device = (p: { start: number }) => `${raw}?offset=${p.start * sector}`;
  const what = (p: { start: number; type: string }) => `${image}: the partition at sector ${p.start} (type ${p.type})`;
  await filesystemUuid(device(root), what(root), work, signal);
  await listFilesystem(device(root), '', work, signal, entries);
  const fstab = entries.get('etc/fstab');
  let fstabText = '';
  if (fstab?.type === 'file') {
    await debugfs(device(root), [`dump <${fstab.inode}> "${join(work, 'fstab')}"`], work, signal);
    fstabText = await readFile(join(work, 'fstab'), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
  }
  for (const p of linux) {
    if (p === root) continue;
    const fsuuid = await filesystemUuid(device(p), what(p), work, signal);
    const mount = MOUNTS[p.type.toUpperCase()] ?? fstabMount(fstabText, p.uuid, fsuuid) ?? '';
    await listFilesystem(device(p), mount, work, signal, entries);
  }

  const wanted = [...entries.values()].filter((e) => e.type === 'file' && wantsContent(e.path, e.size));
  const dumps = join(work, 'dumps');
  await mkdir(dumps, { recursive: true });
  const byDevice = new Map<string, { e: (typeof wanted)[number]; i: number }[]>();
  wanted.forEach((e, i) => byDevice.set(e.device, [...(byDevice.get(e.device) ?? []), { e, i }]));
  for (const [dev, files] of byDevice) await debugfs(dev, files.map(({ e, i }) => `dump <${e.inode}> "${join(dumps, String(i))}"`), work, signal);
  const contents = new Map<string, Buffer>();
  for (const [i, e] of wanted.entries()) {
    const data = await readFile(join(dumps, String(i))).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw new UsageError(`${image}: debugfs could not read /${e.path}`, 'the filesystem is damaged; rebuild the image');
      throw error;
    });
    contents.set(e.path, data);
  }
  const plain = new Map([...entries].map(([k, { inode: _inode, device: _device, ...e }]) => [k, e]));
  return { entries: plain, content: (path) => contents.get(path) };
}
