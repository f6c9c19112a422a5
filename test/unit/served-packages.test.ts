import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { describe, expect, it } from 'vitest';
import { indexReader } from '../../src/adapters/debian-packages-index.js';
import { descFields, readPacmanDb } from '../../src/adapters/pacman-db.js';
import type { BuildRecord } from '../../src/record/schema.js';
import { indexUrls, unservedPackages } from '../../src/verify/served-packages.js';

const INDEX = `Package: apt
Version: 3.0.3
Architecture: amd64
Maintainer: APT Development Team <deity@lists.debian.org>

Package: tzdata
Architecture: all
Version: 2025b-4

Package: bash
Source: bash
Version: 5.2.37-2
Architecture: amd64`;

type Image = BuildRecord['image'];
const image = (distribution: Image['distribution'], release: string) => ({ distribution, release, architecture: 'x86-64' }) as Image;
const record = (distribution: Image['distribution'], packages: [string, string, string][]) =>
  ({ image: image(distribution, 'trixie'), packages: packages.map(([name, version, architecture]) => ({ type: 'deb', name, version, architecture })) }) as unknown as BuildRecord;
const keys = (packages: [string, string, string][]) => new Set(packages.map((p) => p.join(' ')));

describe('what a live mirror still serves', () => {
  it("asks Debian's every suite for its xz index of the image's architecture (the mirror's and the security archive's), Arch's every repository for its database", () => {
    expect(indexUrls(image('debian', 'trixie'), undefined)).toEqual([
      'http://deb.debian.org/debian/dists/trixie/main/binary-amd64/Packages.xz',
      'http://deb.debian.org/debian/dists/trixie-updates/main/binary-amd64/Packages.xz',
      'http://security.debian.org/debian-security/dists/trixie-security/main/binary-amd64/Packages.xz',
    ]);
    expect(indexUrls(image('debian', 'sid'), 'http://127.0.0.1:8080/debian/')).toEqual(['http://127.0.0.1:8080/debian/dists/sid/main/binary-amd64/Packages.xz']);
    expect(indexUrls(image('arch', 'rolling'), 'https://mirror.example/arch/')).toEqual([
      'https://mirror.example/arch/core/os/x86_64/core.db',
      'https://mirror.example/arch/extra/os/x86_64/extra.db',
      'https://mirror.example/arch/multilib/os/x86_64/multilib.db',
    ]);
  });

  it("reads Debian's stanzas whatever the order of their fields and however the text arrives, the last one without a blank line after it", () => {
    const served: string[] = [];
    const reader = indexReader((...p) => served.push(p.join(' ')));
    // Chunks end inside lines and fields, as a pipe delivers them.
    for (let at = 0; at < INDEX.length; at += 7) reader.push(INDEX.slice(at, at + 7));
    reader.end();
    expect(served.sort()).toEqual(['apt 3.0.3 amd64', 'bash 5.2.37-2 amd64', 'tzdata 2025b-4 all']);
  });

  it("reads an Arch database's desc files, gzipped or plain", async () => {
    expect(descFields('%FILENAME%\npacman-7.0.0-1-x86_64.pkg.tar.zst\n\n%NAME%\npacman\n\n%DEPENDS%\nbash\nglibc\n\n%VERSION%\n7.0.0-1\n')).toEqual(
      new Map([
        ['FILENAME', 'pacman-7.0.0-1-x86_64.pkg.tar.zst'],
        ['NAME', 'pacman'],
        ['DEPENDS', 'bash'],
        ['VERSION', '7.0.0-1'],
      ]),
    );
    const dir = mkdtempSync(join(tmpdir(), 'boxes-pacman-db-'));
    const entries = [
      ['pacman-7.0.0-1', 'pacman', '7.0.0-1', 'x86_64'],
      ['tzdata-2025b-1', 'tzdata', '2025b-1', 'any'],
    ];
    for (const [dirName, name, version, arch] of entries) {
      mkdirSync(join(dir, 'db', dirName!), { recursive: true });
      writeFileSync(join(dir, 'db', dirName!, 'desc'), `%NAME%\n${name}\n\n%VERSION%\n${version}\n\n%ARCH%\n${arch}\n\n%BUILDDATE%\n1763856000\n`);
    }
    for (const gzip of [true, false]) {
      const file = join(dir, gzip ? 'core.db.tar.gz' : 'core.db.tar');
      await tar.c(
        { gzip, file, cwd: join(dir, 'db'), portable: true },
        entries.map((e) => e[0]!),
      );
      const served: string[] = [];
      await readPacmanDb(readFileSync(file), (...p) => served.push(p.join(' ')));
      expect(served.sort(), file).toEqual(['pacman 7.0.0-1 x86_64', 'tzdata 2025b-1 any']);
    }
  });

  it('names each recorded version the index lacks (another version, another architecture, no package), and where it stays', () => {
    const served = keys([
      ['apt', '3.0.3', 'amd64'],
      ['bash', '5.2.37-2', 'amd64'],
      ['tzdata', '2025b-4', 'all'],
    ]);
    const lines = unservedPackages(
      record('debian', [
        ['apt', '3.0.3', 'amd64'],
        ['bash', '5.2.37-1', 'amd64'],
        ['tzdata', '2025b-4', 'amd64'],
        ['zstd', '1.5.7+dfsg-1', 'amd64'],
      ]),
      served,
    );
    expect(lines).toEqual([
      'bash 5.2.37-1 (amd64) is not in the archive now; the recorded version: https://snapshot.debian.org/binary/bash/',
      'tzdata 2025b-4 (amd64) is not in the archive now; the recorded version: https://snapshot.debian.org/binary/tzdata/',
      'zstd 1.5.7+dfsg-1 (amd64) is not in the archive now; the recorded version: https://snapshot.debian.org/binary/zstd/',
    ]);
    expect(unservedPackages(record('debian', [['apt', '3.0.3', 'amd64']]), served)).toEqual([]);
    expect(unservedPackages(record('arch', [['pacman', '7.0.0-1', 'x86_64']]), keys([['pacman', '7.0.1-1', 'x86_64']]))).toEqual([
      'pacman 7.0.0-1 (x86_64) is not in the archive now; the recorded version: https://archive.archlinux.org/packages/p/pacman/',
    ]);
  });

  it('counts beyond twenty lines instead of listing them', () => {
    const lines = unservedPackages(
      record(
        'debian',
        Array.from({ length: 25 }, (_, i) => [`lib${i}`, '1.0', 'amd64']),
      ),
      new Set(),
    );
    expect(lines).toHaveLength(21);
    expect(lines.at(-1)).toBe('... and 5 more');
  });
});
