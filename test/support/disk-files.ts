// Reads files out of a built disk image without mounting it: qemu-img to raw, sfdisk for the
// partition offsets, debugfs for the ext4 root and mtools for the ESP.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] });

export interface DiskFiles {
  root(path: string): string;
  rootList(dir: string): string[];
  esp(path: string): string;
  partitions: { type: string; start: number; size: number }[];
  close(): void;
}

const ROOT_X86_64 = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709';
const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

export function openDisk(image: string, workDir: string): DiskFiles {
  const dir = mkdtempSync(join(workDir, 'disk-'));
  const raw = join(dir, 'disk.raw');
  let table;
  try {
    sh('qemu-img', ['convert', '-O', 'raw', image, raw]);
    table = JSON.parse(sh('sfdisk', ['--json', raw])) as { partitiontable: { sectorsize?: number; partitions: { type: string; start: number; size: number }[] } };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const sector = table.partitiontable.sectorsize ?? 512;
  const partitions = table.partitiontable.partitions;
  const find = (type: string) => {
    const p = partitions.find((x) => x.type.toUpperCase() === type);
    if (!p) throw new Error(`no partition of type ${type}`);
    return p.start * sector;
  };
  const rootSpec = `${raw}?offset=${find(ROOT_X86_64)}`;
  const espOffset = find(ESP);
  return {
    partitions,
    root: (path) => sh('debugfs', ['-R', `cat ${path}`, rootSpec]).toString(),
    rootList: (d) =>
      sh('debugfs', ['-R', `ls -p ${d}`, rootSpec])
        .split('\n')
        .map((l) => l.split('/')[5])
        .filter((n): n is string => Boolean(n) && n !== '.' && n !== '..'),
    esp: (path) => sh('mtype', ['-i', `${raw}@@${espOffset}`, `::${path}`]),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
