// `boxes catalog` and its parts: Vagrant catalog JSON from box files, grouped by version, and one
// clear line with exit 2 for every kind of bad input.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { boxesInProcess } from '../support/in-process.js';
import { companions } from '../../src/artifact/artifact.js';
import { optionsFor, recordOf } from '../support/records.js';
import { boxUrl, compareVersions, vagrantCatalog } from '../../src/vagrant/catalog-json.js';
import { keyCandidates } from '../../src/vagrant/insecure-key.js';

const dir = mkdtempSync(join(tmpdir(), 'boxes-catalog-'));

interface Build {
  profile: string;
  distribution: string;
  version: string;
  /** Another file name than the build gives. */
  as?: string;
}

/**
 * A small but real box: a gzipped tar with metadata.json (or without, when metadata is null). A
 * build's box gets its name and its build record beside it, as boxes build leaves them; a name alone
 * makes a box without a record.
 */
function box(build: Build | string, metadata: object | null): string {
  const options = typeof build === 'string' ? undefined : optionsFor(build.profile, { distribution: build.distribution, buildVersion: build.version });
  const name = typeof build === 'string' ? build : (build.as ?? options!.targets[0]!.artifact.name);
  const src = mkdtempSync(join(dir, 'src-'));
  const files = ['Vagrantfile'];
  writeFileSync(join(src, 'Vagrantfile'), 'Vagrant.configure("2") do |config|\nend\n');
  if (metadata) {
    writeFileSync(join(src, 'metadata.json'), JSON.stringify(metadata));
    files.push('metadata.json');
  }
  const path = join(dir, name);
  tar.c({ gzip: true, file: path, cwd: src, sync: true }, files);
  if (options) writeFileSync(join(dir, companions(name).record), JSON.stringify(recordOf(options, { name, sha256: sha(path) })));
  return path;
}
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const boxes = (args: string[]) => boxesInProcess(['catalog', ...args]);

const arch = (profile: string, version: string, as?: string): Build => ({ profile, distribution: 'arch', version, as });
const libvirt1 = box(arch('vagrant-libvirt', '20251101.0'), { provider: 'libvirt', format: 'qcow2', virtual_size: 40 });
const vbox1 = box(arch('vagrant-virtualbox', '20251101.0'), { provider: 'virtualbox' });
const libvirt2 = box(arch('vagrant-libvirt', '20251123.0'), { provider: 'libvirt', format: 'qcow2', virtual_size: 40 });
const debian = box({ profile: 'vagrant-libvirt', distribution: 'debian', version: '20251123.0' }, { provider: 'libvirt' });
const noMeta = box(arch('vagrant-libvirt', '20251124.0'), null);
const lying = box(arch('vagrant-virtualbox', '20251125.0'), { provider: 'libvirt' });
const unnamed = box('my.box', { provider: 'libvirt' });
// Its name says 1999, another provider and Debian; its record says what it is.
const renamed = box(arch('vagrant-libvirt', '20251126.0', 'Debian-13-x86_64-virtualbox-1999.box'), { provider: 'libvirt' });
const text = join(dir, 'notes.box');
writeFileSync(text, 'not a box at all');
mkdirSync(join(dir, 'copy'));
const twin = join(dir, 'copy', 'Arch-Linux-x86_64-libvirt-20251123.0.box');
writeFileSync(twin, readFileSync(libvirt2));
writeFileSync(`${twin}.manifest.json`, readFileSync(`${libvirt2}.manifest.json`));

const BASE = ['--name', 'archlinux/archlinux', '--base-url', 'https://example.org/boxes/'];

