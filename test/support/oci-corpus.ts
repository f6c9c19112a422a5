// Hand-made OCI archives for the audit's adversarial tests: tar members written byte by byte, so
// a name can be `./etc/./ssh//key` or `../x`, a member can be a hard link, a layer can be plain,
// gzip or zstd, an index can hold several images or nest, and anything can be broken on purpose.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

export interface Member {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  content?: string | Buffer;
  mode?: number;
  link?: string;
}

const octal = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';

function header(m: Member, size: number): Buffer {
  const h = Buffer.alloc(512);
  const name = Buffer.from(m.name, 'utf8');
  if (name.length > 100) throw new Error(`member name too long for this writer: ${m.name}`);
  name.copy(h, 0);
  const type = m.type ?? 'file';
  h.write(octal(m.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(1700000000, 12), 136, 'latin1');
  h.write(' '.repeat(8), 148, 'latin1');
  h.write({ file: '0', hardlink: '1', symlink: '2', dir: '5' }[type], 156, 'latin1');
  if (m.link) Buffer.from(m.link, 'utf8').copy(h, 157);
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7), 148, 'latin1');
  return h;
}

/** A tar stream of exactly these members, in this order. */
export function tarOf(members: Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const data = m.type === undefined || m.type === 'file' ? Buffer.from(m.content ?? '') : Buffer.alloc(0);
    parts.push(header(m, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A zstd frame of raw (stored) blocks: valid zstd, no compressor needed. */
export function zstdStored(data: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // magic; no FCS; window 128 KiB
  const max = 1 << 17;
  for (let at = 0; at < data.length || at === 0; at += max) {
    const block = data.subarray(at, at + max);
    const last = at + max >= data.length ? 1 : 0;
    const head = (block.length << 3) | last; // block type 0: raw
    parts.push(Buffer.from([head & 0xff, (head >> 8) & 0xff, (head >> 16) & 0xff]), block);
    if (data.length === 0) break;
  }
  return Buffer.concat(parts);
}

export type Compression = 'gzip' | 'zstd' | 'none';
const LAYER_TYPE: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface Layer {
  members: Member[];
  compression?: Compression;
}

/** The archive's own members, in order, before they are packed: tests may edit or reorder them. */
export interface Archive {
  members: Member[];
  /** Descriptors of what the archive's index lists. */
  images: { digest: string; size: number; mediaType: string }[];
}

export class ArchiveBuilder {
  private readonly blobs = new Map<string, Buffer>();

  blob(data: Buffer): { digest: string; size: number } {
    this.blobs.set(sha(data), data);
    return { digest: `sha256:${sha(data)}`, size: data.length };
  }

  /** One image of these layers: returns its manifest descriptor. */
  image(layers: Layer[]): { mediaType: string; digest: string; size: number } {
    const plain = layers.map((l) => tarOf(l.members));
    const descriptors = layers.map((l, i) => {
      const c = l.compression ?? 'gzip';
      const data = c === 'gzip' ? gzipSync(plain[i]!) : c === 'zstd' ? zstdStored(plain[i]!) : plain[i]!;
      return { mediaType: LAYER_TYPE[c], ...this.blob(data) };
    });
    const config = this.blob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: plain.map((p) => `sha256:${sha(p)}`) } })));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: descriptors,
    };
    return { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...this.blob(Buffer.from(JSON.stringify(manifest))) };
  }

  /** A nested index of these descriptors: returns its descriptor. */
  index(manifests: { mediaType: string; digest: string; size: number }[]): { mediaType: string; digest: string; size: number } {
    return {
      mediaType: 'application/vnd.oci.image.index.v1+json',
      ...this.blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }))),
    };
  }

  /** The archive's members: oci-layout, index.json listing `top`, every blob. */
  archive(top: { mediaType: string; digest: string; size: number }[], extra: Member[] = []): Archive {
    const members: Member[] = [
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: top }) },
      { name: 'blobs/', type: 'dir' },
      { name: 'blobs/sha256/', type: 'dir' },
      ...[...this.blobs].map(([hex, data]) => ({ name: `blobs/sha256/${hex}`, content: data })),
      ...extra,
    ];
    return { members, images: top };
  }
}

/** One image of these layers, as a file. */
export function ociOf(out: string, layers: Layer[]): string {
  const b = new ArchiveBuilder();
  writeFileSync(out, tarOf(b.archive([b.image(layers)]).members));
  return out;
}

export const HOST_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n';
export const PGP_KEY =
  '-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: test\n\nlFgEZVNmVBYJKwYBBAHaRw8BAQdAm0pIy9zCGOPfE5NP1Jj6pZ4Dk1sF\n=Ab12\n-----END PGP PRIVATE KEY BLOCK-----\n';

/** A small clean root: accounts locked, an uninitialized machine-id. */
export const CLEAN: Member[] = [
  { name: 'etc/', type: 'dir' },
  { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
  { name: 'etc/shadow', content: 'root:!:20000::::::\n', mode: 0o640 },
  { name: 'etc/gshadow', content: 'root:::root\n', mode: 0o640 },
  { name: 'etc/machine-id', content: 'uninitialized\n' },
  { name: 'etc/ssh/', type: 'dir' },
  { name: 'etc/ssh/sshd_config', content: 'PermitRootLogin no\n' },
  { name: 'root/', type: 'dir', mode: 0o700 },
  { name: 'usr/bin/', type: 'dir' },
  { name: 'usr/bin/sh', content: '#!/bin/sh\n', mode: 0o755 },
];
