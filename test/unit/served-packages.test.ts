import { describe, expect, it } from 'vitest';
import { aptSources } from '../../src/image/sources.js';
import type { BuildRecord } from '../../src/record/schema.js';
import { indexReader, packagesIndexUrls, unservedPackages } from '../../src/verify/served-packages.js';

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

const record = (packages: [string, string, string][]) =>
  ({ image: { distribution: 'debian' }, packages: packages.map(([name, version, architecture]) => ({ type: 'deb', name, version, architecture })) }) as unknown as BuildRecord;

describe('what a live Debian mirror still serves', () => {
  it("asks every suite's xz index for the image's architecture: the mirror's, and the security archive's", () => {
    expect(packagesIndexUrls(aptSources({ release: 'trixie' }), 'x86-64')).toEqual([
      'http://deb.debian.org/debian/dists/trixie/main/binary-amd64/Packages.xz',
      'http://deb.debian.org/debian/dists/trixie-updates/main/binary-amd64/Packages.xz',
      'http://security.debian.org/debian-security/dists/trixie-security/main/binary-amd64/Packages.xz',
    ]);
    expect(packagesIndexUrls(aptSources({ release: 'sid', mirror: 'http://127.0.0.1:8080/debian/' }), 'x86-64')).toEqual([
      'http://127.0.0.1:8080/debian/dists/sid/main/binary-amd64/Packages.xz',
    ]);
  });

  it('reads each stanza whatever the order of its fields and however the text arrives, the last one without a blank line after it', () => {
    const served = new Set<string>();
    const reader = indexReader(served);
    // Chunks end inside lines and fields, as a pipe delivers them.
    for (let at = 0; at < INDEX.length; at += 7) reader.push(INDEX.slice(at, at + 7));
    reader.end();
    expect([...served].sort()).toEqual(['apt 3.0.3 amd64', 'bash 5.2.37-2 amd64', 'tzdata 2025b-4 all']);
  });

  it('names each recorded version the index lacks (another version, another architecture, no package), and where it stays', () => {
    const served = new Set<string>();
    const reader = indexReader(served);
    reader.push(INDEX);
    reader.end();
    const lines = unservedPackages(
      record([
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
    expect(unservedPackages(record([['apt', '3.0.3', 'amd64']]), served)).toEqual([]);
  });

  it('counts beyond twenty lines instead of listing them', () => {
    const many = record(Array.from({ length: 25 }, (_, i) => [`lib${i}`, '1.0', 'amd64'] as [string, string, string]));
    const lines = unservedPackages(many, new Set());
    expect(lines).toHaveLength(21);
    expect(lines.at(-1)).toBe('... and 5 more');
  });
});
