import { describe, expect, it } from 'vitest';
import { distributionFromOsRelease } from '../../src/artifact/host-distribution.js';
import { companions, describeArtifact, hookEnvironment, type ArtifactIdentity } from '../../src/artifact/artifact.js';
import { buildVersionFromEpoch, parseSnapshotDate, startOfUtcDay } from '../../src/artifact/build-version.js';
import { formatListing } from '../../src/artifact/listing.js';
import { chooseRenderer } from '../../src/image/renderer.js';
import { aptSources } from '../../src/image/sources.js';
import { classifyFailure, commandLine } from '../../src/system/runner.js';

const artifactName = (input: Omit<ArtifactIdentity, 'architecture'>) => describeArtifact({ architecture: 'x86-64', ...input }).name;

describe('naming', () => {
  it.each([
    [{ distribution: 'arch', release: 'rolling', variant: 'base' }, 'Arch-Linux-x86_64-container-base-20251123.0.tar'],
    [{ distribution: 'arch', release: 'rolling', variant: 'multilib-devel' }, 'Arch-Linux-x86_64-container-multilib-devel-20251123.0.tar'],
    [{ distribution: 'debian', release: 'trixie', variant: 'base-devel' }, 'Debian-13-x86_64-container-base-devel-20251123.0.tar'],
    [{ distribution: 'debian', release: 'bookworm', variant: 'base' }, 'Debian-12-x86_64-container-base-20251123.0.tar'],
    [{ distribution: 'debian', release: 'sid', variant: 'base' }, 'Debian-sid-x86_64-container-base-20251123.0.tar'],
  ] as const)('%j -> %s', (input, name) => {
    expect(artifactName({ profile: 'container', version: '20251123.0', ...input })).toBe(name);
  });

  it.each([
    ['basic', 'arch', 'Arch-Linux-x86_64-basic-20251123.0.qcow2'],
    ['cloud-init', 'arch', 'Arch-Linux-x86_64-cloudimg-20251123.0.qcow2'],
    ['libvirt-executor', 'arch', 'Arch-Linux-x86_64-libvirt-executor-20251123.0.qcow2'],
    ['cloud-init', 'debian', 'Debian-13-x86_64-cloudimg-20251123.0.qcow2'],
    ['vagrant-libvirt', 'arch', 'Arch-Linux-x86_64-libvirt-20251123.0.box'],
    ['vagrant-virtualbox', 'debian', 'Debian-13-x86_64-virtualbox-20251123.0.box'],
  ] as const)('VM profile %s (%s) -> %s', (profile, distribution, name) => {
    expect(artifactName({ profile, distribution, release: distribution === 'arch' ? 'rolling' : 'trixie', version: '20251123.0' })).toBe(name);
  });

  it('describes every file an artifact emits, and what its hooks are told', () => {
    const container = describeArtifact({ distribution: 'debian', release: 'trixie', architecture: 'x86-64', profile: 'container', variant: 'base-devel', version: '1.0' });
    expect(container).toMatchObject({
      kind: 'container',
      name: 'Debian-13-x86_64-container-base-devel-1.0.tar',
      image: { name: 'debian', tags: ['base-devel', 'base-devel-1.0'] },
    });
    expect(container.files).toEqual(companions(container.name));
    expect(container.files).toEqual({
      checksum: `${container.name}.SHA256`,
      record: `${container.name}.manifest.json`,
      sbom: `${container.name}.spdx.json`,
      signature: `${container.name}.sig`,
      digest: `${container.name}.digest`,
      statement: `${container.name}.reproduced.json`,
    });
    expect(hookEnvironment(container)).toEqual([
      'BOXES_ARTIFACT=Debian-13-x86_64-container-base-devel-1.0.tar',
      'BOXES_IMAGE_NAME=debian',
      'BOXES_IMAGE_TAGS=base-devel,base-devel-1.0',
      'BOXES_IMAGE_VARIANT=base-devel',
      'BOXES_OCI_ARCHITECTURE=amd64',
    ]);
    const box = describeArtifact({ distribution: 'arch', release: 'rolling', architecture: 'x86-64', profile: 'vagrant-virtualbox', version: '1.0' });
    expect(box).toMatchObject({ kind: 'box', variant: undefined, name: 'Arch-Linux-x86_64-virtualbox-1.0.box' });
    expect(box.image).toBeUndefined();
    expect(hookEnvironment(box)).toEqual(['BOXES_ARTIFACT=Arch-Linux-x86_64-virtualbox-1.0.box']);
    // mkosi splits Environment= at whitespace: a value with a space would arrive cut.
    for (const value of [...hookEnvironment(container), ...hookEnvironment(box)]) expect(value).not.toMatch(/\s/);
  });

  it('refuses an identity it cannot name', () => {
    expect(() => describeArtifact({ distribution: 'debian', release: 'trixie', architecture: 'x86-64', profile: 'iso9660', version: '1' })).toThrow(/unknown profile/);
    expect(() => describeArtifact({ distribution: 'debian', release: 'trixie', architecture: 'sparc' as 'x86-64', profile: 'basic', version: '1' })).toThrow();
  });

  it('lists each profile with the pattern its names follow, from the same code', () => {
    const listing = formatListing();
    expect(listing).toContain('produces: <Prefix>-<arch>-container-<variant>-<version>.tar');
    expect(listing).toContain('produces: <Prefix>-<arch>-cloudimg-<version>.qcow2');
    expect(listing).toContain('produces: <Prefix>-<arch>-libvirt-<version>.box');
  });

  it('derives versions and days in UTC', () => {
    expect(buildVersionFromEpoch(1763856000)).toBe('20251123.0');
    expect(startOfUtcDay(new Date('2025-11-23T18:59:59Z'))).toBe(1763856000);
    expect(parseSnapshotDate('2024-02-29')?.toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(parseSnapshotDate('2023-02-29')).toBeUndefined();
    expect(parseSnapshotDate('2023-2-1')).toBeUndefined();
  });
});

describe('host distribution', () => {
  it.each([
    ['ID=arch\n', 'arch'],
    ['ID=endeavouros\nID_LIKE=arch\n', 'arch'],
    ['ID="debian"\nVERSION_ID="12"\n', 'debian'],
    ['ID=ubuntu\nID_LIKE=debian\n', undefined],
    ['ID=fedora\n', undefined],
  ])('%j', (text, expected) => expect(distributionFromOsRelease(text)).toBe(expected));
});

describe('renderer choice', () => {
  it.each([
    [{ json: true, verbose: true, ci: true, tty: true }, 'silent'],
    [{ json: false, verbose: true, ci: false, tty: true }, 'verbose'],
    [{ json: false, verbose: false, ci: true, tty: true }, 'verbose'],
    [{ json: false, verbose: false, ci: false, tty: false }, 'verbose'],
    [{ json: false, verbose: false, ci: false, tty: true }, 'default'],
  ])('%j -> %s', (s, r) => expect(chooseRenderer(s)).toBe(r));
});

describe('apt sources', () => {
  it('lists main, updates and security without debug or source repositories', () => {
    const text = aptSources({ release: 'trixie' });
    expect(text).toContain('Suites: trixie trixie-updates');
    expect(text).toContain('URIs: http://security.debian.org/debian-security');
    expect(text).not.toMatch(/debug|deb-src/);
  });
  it('uses the mirror and the snapshot', () => {
    expect(aptSources({ release: 'trixie', mirror: 'http://m.example/debian' })).toContain('URIs: http://m.example/debian\n');
    expect(aptSources({ release: 'trixie', snapshot: '2025-01-15' })).toContain('snapshot.debian.org/archive/debian-security/20250115T000000Z');
    expect(aptSources({ release: 'sid' })).not.toContain('security');
  });
});

describe('runner helpers', () => {
  it('quotes command lines so they can be pasted back', () => {
    expect(commandLine(['mkosi', '--x=a b', "it's"], { PYTHONPATH: '/p' })).toBe(`PYTHONPATH=/p mkosi '--x=a b' 'it'\\''s'`);
  });
  it.each([
    [['E: Unable to locate package nope'], /package does not exist/],
    [['error: target not found: nope'], /package does not exist/],
    [['Err:1 http://x trixie InRelease', '  Could not resolve host'], /mirror could not be reached/],
    [['something else'], undefined],
  ])('%j', (lines, expected) => {
    const got = classifyFailure(lines);
    if (expected) expect(got).toMatch(expected);
    else expect(got).toBeUndefined();
  });
});
