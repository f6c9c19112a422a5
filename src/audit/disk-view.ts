/**
 * A disk image's filesystems, read without mounting. qemu-img makes a sparse raw copy (after
 * refusing an image that names a backing file, an external data file or extent: an artifact must
 * be self-contained, and the audit never reads a host file an artifact names), sfdisk lists the
 * partitions, and each partition is read by its GPT type: Linux types as ext2/3/4 (ext-view.ts),
 * the ESP and XBOOTLDR as FAT (fat-view.ts), a BIOS boot or swap partition as raw bytes through
 * the secret scanner. A partition of any other type is refused: the audit does not pass what it
 * cannot read. Each filesystem is placed where it mounts: by its GPT type, else by the root's
 * /etc/fstab, else at the root (Linux data) or /efi (ESP).
 */
import { mkdir, open, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UsageError } from '../system/errors.js';
import { imageInfo, type ImageInfo } from '../adapters/qemu-img.js';
import { partitionTable, type Partition } from '../adapters/sfdisk.js';
import { run } from '../system/runner.js';
import { ExtFilesystem, type ExtEntry } from './ext-view.js';
import { fatSerial, readFat } from './fat-view.js';
import { SecretScanner, type ContentMarker } from './secret-scan.js';
import type { Toolbox } from '../system/toolbox.js';
import type { FileEntry, FsView } from './view.js';

/** GPT partition types (Discoverable Partitions Specification): how each is read and where it mounts. */
const TYPES: Record<string, { read: 'ext' | 'fat' | 'raw'; mount?: string; root?: boolean }> = {
  '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709': { read: 'ext', mount: '', root: true }, // root, x86-64
  'B921B045-1DF0-41C3-AF44-4C6F280D3FAE': { read: 'ext', mount: '', root: true }, // root, arm64
  '933AC7E1-2EB4-4F13-B844-0E14E2AEF915': { read: 'ext', mount: 'home' },
  '3B8F8425-20E0-4F3B-907F-1A25A76F98E8': { read: 'ext', mount: 'srv' },
  '4D21B016-B534-45C2-A9FB-5C16E091FD2D': { read: 'ext', mount: 'var' },
  '7EC6F557-3BC5-4ACA-B293-16EF5DF639D1': { read: 'ext', mount: 'var/tmp' },
  '8484680C-9521-48C6-9C11-B0720656F69E': { read: 'ext', mount: 'usr' }, // x86-64
  'B0E01050-EE5F-4390-949A-9101B17104E9': { read: 'ext', mount: 'usr' }, // arm64
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': { read: 'ext', root: true }, // Linux data: where /etc/fstab says
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': { read: 'fat' }, // ESP: where /etc/fstab says, else /efi
  'BC13C2FF-59E6-4262-A352-B275FD6F7172': { read: 'fat' }, // XBOOTLDR: where /etc/fstab says, else /boot
  '21686148-6449-6E6F-744E-656564454649': { read: 'raw' }, // BIOS boot: GRUB's core image
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': { read: 'raw' }, // swap
};
const FAT_DEFAULT: Record<string, string> = { 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'efi', 'BC13C2FF-59E6-4262-A352-B275FD6F7172': 'boot' };

