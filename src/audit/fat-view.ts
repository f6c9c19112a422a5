/**
 * A FAT filesystem (the ESP, XBOOTLDR) read with mtools, never mounted: `mcopy -s` copies every
 * file, hidden and system ones included, into a scratch directory, where each is listed and
 * scanned. FAT has no owners or modes: entries are root's, 0755 directories and 0644 files, as a
 * default mount shows them.
 */
import { lstat, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ChildFailed, UsageError } from '../system/errors.js';
import { run } from '../system/runner.js';
import type { Toolbox } from '../system/toolbox.js';
import { SecretScanner, type ContentMarker } from './secret-scan.js';
import { wantsContent, type FileEntry } from './view.js';

export interface FatContents {
  entries: FileEntry[];
  contents: Map<string, Buffer>;
  markers: Map<string, ReadonlySet<ContentMarker>>;
}

/** The volume serial as fstab writes it (`UUID=1234-ABCD`), or a UsageError: the partition must hold FAT. */
export async function fatSerial(tools: Toolbox, device: string, what: string, signal?: AbortSignal): Promise<string> {
  const out = await run(['minfo', '-i', device, '::'], { tools, signal, what: `minfo on ${what}` }).catch((error: unknown) => {
    if (error instanceof ChildFailed) return { stdout: '' };
    throw error;
  });
  const serial = /serial number:\s*([0-9A-Fa-f]{8})/.exec(out.stdout)?.[1];
  if (!serial) throw new UsageError(`${what} holds no FAT filesystem mtools can read`, 'an ESP must hold FAT; an artifact must not ship what the audit cannot read');
  return `${serial.slice(0, 4)}-${serial.slice(4)}`.toUpperCase();
}

/** Every file and directory of the FAT filesystem at `device` (`raw@@offset`), under `prefix`. */
export async function readFat(tools: Toolbox, device: string, prefix: string, what: string, work: string, signal?: AbortSignal): Promise<FatContents> {
  const into = join(work, 'fat');
  await mkdir(into);
  await run(['mcopy', '-s', '-n', '-i', device, '::/*', into], { tools, signal, what: `mcopy from ${what}` }).catch(async (error: unknown) => {
    // An empty filesystem: the glob matches nothing, which mcopy reports as a failure.
    if (!(error instanceof ChildFailed)) throw error;
    if ((await readdir(into)).length === 0 && error.logTail.some((l) => /"::\/\*" not found/.test(l))) return;
    throw new UsageError(`${what} cannot be read whole (mcopy: ${error.logTail.at(-1) ?? 'failed'})`, 'the image is damaged or was changed; rebuild it');
  });
  const out: FatContents = { entries: [], contents: new Map(), markers: new Map() };
  const walk = async (dir: string, rel: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const info = await lstat(join(dir, name));
      if (info.isDirectory()) {
        out.entries.push({ path, type: 'dir', mode: 0o755, uid: 0, size: 0 });
        await walk(join(dir, name), path);
        continue;
      }
      out.entries.push({ path, type: 'file', mode: 0o644, uid: 0, size: info.size });
      const data = await readFile(join(dir, name));
      const scanner = new SecretScanner();
      scanner.push(data);
      if (scanner.secret) out.markers.set(path, scanner.found);
      if (wantsContent(path, info.size)) out.contents.set(path, data);
    }
  };
  await walk(into, prefix);
  return out;
}