describe('boxes catalog', () => {
  it('groups boxes by version with one entry per provider, checksums and architecture', async () => {
    const r = await boxes([...BASE, libvirt2, vbox1, libvirt1]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      name: 'archlinux/archlinux',
      description: 'Arch Linux, built reproducibly with mkosi and boxes',
      versions: [
        {
          version: '20251101.0',
          providers: [
            {
              name: 'libvirt',
              url: 'https://example.org/boxes/Arch-Linux-x86_64-libvirt-20251101.0.box',
              checksum_type: 'sha256',
              checksum: sha(libvirt1),
              architecture: 'amd64',
              default_architecture: true,
            },
            {
              name: 'virtualbox',
              url: 'https://example.org/boxes/Arch-Linux-x86_64-virtualbox-20251101.0.box',
              checksum_type: 'sha256',
              checksum: sha(vbox1),
              architecture: 'amd64',
              default_architecture: true,
            },
          ],
        },
        {
          version: '20251123.0',
          providers: [
            {
              name: 'libvirt',
              url: 'https://example.org/boxes/Arch-Linux-x86_64-libvirt-20251123.0.box',
              checksum_type: 'sha256',
              checksum: sha(libvirt2),
              architecture: 'amd64',
              default_architecture: true,
            },
          ],
        },
      ],
    });
  });

  it('takes version and distribution from the build record, never from the file name', async () => {
    const r = await boxes([...BASE, renamed, libvirt2]);
    expect(r.status, r.stderr).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.description).toBe('Arch Linux, built reproducibly with mkosi and boxes');
    expect(c.versions.map((v: { version: string; providers: { name: string }[] }) => [v.version, v.providers.map((p) => p.name)])).toEqual([
      ['20251123.0', ['libvirt']],
      ['20251126.0', ['libvirt']],
    ]);
  });

  it('writes the catalog to --output, and takes --version and --description for boxes named otherwise', async () => {
    const out = join(dir, 'catalog.json');
    const r = await boxes(['--name', 'me/box', '--base-url', 'file:///srv/boxes', '--version', '1.2.3', '--description', 'mine', '--output', out, unnamed]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const c = JSON.parse(readFileSync(out, 'utf8'));
    expect(c).toMatchObject({ name: 'me/box', description: 'mine', versions: [{ version: '1.2.3', providers: [{ name: 'libvirt', url: 'file:///srv/boxes/my.box' }] }] });
  });

  it.each([
    ['no boxes', [...BASE], /no boxes given: boxes catalog --name ORG\/NAME --base-url URL BOX/],
    ['no name', ['--base-url', 'https://example.org', libvirt1], /say the box name: --name ORG\/NAME/],
    ['a malformed base URL', ['--name', 'a/b', '--base-url', 'example.org/boxes', libvirt1], /--base-url: 'example\.org\/boxes' is not an http:\/\/, https:\/\/ or file:\/\/ URL/],
    ['a base URL of another scheme', ['--name', 'a/b', '--base-url', 'ftp://example.org', libvirt1], /--base-url: 'ftp:\/\/example\.org' is not/],
    ['a base URL with a query', ['--name', 'a/b', '--base-url', 'https://example.org/?x=1', libvirt1], /without query or fragment/],
    ['a bad box name', ['--name', 'a b', '--base-url', 'https://x.org', libvirt1], /--name: 'a b' must look like org\/name/],
    ['a file that is not a box', [...BASE, text], /notes\.box is not a Vagrant box: not a gzipped tar/],
    ['a box without metadata.json', [...BASE, noMeta], /is not a Vagrant box: it has no metadata\.json/],
    ['a box whose record and metadata disagree', [...BASE, lying], /was built as vagrant-virtualbox but its metadata\.json says libvirt/],
    ['a box without a version', [...BASE, unnamed], /cannot tell the version of my\.box \(it has no build record beside it: pass --version\)/],
    ['two distributions', [...BASE, libvirt2, debian], /a catalog describes one box, but these are of Arch Linux rolling and Debian trixie/],
    ['two boxes of one version and provider', [...BASE, libvirt2, twin], /are both version 20251123\.0 for libvirt/],
    ['a missing file', [...BASE, join(dir, 'gone.box')], /cannot read .*gone\.box/],
  ])('refuses %s with exit 2 and one line', async (_what, args, message) => {
    const r = await boxes(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });
});

describe('catalog parts', () => {
  it('orders versions numerically', () => {
    expect(['20251123.10', '20251123.2', '2025.1', '20251101.0'].sort(compareVersions)).toEqual(['2025.1', '20251101.0', '20251123.2', '20251123.10']);
  });

  it('joins base URL and file name', () => {
    expect(boxUrl('https://x.org/a/', 'b c.box')).toBe('https://x.org/a/b%20c.box');
    expect(boxUrl('file:///srv', 'b.box')).toBe('file:///srv/b.box');
  });

  it('makes one version entry per version', () => {
    const c = vagrantCatalog({
      name: 'n/b',
      description: 'd',
      baseUrl: 'https://x.org',
      boxes: [
        { file: 'b.box', version: '2', provider: 'virtualbox', sha256: 'b' },
        { file: 'a.box', version: '2', provider: 'libvirt', sha256: 'a' },
        { file: 'c.box', version: '1', provider: 'libvirt', sha256: 'c' },
      ],
    });
    expect(c.versions.map((v) => [v.version, v.providers.map((p) => p.name)])).toEqual([
      ['1', ['libvirt']],
      ['2', ['libvirt', 'virtualbox']],
    ]);
  });

  it("looks for Vagrant's insecure key where Vagrant keeps it", () => {
    const c = keyCandidates({ BOXES_VAGRANT_KEY: '/k' }, '/home/u', ['/gems/vagrant-2.3.4']);
    expect(c[0]).toBe('/k');
    expect(c).toContain('/home/u/.vagrant.d/insecure_private_key');
    expect(c).toContain('/gems/vagrant-2.3.4/keys/vagrant');
    expect(keyCandidates({ VAGRANT_HOME: '/vh' }, '/home/u', [])).toContain('/vh/insecure_private_keys/vagrant.key.ed25519');
  });
});
