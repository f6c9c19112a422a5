/**
 * A disk image's root filesystem, read without mounting: qemu-img makes a sparse raw copy, sfdisk
 * finds the root partition, and debugfs lists it (one batch of `ls -p` a directory level) and
 * dumps the few files the rules read.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../system/errors.js';
import { run } from '../system/runner.js';
import { diskTools } from './tools.js';
import { typeOfMode, wantsContent, type FileEntry, type FsView } from './view.js';

const ROOT_TYPES = ['4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', '0FC63DAF-8483-4772-8E79-3D69D8477DE4'];

/** Parses `debugfs -f` output of `ls -p` commands: each command's listing, by directory. */
export function parseListings(out: string): Map<string, { name: string; mode: number; uid: number; size: number }[]> {
  const listings = new Map<string, { name: string; mode: number; uid: number; size: number }[]>();
  let current: { name: string; mode: number; uid: number; size: number }[] | undefined;
  for (const line of out.split('\n')) {
    const cmd = /^debugfs: ls -p "(.*)"$/.exec(line);
    if (cmd) {
      current = [];
      listings.set(cmd[1]!, current);
      continue;
    }
    const m = /^\/(\d+)\/(\d+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
    if (!m || !current || m[5] === '.' || m[5] === '..') continue;
    current.push({ name: m[5]!, mode: parseInt(m[2]!, 8), uid: Number(m[3]), size: Number(m[6] || 0) });
  }
  return listings;
}

const quotable = (path: string) => !/["\n\\]/.test(path);

async function debugfs(device: string, commands: string[], work: string, signal?: AbortSignal): Promise<string> {
  const file = join(work, 'debugfs.cmds');
  await writeFile(file, `${commands.join('\n')}\n`);
  return (await run([(await diskTools()).debugfs, '-f', file, device], { signal, what: 'debugfs' })).stdout;
}

export async function diskView(image: string, format: string, work: string, signal?: AbortSignal): Promise<FsView> {
  const tools = await diskTools();
  let raw = image;
  if (format !== 'raw') {
    raw = join(work, 'disk.raw');
    await run([tools['qemu-img'], 'convert', '-f', format, '-O', 'raw', image, raw], { signal, what: 'qemu-img convert' });
  }
  const table = JSON.parse((await run([tools.sfdisk, '--json', raw], { signal, what: 'sfdisk --json' })).stdout) as {
    partitiontable: { sectorsize?: number; partitions?: { type: string; start: number }[] };
  };
  const root = table.partitiontable.partitions?.find((p) => ROOT_TYPES.includes(p.type.toUpperCase()));
  if (!root) throw new UsageError(`${image} has no Linux root partition to audit`);
  const device = `${raw}?offset=${root.start * (table.partitiontable.sectorsize ?? 512)}`;

  const entries = new Map<string, FileEntry>();
  let level = [''];
  while (level.length > 0) {
    const dirs = level.filter((d) => quotable(`/${d}`));
    const listings = parseListings(await debugfs(device, dirs.map((d) => `ls -p "/${d}"`), work, signal));
    level = [];
    for (const dir of dirs) {
      for (const e of listings.get(`/${dir}`) ?? []) {
        const path = dir ? `${dir}/${e.name}` : e.name;
        const type = typeOfMode(e.mode);
        entries.set(path, { path, type, mode: e.mode & 0o7777, uid: e.uid, size: e.size });
        if (type === 'dir') level.push(path);
      }
    }
  }

  const wanted = [...entries.values()].filter((e) => e.type === 'file' && wantsContent(e.path, e.size) && quotable(e.path));
  const dumps = join(work, 'dumps');
  await mkdir(dumps, { recursive: true });
  if (wanted.length > 0) await debugfs(device, wanted.map((e, i) => `dump "/${e.path}" "${join(dumps, String(i))}"`), work, signal);
  const contents = new Map<string, Buffer>();
  for (const [i, e] of wanted.entries()) {
    const data = await readFile(join(dumps, String(i))).catch(() => undefined);
    if (data) contents.set(e.path, data);
  }
  return { entries, content: (path) => contents.get(path) };
}
