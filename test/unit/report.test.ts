// What a build reports, as pure functions: the human summary, the JSON summary (fixed key order,
// nulls for what a build did not make) and the phase clock that reads mkosi's log lines.
import { describe, expect, it } from 'vitest';
import { describePhases, describeSteps } from '../../src/image/phases.js';
import { fedClock } from '../support/fed-clock.js';
import { formatReport, reportJson, type BuildReport } from '../../src/image/report.js';

const REPORT: BuildReport = {
  distribution: 'debian',
  release: 'trixie',
  sourceDateEpoch: 1763856000,
  seed: '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7',
  buildVersion: '20251123.0',
  outputDir: '/o',
  mkosiVersion: '25.3',
  toolsTree: '/tools',
  buildMode: 'root',
  sha256sums: '/o/SHA256SUMS',
  artifacts: [
    {
      profile: 'basic',
      path: '/o/Debian-13-x86_64-basic-20251123.0.qcow2',
      sha256: 'a'.repeat(64),
      record: '/o/Debian-13-x86_64-basic-20251123.0.qcow2.manifest.json',
      packages: 'cached',
      phases: { packages: 4.2, image: 50.1, postOutput: 30 },
      seconds: 90.3,
      mkosiCommand: 'umask 0022 && mkosi build',
    },
  ],
};

describe('build report', () => {
  it('says what was built, where, and how long each phase took', () => {
    expect(formatReport(REPORT, false).split('\n')).toEqual([
      'Built debian trixie into /o',
      '  SOURCE_DATE_EPOCH 1763856000 (2025-11-23T00:00:00.000Z)',
      '  seed              0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7',
      '  build version     20251123.0',
      '  mkosi             25.3',
      '  tools tree        /tools',
      '  build mode        root',
      '/o/Debian-13-x86_64-basic-20251123.0.qcow2',
      `  sha256 ${'a'.repeat(64)}`,
      '  record /o/Debian-13-x86_64-basic-20251123.0.qcow2.manifest.json',
      '  packages from the cache 4.2 s, image 50.1 s, post-output 30 s; 90.3 s in all',
    ]);
  });

  it('shows the mkosi command line of each target in a dry run', () => {
    const dry = formatReport({ ...REPORT, artifacts: [{ profile: 'basic', path: '/o/x.qcow2', sha256: '', mkosiCommand: 'umask 0022 && mkosi build' }] }, true);
    expect(dry.split('\n')).toEqual(expect.arrayContaining(['Would build debian trixie into /o', '/o/x.qcow2', '  umask 0022 && mkosi build']));
    expect(dry).not.toContain('sha256');
  });

  it('prints JSON with every key in a fixed order, null for what the build did not make', () => {
    const json = JSON.parse(reportJson(REPORT));
    expect(Object.keys(json)).toEqual([
      'distribution',
      'release',
      'sourceDateEpoch',
      'seed',
      'buildVersion',
      'outputDir',
      'mkosiVersion',
      'toolsTree',
      'buildMode',
      'sha256sums',
      'artifacts',
    ]);
    expect(json.artifacts[0]).toEqual({
      profile: 'basic',
      variant: null,
      path: '/o/Debian-13-x86_64-basic-20251123.0.qcow2',
      sha256: 'a'.repeat(64),
      digest: null,
      record: '/o/Debian-13-x86_64-basic-20251123.0.qcow2.manifest.json',
      sbom: null,
      signature: null,
      packages: 'cached',
      phases: { packages: 4.2, image: 50.1, postOutput: 30 },
      seconds: 90.3,
      mkosiCommand: 'umask 0022 && mkosi build',
    });
    expect(reportJson(REPORT)).toBe(reportJson(structuredClone(REPORT)));
  });
});

describe('phase clock', () => {
  const clock = (lines: [number, string][], end: number) => fedClock(lines, end).finish();

  it('times a build that copied the cached package set', () => {
    const p = clock(
      [
        [1000, '‣  Copying cached trees'],
        [4000, '‣   Running finalize script (the initrd, indented deeper: not a main step)'],
        [5000, '‣  Running finalize scripts…'],
        [60000, '‣  Running post-output script /work/src/postout/qcow2.sh…'],
      ],
      90000,
    );
    expect(p).toEqual({ packages: 'cached', seconds: { packages: 5, image: 55, postOutput: 30 } });
    expect(describePhases(p!)).toBe('packages from the cache 5 s, image 55 s, post-output 30 s');
  });

  it('tells an installed set from a copied one, and says nothing when mkosi never reached its cache step', () => {
    expect(
      clock(
        [
          [2000, '‣  Installing cache copies'],
          [3000, '‣  Copying cached trees'],
          [9000, '‣  Running finalize scripts…'],
        ],
        10000,
      )?.packages,
    ).toBe('installed');
    expect(clock([[1000, '‣  Building default initrd']], 2000)).toBeUndefined();
  });

  it('times every step mkosi logged, the last until mkosi exited, and lists the longest first', () => {
    const c = fedClock(
      [
        [1000, '‣  Copying cached trees'],
        [1200, 'plain output'],
        [1500, '‣   Creating cpio archive'],
        [9500, '‣  Running post-output script'],
      ],
      12000,
    );
    const steps = c.steps();
    expect(steps).toEqual([
      { step: '‣  Copying cached trees', seconds: 0.5 },
      { step: '‣   Creating cpio archive', seconds: 8 },
      { step: '‣  Running post-output script', seconds: 2.5 },
    ]);
    expect(describeSteps(steps, 2)).toEqual(["boxes: mkosi's 2 longest steps of 11 s:", '    8.0 s  ‣   Creating cpio archive', '    2.5 s  ‣  Running post-output script']);
  });
});
