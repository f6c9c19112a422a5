/**
 * Reads a Vagrant box (a gzipped tar) in one pass: its sha256, its members and metadata.json.
 * Also extracts one member, for `boxes test` to boot the disk inside.
 */
import { parseJson } from '../system/expected.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import { z } from 'zod';
import { UsageError } from '../system/errors.js';
import { sniffFormat } from '../system/file-format.js';

const metadataSchema = z.looseObject({
  provider: z.string().min(1),
  format: z.string().optional(),
  virtual_size: z.number().optional(),
});
export type BoxMetadata = z.infer<typeof metadataSchema>;

export interface BoxFile {
  path: string;
  sha256: string;
  members: string[];
  metadata: BoxMetadata;
}

class NotABox extends UsageError {
  constructor(path: string, why: string) {
    super(`${basename(path)} is not a Vagrant box: ${why}`, 'pass .box files built by `boxes build --profile vagrant-libvirt` or `vagrant-virtualbox`');
  }
}

export async function readBox(path: string): Promise<BoxFile> {
  if ((await sniffFormat(path)) !== 'gzip') throw new NotABox(path, 'not a gzipped tar');
  const hash = createHash('sha256');
  const members: string[] = [];
  let metadataText: string | undefined;
  const parser = new tar.Parser({
    strict: true,
    onReadEntry: (entry) => {
      const name = entry.path.replace(/^\.\//, '');
      members.push(name);
      if (name !== 'metadata.json') return entry.resume();
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => (metadataText = Buffer.concat(chunks).toString('utf8')));
    },
  });
  const hashing = new PassThrough();
  hashing.on('data', (c: Buffer) => hash.update(c));
  try {
    await pipeline(createReadStream(path), hashing, createGunzip(), parser);
  } catch (error) {
    throw new NotABox(path, `unreadable archive (${(error as Error).message})`);
  }
  if (metadataText === undefined) throw new NotABox(path, 'it has no metadata.json');
  const metadata = metadataSchema.safeParse(parseJson(metadataText, () => new NotABox(path, 'its metadata.json is not JSON')));
  if (!metadata.success) throw new NotABox(path, 'its metadata.json names no provider');
  return { path, sha256: hash.digest('hex'), members, metadata: metadata.data };
}

/** Unpacks the disk of a box into DIR, for `boxes test` to boot: box.img (libvirt) or the VMDK (VirtualBox). */
export async function unpackBoxDisk(box: string, dir: string): Promise<{ path: string; format: 'qcow2' | 'vmdk' }> {
  const { metadata, members } = await readBox(box);
  const member = metadata.provider === 'libvirt' ? members.find((m) => m === 'box.img') : members.find((m) => m.endsWith('.vmdk'));
  if (!member) throw new NotABox(box, `no disk for provider ${metadata.provider} in it`);
  await tar.x({ file: box, cwd: dir, strict: true, filter: (p) => p.replace(/^\.\//, '') === member });
  return { path: join(dir, member), format: metadata.provider === 'libvirt' ? 'qcow2' : 'vmdk' };
}
