// Build records and SBOMs: pure assembly from build facts, stable bytes, and a schema that every
// record passes.
import { describe, expect, it } from 'vitest';
import { parseBuildOptions } from '../../src/plan/options.js';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDpkgStatus, parseMkosiManifest, toolsTreeIdentity } from '../../src/record/packages.js';
import { makeRecord, reproduceArgs, type RecordFacts } from '../../src/record/record.js';
import { spdxSbom } from '../../src/record/sbom.js';
import { buildRecordSchema } from '../../src/record/schema.js';
import { stableJson } from '../../src/record/stable-json.js';

const SEED = '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7';
const options = (args: Record<string, string | boolean>) => parseBuildOptions({ sourceDateEpoch: '1763856000', ...args }, { now: new Date(), hostDistribution: 'debian' });

function facts(overrides: Partial<RecordFacts> = {}): RecordFacts {
  const o = options({ profile: 'vagrant-libvirt' });
  return {
    toolVersion: '0.1.0',
    revision: 'abc123-dirty',
    mkosiVersion: '25.3',
    toolsTree: { distribution: 'debian', release: 'trixie', packages: ['gzip 1.13-1', 'tar 1.35'] },
    options: o,
    target: o.targets[0]!,
    seed: SEED,
    packages: [{ type: 'deb', name: 'libc6', version: '2.41-12', architecture: 'amd64' }],
    artifact: { name: 'Debian-13-x86_64-libvirt-20251123.0.box', sha256: 'a'.repeat(64), size: 42 },
    ...overrides,
  };
}

describe('build record', () => {
  it('records inputs, packages, artifact and the command that rebuilds it', () => {
    const r = makeRecord(facts());
    expect(buildRecordSchema.parse(JSON.parse(stableJson(r)))).toEqual(r);
    expect(r.config).toEqual({ commit: 'abc123', dirty: true });
    expect(r.image).toEqual({
      distribution: 'debian',
      release: 'trixie',
      architecture: 'x86-64',
      profile: 'vagrant-libvirt',
      variant: null,
      mirror: null,
      snapshot: null,
      sourceDateEpoch: 1763856000,
      seed: SEED,
      buildVersion: '20251123.0',
    });
    expect(r.artifact).toEqual({ name: 'Debian-13-x86_64-libvirt-20251123.0.box', sha256: 'a'.repeat(64), size: 42, digest: null, diffIds: [] });
    expect(r.reproduce).toEqual([
      'build',
      '--profile',
      'vagrant-libvirt',
      '--distribution',
      'debian',
      '--release',
      'trixie',
      '--source-date-epoch',
      '1763856000',
      '--seed',
      SEED,
      '--build-version',
      '20251123.0',
    ]);
  });

  it.each([
    [
      { profile: 'container', variant: 'base-devel', distribution: 'arch', mirror: 'file:///srv/repo', repositoryKeyCheck: false },
      ['build', '--profile', 'container', '--variant', 'base-devel', '--distribution', 'arch', '--mirror', 'file:///srv/repo', '--no-repository-key-check'],
    ],
    [
      { profile: 'basic', snapshot: '2025-11-01', buildVersion: '20251101.3' },
      ['build', '--profile', 'basic', '--distribution', 'debian', '--release', 'trixie', '--snapshot', '2025-11-01'],
    ],
    [
      { profile: 'container', distribution: 'arch', keyringAnchor: '/srv/anchor' },
      ['build', '--profile', 'container', '--variant', 'base', '--distribution', 'arch', '--keyring-anchor', '/srv/anchor'],
    ],
    [
      { profile: 'basic', distribution: 'debian', qcow2Compression: 'zstd' },
      ['build', '--profile', 'basic', '--distribution', 'debian', '--release', 'trixie', '--qcow2-compression', 'zstd', '--source-date-epoch'],
    ],
    [
      { profile: 'basic', distribution: 'debian', qcow2Compression: 'zlib' },
      ['build', '--profile', 'basic', '--distribution', 'debian', '--release', 'trixie', '--source-date-epoch'],
    ],
  ])('reproduce arguments for %j', (args, start) => {
    const o = options(args as Record<string, string | boolean>);
    const argv = reproduceArgs(o, o.targets[0]!, SEED);
    expect(argv.slice(0, start.length)).toEqual(start);
    expect(argv.slice(-6)).toEqual(['--source-date-epoch', '1763856000', '--seed', SEED, '--build-version', o.buildVersion]);
  });

  it('refuses what the schema does not allow', () => {
    expect(() => makeRecord(facts({ artifact: { name: 'x', sha256: 'nothex', size: 1 } }))).toThrow();
  });

  it('stable JSON sorts keys at every level', () => {
    expect(stableJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 2 } })).toBe(
      '{\n  "a": {\n    "c": 2,\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n',
    );
  });
});

