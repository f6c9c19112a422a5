import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/system/errors.js';
import { parseBuildOptions, type RawBuildOptions } from '../../src/plan/options.js';

const ctx = { now: new Date('2026-11-23T15:30:00Z'), hostDistribution: 'debian' as const };

describe('argv -> options', () => {
  it('takes as many builds at once as the CPUs by default, at most 64', () => {
    expect(parseBuildOptions({ profile: 'basic' }, { ...ctx, cpus: 2 }).jobs).toBe(2);
    expect(parseBuildOptions({ profile: 'basic' }, { ...ctx, cpus: 256 }).jobs).toBe(64);
    expect(parseBuildOptions({ profile: 'basic', jobs: '1' }, { ...ctx, cpus: 8 }).jobs).toBe(1);
  });

  it.each<[RawBuildOptions, Record<string, unknown>]>([
    [
      { profile: 'container' },
      { distribution: 'debian', release: 'trixie', sourceDateEpoch: 1795392000, buildVersion: '20261123.0', targets: [{ profile: 'container', variant: 'base' }] },
    ],
    [
      { profile: 'container', distribution: 'arch', variant: 'base-devel' },
      { distribution: 'arch', release: 'rolling', targets: [{ profile: 'container', variant: 'base-devel' }] },
    ],
    [
      { profile: 'container', snapshot: '2025-01-15' },
      { sourceDateEpoch: 1736899200, buildVersion: '20250115.0', snapshot: '2025-01-15' },
    ],
    [
      { profile: 'container', snapshot: '2025-01-15', sourceDateEpoch: '42' },
      { sourceDateEpoch: 42, buildVersion: '19700101.0' },
    ],
    [
      { all: true, seed: '0E6B1C4D-7F52-4A39-9D0E-5B8A2C61F3E7' },
      {
        seed: '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7',
        targets: [
          { profile: 'container', variant: 'base' },
          { profile: 'container', variant: 'base-devel' },
          { profile: 'container', variant: 'multilib-devel' },
          { profile: 'basic' },
          { profile: 'cloud-init' },
          { profile: 'libvirt-executor' },
          { profile: 'vagrant-libvirt' },
          { profile: 'vagrant-virtualbox' },
        ],
      },
    ],
    [
      { all: true, variant: 'base-devel' },
      {
        targets: [
          { profile: 'container', variant: 'base-devel' },
          { profile: 'basic' },
          { profile: 'cloud-init' },
          { profile: 'libvirt-executor' },
          { profile: 'vagrant-libvirt' },
          { profile: 'vagrant-virtualbox' },
        ],
      },
    ],
    [{ profile: 'basic,cloud-init', distribution: 'debian' }, { targets: [{ profile: 'basic' }, { profile: 'cloud-init' }] }],
    [{ profile: 'container,basic', variant: 'base-devel' }, { targets: [{ profile: 'container', variant: 'base-devel' }, { profile: 'basic' }] }],
    [
      { profile: 'container', buildVersion: '1.2', outputDir: 'x', repositoryKeyCheck: false },
      { buildVersion: '1.2', outputDir: 'x', repositoryKeyCheck: false },
    ],
    [{ profile: 'container', distribution: 'arch', keyringAnchor: '/srv/anchor/' }, { keyringAnchor: '/srv/anchor' }],
    // Without a CPU count (a library caller) one build at a time; --jobs says otherwise.
    [{ profile: 'container' }, { jobs: 1 }],
    [{ profile: 'container', jobs: '3' }, { jobs: 3 }],
  ])('%j', (input, expected) => {
    expect(parseBuildOptions(input, ctx)).toMatchObject(expected);
  });
});

describe('bad input is a usage error naming the problem', () => {
  it.each<[RawBuildOptions, RegExp]>([
    [{ profile: 'nope' }, /unknown profile 'nope' \(valid: container, basic, cloud-init, libvirt-executor, vagrant-libvirt, vagrant-virtualbox\)/],
    [{ profile: 'basic', variant: 'base' }, /basic has no variants/],
    [{}, /--profile P .* or --all/],
    [{ profile: 'container', all: true }, /either --profile or --all/],
    [{ profile: 'container', distribution: 'fedora' }, /unknown distribution 'fedora'/],
    [{ profile: 'container', variant: 'huge' }, /no variant 'huge'/],
    [{ profile: 'container', sourceDateEpoch: '-1' }, /non-negative integer/],
    [{ profile: 'container', sourceDateEpoch: '1.5' }, /non-negative integer/],
    [{ profile: 'container', sourceDateEpoch: '99999999999999' }, /at most 253402300799/],
    [{ profile: 'container', seed: 'not-a-uuid' }, /--seed: must be a UUID/],
    [{ profile: 'container', snapshot: '2025-02-30' }, /not a real date/],
    [{ profile: 'container', snapshot: '2999-01-01' }, /in the future/],
    [{ profile: 'container', mirror: 'ftp://x' }, /--mirror: must be/],
    [{ profile: 'container', distribution: 'arch', release: 'trixie' }, /only the release "rolling"/],
    [{ profile: 'container', keyringAnchor: 'anchor' }, /--keyring-anchor applies to Arch builds only/],
    [{ profile: 'container', distribution: 'arch', keyringAnchor: '' }, /--keyring-anchor: needs a directory/],
  ])('%j', (input, message) => {
    expect(() => parseBuildOptions(input, ctx)).toThrow(UsageError);
    expect(() => parseBuildOptions(input, ctx)).toThrow(message);
  });

  it('settles the plan: nothing in it, down to each artifact, can be changed afterwards', () => {
    const plan = parseBuildOptions({ profile: 'container,basic', distribution: 'debian' }, ctx);
    expect(Object.isFrozen(plan) && Object.isFrozen(plan.targets)).toBe(true);
    expect(() => ((plan as { outputDir: string }).outputDir = '/elsewhere')).toThrow(TypeError);
    expect(() => plan.targets.push(plan.targets[0]!)).toThrow(TypeError);
    expect(() => ((plan.targets[1]!.artifact as { name: string }).name = 'x.qcow2')).toThrow(TypeError);
    expect(() => plan.targets[0]!.artifact.image!.tags.push('latest')).toThrow(TypeError);
    // A changed copy is a new plan; the settled one stays as it was.
    expect({ ...plan, outputDir: '/elsewhere' }.outputDir).toBe('/elsewhere');
    expect(plan.outputDir).toBe('output');
  });

  it('reports every problem at once', () => {
    expect(() => parseBuildOptions({ profile: 'container', seed: 'x', sourceDateEpoch: 'y' }, ctx)).toThrow(/--source-date-epoch: .*; --seed: /);
  });

  it('asks for --distribution on hosts it cannot build natively', () => {
    expect(() => parseBuildOptions({ profile: 'container' }, { now: ctx.now })).toThrow(/cannot tell which distribution/);
  });
});
