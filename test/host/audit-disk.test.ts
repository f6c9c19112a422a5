// The disk reader as an attacker would test it: a key in any file of any partition (ext, FAT or
// none), hard links, partitions of unknown types, truncated and damaged images, and a mutation
// fuzz test over a whole disk. Every case is a small disk made at test time.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auditArtifact } from '../../src/audit/audit-artifact.js';
import { HOST_TOOLBOX } from '../../src/system/toolbox.js';
import { CatFrames, type CatFile } from '../../src/audit/debugfs-cat.js';
import { UsageError } from '../../src/system/errors.js';
import { multiPartitionDisk, rootTree } from '../support/artifact-fixtures.js';
import { HOST_KEY, PGP_KEY } from '../support/oci-corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'boxes-audit-disk-'));
const ROOT = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709';
const ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
const BIOS = '21686148-6449-6E6F-744E-656564454649';

function tree(files: Record<string, string>): string {
  const t = mkdtempSync(join(tmpdir(), 'boxes-part-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(t, path, '..'), { recursive: true });
    writeFileSync(join(t, path), text);
  }
  return t;
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => {
      if (e instanceof UsageError) return e.message;
      throw e;
    },
  );

describe('disks: every byte of every partition', () => {
  it('finds a private key by its content in any file of the root, under each of its hard-linked names', async () => {
    const root = rootTree();
    mkdirSync(join(root, 'opt/app'), { recursive: true });
    writeFileSync(join(root, 'opt/app/deploy.pem'), `config\n${HOST_KEY}`);
    mkdirSync(join(root, 'usr/share/misc'), { recursive: true });
    linkSync(join(root, 'opt/app/deploy.pem'), join(root, 'usr/share/misc/data'));
    const disk = multiPartitionDisk([{ tree: root, type: ROOT }], join(dir, 'content.raw'));
    const findings = (await auditArtifact(disk, { tools: HOST_TOOLBOX })).findings.map((f) => `${f.rule} ${f.path}`).sort();
    expect(findings).toEqual(['private-key /opt/app/deploy.pem', 'private-key /usr/share/misc/data']);
  });

  it('reads the ESP at /efi, or where /etc/fstab mounts it, hidden files included', async () => {
    const esp = tree({ 'loader/keys/db.key': HOST_KEY, 'EFI/BOOT/BOOTX64.EFI': 'MZ' });
    const plain = multiPartitionDisk(
      [
        { tree: rootTree(), type: ROOT },
        { tree: esp, type: ESP, fs: 'vfat' },
      ],
      join(dir, 'esp.raw'),
    );
    expect((await auditArtifact(plain, { tools: HOST_TOOLBOX })).findings).toEqual([expect.objectContaining({ rule: 'private-key', path: '/efi/loader/keys/db.key' })]);
    const root = rootTree();
    writeFileSync(join(root, 'etc/fstab'), 'UUID=1234-ABCD /boot vfat umask=0077 0 2\n');
    const mounted = multiPartitionDisk(
      [
        { tree: root, type: ROOT },
        { tree: esp, type: ESP, fs: 'vfat' },
      ],
      join(dir, 'esp-fstab.raw'),
    );
    expect((await auditArtifact(mounted, { tools: HOST_TOOLBOX })).findings).toEqual([expect.objectContaining({ rule: 'private-key', path: '/boot/loader/keys/db.key' })]);
  });

  it('passes an empty ESP', async () => {
    const disk = multiPartitionDisk(
      [
        { tree: rootTree(), type: ROOT },
        { tree: tree({}), type: ESP, fs: 'vfat' },
      ],
      join(dir, 'esp-empty.raw'),
    );
    expect((await auditArtifact(disk, { tools: HOST_TOOLBOX })).findings).toEqual([]);
  });

  it('scans a partition without a filesystem as bytes', async () => {
    const bytes = Buffer.concat([Buffer.alloc(300_000, 0x90), Buffer.from(PGP_KEY), Buffer.alloc(1000)]);
    const disk = multiPartitionDisk(
      [
        { tree: rootTree(), type: ROOT },
        { type: BIOS, bytes },
      ],
      join(dir, 'bios.raw'),
    );
    expect((await auditArtifact(disk, { tools: HOST_TOOLBOX })).findings).toEqual([expect.objectContaining({ rule: 'private-key', detail: expect.stringMatching(/PGP/) })]);
  });

  it('refuses a partition of a type it does not read', async () => {
    const disk = multiPartitionDisk(
      [
        { tree: rootTree(), type: ROOT },
        { tree: tree({ x: 'x' }), type: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7' },
      ],
      join(dir, 'unknown.raw'),
    );
    expect(await refusal(auditArtifact(disk, { tools: HOST_TOOLBOX }))).toMatch(/is of a type boxes audit does not read/);
  });

  it('refuses a raw image cut short', async () => {
    const disk = multiPartitionDisk(
      [
        { tree: rootTree(), type: ROOT },
        { tree: tree({ x: 'x' }), type: '933AC7E1-2EB4-4F13-B844-0E14E2AEF915' },
      ],
      join(dir, 'cut.raw'),
    );
    truncateSync(disk, 40 << 20);
    expect(await refusal(auditArtifact(disk, { tools: HOST_TOOLBOX }))).toMatch(/has no GPT partition table boxes can read \(sfdisk sees a dos table\)/);
  });

  it('refuses a filesystem e2fsck finds damaged', async () => {
    const disk = multiPartitionDisk([{ tree: rootTree(), type: ROOT }], join(dir, 'damaged.raw'));
    // A link count the directories do not add up to: debugfs lists the files without a word.
    execFileSync('debugfs', ['-w', '-R', 'sif <12> links_count 7', `${disk}?offset=${1 << 20}`], { stdio: 'pipe' });
    expect(await refusal(auditArtifact(disk, { tools: HOST_TOOLBOX }))).toMatch(/has filesystem errors \(e2fsck: .+\)/);
  });
});

describe("debugfs's cat stream, framed by each file's size", () => {
  const files: CatFile[] = [
    { inode: 12, size: 3, path: 'a' },
    { inode: 13, size: 0, path: 'empty' },
    { inode: 14, size: 5, path: 'b' },
  ];
  const stream = Buffer.from('debugfs: cat <12>\nabcdebugfs: cat <13>\ndebugfs: cat <14>\nhello');
  const read = (chunks: Buffer[]) => {
    const got = files.map(() => '');
    const ended: number[] = [];
    const frames = new CatFrames(
      files,
      (i, c) => (got[i] += c.toString()),
      (i) => ended.push(i),
      'disk',
    );
    for (const c of chunks) frames.push(c);
    frames.finish();
    return { got, ended };
  };

  it('gives each file its bytes, however the stream is cut into chunks', () => {
    for (let size = 1; size <= stream.length; size++) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
      expect(read(chunks)).toEqual({ got: ['abc', '', 'hello'], ended: [0, 1, 2] });
    }
  });

  it('refuses a missing file, an early end and trailing bytes', () => {
    expect(() => read([Buffer.from('debugfs: cat <12>\nabcdebugfs: cat <14>\nhello')])).toThrow(/could not read \/empty whole/);
    expect(() => read([stream.subarray(0, stream.length - 1)])).toThrow(/could not read \/b whole/);
    expect(() => read([stream, Buffer.from('x')])).toThrow(UsageError);
  });
});

/**
 * Damaged disks (truncated, bit-flipped in the partition table, a filesystem's metadata or the
 * ESP, a range zeroed) around a planted host key: the audit names a finding or refuses with a
 * UsageError; it never crashes, hangs or answers clean. `BOXES_FUZZ_RUNS` and `BOXES_FUZZ_SEED`
 * as for the OCI reader.
 */
describe('mutation fuzzing of the disk reader', () => {
  const root = rootTree('host-key');
  const base = readFileSync(
    multiPartitionDisk(
      [
        { tree: root, type: ROOT },
        { tree: tree({ 'EFI/BOOT/BOOTX64.EFI': 'MZ' }), type: ESP, fs: 'vfat' },
      ],
      join(dir, 'fuzz-base.raw'),
    ),
  );
  const MiB = 1 << 20;
  // Where structure lives: the GPT, and the first MiBs of each partition (superblocks, group
  // descriptors, bitmaps, inode tables, directories; the FAT and its root directory).
  const hot = fc.oneof(fc.nat({ max: 34 * 512 - 1 }), fc.integer({ min: MiB, max: 3 * MiB }), fc.integer({ min: 25 * MiB, max: 26 * MiB }));
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('truncate' as const), at: fc.integer({ min: MiB, max: base.length - 1 }) }),
    fc.record({ kind: fc.constant('flip' as const), flips: fc.array(fc.record({ at: hot, bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('zero' as const), at: hot, length: fc.integer({ min: 1, max: 8192 }) }),
  );
  type Mutation = { kind: 'truncate'; at: number } | { kind: 'flip'; flips: { at: number; bit: number }[] } | { kind: 'zero'; at: number; length: number };
  function apply(m: Mutation): Buffer {
    if (m.kind === 'truncate') return base.subarray(0, m.at);
    const copy = Buffer.from(base);
    if (m.kind === 'flip') for (const f of m.flips) copy[f.at]! ^= 1 << f.bit;
    else copy.fill(0, m.at, m.at + m.length);
    return copy;
  }
  const runs = Number(process.env.BOXES_FUZZ_RUNS ?? 40);
  const seed = process.env.BOXES_FUZZ_SEED === 'random' ? Date.now() : Number(process.env.BOXES_FUZZ_SEED ?? 20261202);

  it(`never crashes, hangs or answers clean (${runs} runs, seed ${seed})`, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const path = join(dir, `fuzz-${n++}.raw`);
        writeFileSync(path, apply(m));
        const outcome = await auditArtifact(path, { tools: HOST_TOOLBOX }).then(
          (r) => (r.findings.length > 0 ? 'finding' : 'clean'),
          (e: unknown) => (e instanceof UsageError ? 'refused' : e),
        );
        expect(outcome === 'finding' || outcome === 'refused', `${JSON.stringify(m)}: ${String(outcome)}`).toBe(true);
      }),
      { numRuns: runs, seed, timeout: 30_000 },
    );
  }, 900_000);
});