/** Refuses an image whose bytes live partly elsewhere: a backing file, a data file, another extent. */
export function externalReferences(info: ImageInfo, image: string): string[] {
  const out: string[] = [];
  if (info['backing-filename']) out.push(`backing file ${info['backing-filename']}`);
  const data = info['format-specific']?.data;
  if (data?.['data-file']) out.push(`data file ${data['data-file']}`);
  for (const extent of data?.extents ?? []) if (basename(extent.filename) !== basename(image)) out.push(`extent ${extent.filename}`);
  return out;
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

/** A partition without a filesystem, scanned as bytes. */
async function scanRaw(raw: string, p: Partition, sector: number): Promise<ReadonlySet<ContentMarker> | undefined> {
  const scanner = new SecretScanner();
  const file = await open(raw);
  try {
    for await (const chunk of file.createReadStream({ start: p.start * sector, end: (p.start + p.size) * sector - 1, autoClose: false })) scanner.push(chunk as Buffer);
  } finally {
    await file.close();
  }
  return scanner.secret ? scanner.found : undefined;
}

export async function diskView(image: string, format: string, work: string, tools: Toolbox, signal?: AbortSignal): Promise<FsView> {
  const info = await imageInfo(image, { tools, format, signal });
  const external = externalReferences(info, image);
  if (external.length > 0)
    throw new UsageError(`${image} is not self-contained: it names a ${external.join(', ')}`, 'an artifact must hold all its bytes; rebuild it without a backing file');
  let raw = image;
  if (format !== 'raw') {
    raw = join(work, 'disk.raw');
    await run(['qemu-img', 'convert', '-f', format, '-O', 'raw', image, raw], { tools, signal, what: 'qemu-img convert' });
  }
  const table = await partitionTable(tools, raw, image, signal);
  // A GPT whose backup header is gone (a truncated image) reads as its protective MBR.
  if (table.label !== 'gpt')
    throw new UsageError(`${image} has no GPT partition table boxes can read (sfdisk sees a ${table.label} table)`, 'the image is truncated or damaged; rebuild it');
  const sector = table.sectorSize;
  const partitions = table.partitions;
  const what = (p: Partition) => `${image}: the partition at sector ${p.start} (type ${p.type})`;
  const kind = (p: Partition) => {
    const known = TYPES[p.type.toUpperCase()];
    if (!known)
      throw new UsageError(
        `${what(p)} is of a type boxes audit does not read`,
        'an artifact holds only root, /usr, /home, /srv, /var, Linux data, ESP, XBOOTLDR, BIOS boot and swap partitions',
      );
    return known;
  };
  const root = partitions.find((p) => kind(p).root);
  if (!root) throw new UsageError(`${image} has no Linux root partition to audit`);

  const entries = new Map<string, FileEntry>();
  const contents = new Map<string, Buffer>();
  const markers = new Map<string, ReadonlySet<ContentMarker>>();
  const ext = (p: Partition, n: number) => new ExtFilesystem(tools, `${raw}?offset=${p.start * sector}`, what(p), join(work, `p${n}`), signal);
  const add = (listed: readonly FileEntry[], read: { contents: Map<string, Buffer>; markers: Map<string, ReadonlySet<ContentMarker>> }) => {
    for (const { inode: _inode, ...e } of listed as (FileEntry & { inode?: number })[]) entries.set(e.path, e);
    for (const [k, v] of read.contents) contents.set(k, v);
    for (const [k, v] of read.markers) markers.set(k, v);
  };
  await Promise.all(partitions.map((_p, n) => mkdir(join(work, `p${n}`))));

  const size = (await stat(raw)).size;
  for (const p of partitions) if ((p.start + p.size) * sector > size) throw new UsageError(`${what(p)} ends past the end of the image`, 'the image is truncated; rebuild it');
  const rootFs = ext(root, partitions.indexOf(root));
  await rootFs.uuid();
  await rootFs.check();
  const rootEntries = await rootFs.list('');
  const rootRead = await rootFs.read(rootEntries);
  add(rootEntries, rootRead);
  const fstab = rootRead.contents.get('etc/fstab')?.toString('utf8') ?? '';
  for (const [n, p] of partitions.entries()) {
    if (p === root) continue;
    const type = p.type.toUpperCase();
    const known = kind(p);
    if (known.read === 'ext') {
      const fs = ext(p, n);
      const fsuuid = await fs.uuid();
      await fs.check();
      const listed: ExtEntry[] = await fs.list(known.mount ?? fstabMount(fstab, p.uuid, fsuuid) ?? '');
      add(listed, await fs.read(listed));
    } else if (known.read === 'fat') {
      const device = `${raw}@@${p.start * sector}`;
      const mount = fstabMount(fstab, p.uuid, await fatSerial(tools, device, what(p), signal)) ?? FAT_DEFAULT[type]!;
      const fat = await readFat(tools, device, mount, what(p), join(work, `p${n}`), signal);
      add(fat.entries, fat);
    } else {
      const found = await scanRaw(raw, p, sector);
      const path = `(partition at sector ${p.start}, no filesystem)`;
      if (found) {
        entries.set(path, { path, type: 'file', mode: 0o600, uid: 0, size: p.size * sector });
        markers.set(path, found);
      }
    }
  }
  return { entries, content: (path) => contents.get(path), markers: (path) => markers.get(path) };
}
