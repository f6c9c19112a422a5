// postout/oci-archive.sh on small fixture trees: equal inputs give equal bytes, and the archive
// holds a consistent OCI layout plus Docker's manifest.json.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ociFacts } from '../../src/record/oci-facts.js';
import { describeArtifact } from '../../src/artifact/artifact.js';
import { hookEnv } from '../support/hook-env.js';

const hook = resolve(import.meta.dirname, '../../postout/oci-archive.sh');
const ARTIFACT = describeArtifact({ distribution: 'arch', release: 'rolling', architecture: 'x86-64', profile: 'container', variant: 'base-devel', version: '20231114.0' });
const NAME = ARTIFACT.name;

function fixture(mtime: number): string {
  const out = mkdtempSync(join(tmpdir(), 'boxes-oci-'));
  const tree = join(out, 'container');
  mkdirSync(join(tree, 'usr/lib'), { recursive: true });
  mkdirSync(join(tree, 'usr/bin'));
  writeFileSync(join(tree, 'usr/lib/os-release'), 'NAME="Arch Linux"\nID=arch\nVERSION_ID=20231114.0\n');
  writeFileSync(join(tree, 'usr/bin/hello'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  symlinkSync('usr/bin', join(tree, 'bin'));
  for (const f of ['usr/bin/hello', 'usr/lib/os-release']) utimesSync(join(tree, f), mtime, mtime);
  writeFileSync(
    join(out, 'config.json'),
    JSON.stringify({
      Output: 'container',
      SourceDateEpoch: 1700000000,
      ImageVersion: '20231114.0',
      Profiles: ['container', 'base-devel'],
      Distribution: 'arch',
      Release: 'rolling',
    }),
  );
  return out;
}

function runHook(out: string): Buffer {
  execFileSync('bash', [hook], {
    env: { ...process.env, OUTPUTDIR: out, MKOSI_CONFIG: join(out, 'config.json'), BOXES_TITLE: 'Arch Linux', ...hookEnv(ARTIFACT) },
    stdio: 'pipe',
  });
  return readFileSync(join(out, NAME));
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('OCI archive hook', () => {
  it('is read by the one OCI reader as one image under both ref names, the tags it is pushed under', async () => {
    const out = fixture(1800000000);
    runHook(out);
    const facts = await ociFacts(join(out, NAME));
    expect(facts.refs).toEqual(['base-devel', 'base-devel-20231114.0']);
    expect(facts.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(facts.diffIds).toHaveLength(1);
  });

  it('writes identical bytes for identical trees in different places and times', () => {
    const a = runHook(fixture(1800000000));
    const b = runHook(fixture(1900000000)); // newer mtimes are clamped to SOURCE_DATE_EPOCH
    expect(sha(a)).toBe(sha(b));
  });

  it('writes a self-consistent layout with both ref names and a docker manifest', () => {
    const out = fixture(1800000000);
    runHook(out);
    const x = join(out, 'x');
    mkdirSync(x);
    execFileSync('tar', ['-xf', join(out, NAME), '-C', x]);
    const members = execFileSync('tar', ['-tvf', join(out, NAME)], { encoding: 'utf8' });
    expect(members).not.toMatch(/ 1000\/| [a-z]+\/[a-z]+ /); // numeric owner 0 only
    const index = JSON.parse(readFileSync(join(x, 'index.json'), 'utf8'));
    expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations['org.opencontainers.image.ref.name'])).toEqual([
      'base-devel',
      'base-devel-20231114.0',
    ]);
    const digest = index.manifests[0].digest.replace('sha256:', '');
    const manifestBytes = readFileSync(join(x, 'blobs/sha256', digest));
    expect(sha(manifestBytes)).toBe(digest);
    const manifest = JSON.parse(manifestBytes.toString());
    const configBytes = readFileSync(join(x, 'blobs/sha256', manifest.config.digest.replace('sha256:', '')));
    expect(configBytes.length).toBe(manifest.config.size);
    const config = JSON.parse(configBytes.toString());
    expect(config.created).toBe('2023-11-14T22:13:20Z');
    expect(config.config.Cmd).toEqual(['/usr/bin/bash']);
    const layer = readFileSync(join(x, 'blobs/sha256', manifest.layers[0].digest.replace('sha256:', '')));
    expect(config.rootfs.diff_ids[0]).toBe(`sha256:${sha(execFileSync('gzip', ['-dc'], { input: layer }))}`);
    const layerList = execFileSync('tar', ['-tvz'], { input: layer, encoding: 'utf8' });
    expect(layerList).toContain('./usr/bin/hello');
    expect(layerList).toMatch(/2023-11-14 \d\d:\d\d \.\/usr\/bin\/hello/);
    const docker = JSON.parse(readFileSync(join(x, 'manifest.json'), 'utf8'));
    expect(docker[0].RepoTags).toEqual(['archlinux:base-devel', 'archlinux:base-devel-20231114.0']);
    expect(readFileSync(join(out, `${NAME}.SHA256`), 'utf8')).toBe(`${sha(readFileSync(join(out, NAME)))}  ${NAME}\n`);
  });
});
