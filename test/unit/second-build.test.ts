import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBuildOptions } from '../../src/plan/options.js';
import { UsageError } from '../../src/system/errors.js';
import { handedOver, handoverFor } from '../../src/verify/second-build.js';

const dir = mkdtempSync(join(tmpdir(), 'boxes-handover-'));
const context = { now: new Date('2026-12-07T12:00:00Z'), hostDistribution: 'debian' as const, cpus: 2 };

describe("verify's second build is handed the first one's settled plan", () => {
  it.each([
    ['the release matrix', { all: true, distribution: 'debian', mirror: 'https://user:secret@mirror.example/debian', qcow2Compression: 'zstd', singleUid: true }],
    ['one variant', { profile: 'container', variant: 'base-devel', distribution: 'arch', snapshot: '2025-11-01', keyringAnchor: '/srv/anchor', repositoryKeyCheck: false }],
    ['disk images', { profile: 'basic,cloud-init', distribution: 'debian', seed: '0E6B1C4D-7F52-4A39-9D0E-5B8A2C61F3E7', buildVersion: '7', jobs: '1', verbose: true }],
  ])('%s: every target, artifact and option arrives as it left', async (_what, raw) => {
    const options = parseBuildOptions({ ...raw, outputDir: 'verify' }, context);
    const environment = { env: { TZ: 'Etc/GMT-14' }, wrapper: ['taskset', '--cpu-list', '0'], workspaceDir: '/dev/shm/w', installCacheRoot: '/dev/shm/w/i' };
    const file = join(dir, `${_what}.json`);
    writeFileSync(file, JSON.stringify(handoverFor({ options, outputDir: '/out/second/elsewhere', treeDir: '/copy/tree', revision: 'abc', environment, umask: 0o002 })));
    const { options: child, io } = await handedOver(file);
    expect(child).toEqual({ ...options, outputDir: '/out/second/elsewhere', json: true, dryRun: false, sign: undefined });
    expect(child.targets.map((t) => t.artifact)).toEqual(options.targets.map((t) => t.artifact));
    expect(io).toEqual({ treeDir: '/copy/tree', revision: 'abc', environment, beside: true });
  });

  it('refuses a file that is not a handover, naming it', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ options: { targets: [] } }));
    await expect(handedOver(file)).rejects.toThrow(UsageError);
    await expect(handedOver(file)).rejects.toThrow(/bad\.json is not a second build's handover from boxes verify/);
  });
});