describe('package lists', () => {
  it("reads mkosi's JSON manifest, sorted by name", () => {
    const text = JSON.stringify({
      manifest_version: 1,
      packages: [
        { type: 'pkg', name: 'zstd', version: '1.5', architecture: 'x86_64' },
        { type: 'pkg', name: 'bash', version: '5.2', architecture: 'x86_64' },
      ],
    });
    expect(parseMkosiManifest(text).map((p) => p.name)).toEqual(['bash', 'zstd']);
  });

  it('names the tools tree by its own os-release', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'boxes-tools-'));
    mkdirSync(join(tree, 'usr/lib'), { recursive: true });
    writeFileSync(join(tree, 'usr/lib/os-release'), 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_CODENAME=trixie\n');
    expect(await toolsTreeIdentity(tree)).toEqual({ distribution: 'debian', release: 'trixie' });
    expect(await toolsTreeIdentity(join(tree, 'missing'))).toEqual({ distribution: null, release: null });
  });

  it("reads installed packages from dpkg's status file", () => {
    const status =
      'Package: tar\nStatus: install ok installed\nVersion: 1.35\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: gzip\nStatus: install ok installed\nVersion: 1.13-1\n';
    expect(parseDpkgStatus(status)).toEqual(['gzip 1.13-1', 'tar 1.35']);
  });
});

describe('SPDX SBOM', () => {
  it('describes the artifact and contains every package with its purl', () => {
    const r = makeRecord(
      facts({
        packages: [
          { type: 'deb', name: 'libc6', version: '1:2.41-12', architecture: 'amd64' },
          { type: 'pkg', name: 'glibc', version: '2.42+r3-1', architecture: 'x86_64' },
        ],
      }),
    );
    const sbom = spdxSbom(r);
    expect(sbom).toMatchObject({ spdxVersion: 'SPDX-2.3', dataLicense: 'CC0-1.0', SPDXID: 'SPDXRef-DOCUMENT', creationInfo: { created: '2025-11-23T00:00:00Z' } });
    expect(sbom.packages[0]).toMatchObject({
      SPDXID: 'SPDXRef-Artifact',
      checksums: [{ algorithm: 'SHA256', checksumValue: 'a'.repeat(64) }],
      primaryPackagePurpose: 'OPERATING-SYSTEM',
    });
    expect(sbom.packages.slice(1).map((p) => ('externalRefs' in p ? p.externalRefs?.[0]?.referenceLocator : ''))).toEqual([
      'pkg:deb/debian/libc6@1%3A2.41-12?arch=amd64&distro=debian-trixie',
      'pkg:alpm/arch/glibc@2.42%2Br3-1?arch=x86_64',
    ]);
    for (const p of sbom.packages) expect(p.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    expect(new Set(sbom.packages.map((p) => p.SPDXID)).size).toBe(3);
    expect(sbom.relationships).toContainEqual({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-Artifact' });
    expect(sbom.relationships.filter((x) => x.relationshipType === 'CONTAINS')).toHaveLength(2);
    expect(stableJson(spdxSbom(r))).toBe(stableJson(sbom));
  });
});
