// postout/qcow2.sh on a small raw disk: the qcow2 it writes under the name boxes gives it, with the
// compression boxes asks for; equal inputs give equal bytes with either, and zlib's are the bytes
// of the conversion every earlier build made.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionsFor } from '../support/records.js';
import { hookEnv } from '../support/hook-env.js';

const root = resolve(import.meta.dirname, '../..');
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
// Half random (incompressible), half text: both compressors have work to do.
const CONTENT = Buffer.concat([randomBytes(2 << 20), Buffer.alloc(2 << 20, 'boxes qcow2 hook\n')]);

/** The hook as boxes build runs it, told BOXES_QCOW2_COMPRESSION=compression (unset: undefined). */
function runHook(compression: string | undefined) {
  const out = mkdtempSync(join(tmpdir(), 'boxes-qcow2-'));
  writeFileSync(join(out, 'disk.raw'), CONTENT);
  writeFileSync(join(out, 'config.json'), JSON.stringify({ Output: 'disk', Profiles: ['basic'], Distribution: 'debian', Release: 'trixie' }));
  const artifact = optionsFor('basic').targets[0]!.artifact;
  const env: NodeJS.ProcessEnv = { ...process.env, OUTPUTDIR: out, MKOSI_CONFIG: join(out, 'config.json'), SRCDIR: root, ...hookEnv(artifact) };
  delete env.BOXES_QCOW2_COMPRESSION;
  if (compression !== undefined) env.BOXES_QCOW2_COMPRESSION = compression;
  const r = spawnSync('bash', [join(root, 'postout/qcow2.sh')], { env, encoding: 'utf8' });
  return { r, out, path: join(out, artifact.name), name: artifact.name };
}

const compressionOf = (path: string) =>
  (JSON.parse(execFileSync('qemu-img', ['info', '--output=json', path], { encoding: 'utf8' })) as { 'format-specific': { data: { 'compression-type': string } } })[
    'format-specific'
  ].data['compression-type'];

describe('qcow2 hook', () => {
  it.each(['zlib', 'zstd'])('writes %s-compressed clusters, the same bytes twice, and empties the raw disk', (compression) => {
    const a = runHook(compression);
    const b = runHook(compression);
    expect(a.r.status, a.r.stderr).toBe(0);
    expect(compressionOf(a.path)).toBe(compression);
    expect(sha(a.path)).toBe(sha(b.path));
    expect(readFileSync(`${a.path}.SHA256`, 'utf8')).toBe(`${sha(a.path)}  ${a.name}\n`);
    expect(readFileSync(join(a.out, 'disk.raw')).length).toBe(0);
    // The image holds the disk's bytes.
    execFileSync('qemu-img', ['convert', '-O', 'raw', a.path, join(a.out, 'back.raw')]);
    expect(readFileSync(join(a.out, 'back.raw')).equals(CONTENT)).toBe(true);
  });

  it("gives with zlib the bytes of qemu-img's zlib conversion (the default's bytes do not change)", () => {
    const a = runHook('zlib');
    const raw = join(a.out, 'again.raw');
    writeFileSync(raw, CONTENT);
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-c', '-o', 'compression_type=zlib', raw, join(a.out, 'plain.qcow2')]);
    expect(sha(a.path)).toBe(sha(join(a.out, 'plain.qcow2')));
  });

  it('refuses a compression it does not know, and one it is not told, writing nothing', () => {
    for (const compression of ['lz4', undefined]) {
      const r = runHook(compression);
      expect(r.r.status).not.toBe(0);
      expect(r.r.stderr).toMatch(compression ? /unknown compression 'lz4'/ : /BOXES_QCOW2_COMPRESSION/);
      expect(existsSync(r.path)).toBe(false);
    }
  });
});
