/**
 * An ext2/3/4 filesystem read with debugfs, never mounted: every directory listed by inode (one
 * batch of `ls -p <inode>` a directory level, so no file name is ever quoted into a command), and
 * every regular file's bytes streamed once through the secret scanner (`cat <inode>`, framed by
 * debugfs-cat.ts), keeping the few files the rules read whole.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChildFailed, UsageError } from '../system/errors.js';
import { run } from '../system/runner.js';
import type { Toolbox } from '../system/toolbox.js';
import { CatFrames, catCommand } from './debugfs-cat.js';
import { SecretScanner, type ContentMarker } from './secret-scan.js';
import { typeOfMode, wantsContent, type FileEntry } from './view.js';

export interface ExtEntry extends FileEntry {
  inode: number;
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
    if (!m || !current)
      throw new UsageError(
        `debugfs printed a directory entry boxes cannot read: ${JSON.stringify(line.slice(0, 80))}`,
        'the filesystem holds a file name with a line break; rebuild the image without it',
      );
    if (m[5] === '.' || m[5] === '..') continue;
    current.push({ inode: Number(m[1]), name: m[5]!, mode: parseInt(m[2]!, 8), uid: Number(m[3]), size: Number(m[6] || 0) });
  }
  return listings;
}

export class ExtFilesystem {
  constructor(
    private readonly tools: Toolbox,
    /** `raw?offset=N`: the filesystem inside a raw disk. */
    readonly device: string,
    /** Names the partition in errors. */
    readonly what: string,
    private readonly work: string,
    private readonly signal?: AbortSignal,
  ) {}

  private async commands(commands: string[], onStdout?: (chunk: Buffer) => void, stop?: AbortSignal): Promise<string> {
    const file = join(this.work, 'debugfs.cmds');
    await writeFile(file, `${commands.join('\n')}\n`);
    const signal = stop && this.signal ? AbortSignal.any([stop, this.signal]) : (stop ?? this.signal);
    return (await run(['debugfs', '-f', file, this.device], { tools: this.tools, signal, what: `debugfs on ${this.what}`, onStdout })).stdout;
  }

  /** The filesystem UUID, or a UsageError: a partition of a Linux type must hold ext2/3/4. */
  async uuid(): Promise<string> {
    const stats = await this.commands(['stats']).catch((error: unknown) => {
      if (error instanceof ChildFailed) return '';
      throw error;
    });
    const uuid = /^Filesystem UUID:\s*(\S+)/m.exec(stats)?.[1];
    if (!uuid)
      throw new UsageError(`${this.what} holds no filesystem debugfs can read`, 'boxes audit reads ext2/3/4 partitions; an artifact must not ship what the audit cannot read');
    return uuid;
  }

  /**
   * e2fsck's read-only check: debugfs reads a damaged filesystem without complaint, and what a
   * damaged directory hides from it a kernel may still find. A filesystem with errors is refused.
   */
  async check(): Promise<void> {
    await run(['e2fsck', '-fn', this.device], { tools: this.tools, signal: this.signal, what: `e2fsck on ${this.what}` }).catch((error: unknown) => {
      if (!(error instanceof ChildFailed)) throw error;
      const first = error.logTail.find((l) => !/^(e2fsck \d|Pass \d)/.test(l));
      throw new UsageError(`${this.what} has filesystem errors${first ? ` (e2fsck: ${first.trim()})` : ''}`, 'the image is damaged or was changed; rebuild it');
    });
  }

  /** Every entry, whatever its name, under `prefix`. */
  async list(prefix: string): Promise<ExtEntry[]> {
    const out: ExtEntry[] = [];
    let level: { path: string; inode: number }[] = [{ path: prefix, inode: 2 }];
    while (level.length > 0) {
      const listings = parseListings(await this.commands(level.map((d) => `ls -p <${d.inode}>`)));
      const next: { path: string; inode: number }[] = [];
      for (const dir of level) {
        const listed = listings.get(dir.inode);
        if (!listed) throw new UsageError(`debugfs could not list /${dir.path} (inode ${dir.inode}) on ${this.what}`, 'the filesystem is damaged; rebuild the image');
        for (const e of listed) {
          const path = dir.path ? `${dir.path}/${e.name}` : e.name;
          const type = typeOfMode(e.mode);
          out.push({ path, type, mode: e.mode & 0o7777, uid: e.uid, size: e.size, inode: e.inode });
          if (type === 'dir') next.push({ path, inode: e.inode });
        }
      }
      level = next;
    }
    return out;
  }

  /** Streams every regular file once: what the scan found in each, and the bytes of the files the rules read. */
  async read(entries: readonly ExtEntry[]): Promise<{ contents: Map<string, Buffer>; markers: Map<string, ReadonlySet<ContentMarker>> }> {
    const contents = new Map<string, Buffer>();
    const markers = new Map<string, ReadonlySet<ContentMarker>>();
    // A hard link's bytes are read once, under its first name; every name gets what they hold.
    const byInode = new Map<number, ExtEntry[]>();
    for (const e of entries) if (e.type === 'file') byInode.set(e.inode, [...(byInode.get(e.inode) ?? []), e]);
    const files = [...byInode.values()].map((names) => names[0]!);
    // Inodes with a name the rules read: only their bytes are kept, the rest only scanned.
    const kept = new Set([...byInode].filter(([, names]) => names.some((e) => wantsContent(e.path, e.size))).map(([inode]) => inode));
    let scanner = new SecretScanner();
    let chunks: Buffer[] = [];
    const frames = new CatFrames(
      files,
      (i, chunk) => {
        scanner.push(chunk);
        if (kept.has(files[i]!.inode)) chunks.push(chunk);
      },
      (i) => {
        for (const e of byInode.get(files[i]!.inode)!) {
          if (scanner.secret) markers.set(e.path, scanner.found);
          if (wantsContent(e.path, e.size)) contents.set(e.path, Buffer.concat(chunks));
        }
        scanner = new SecretScanner();
        chunks = [];
      },
      this.what,
    );
    let problem: unknown;
    const stop = new AbortController();
    await this.commands(
      files.map((f) => catCommand(f.inode)),
      (chunk) => {
        if (problem !== undefined) return;
        try {
          frames.push(chunk);
        } catch (error) {
          problem = error;
          stop.abort();
        }
      },
      stop.signal,
    ).catch((error: unknown) => {
      // The run was stopped because the stream broke: that is the error to report.
      if (problem === undefined) throw error;
    });
    if (problem !== undefined) throw problem;
    frames.finish();
    return { contents, markers };
  }
}
