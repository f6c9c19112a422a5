import { describe, expect, it } from 'vitest';
import type { BuildRecord } from '../../src/record/schema.js';
import { archiveOf, packageDrift } from '../../src/verify/package-drift.js';

const deb = (name: string, version: string, architecture = 'amd64') => ({ type: 'deb', name, version, architecture });

/** The fields packageDrift reads; the rest of a record does not matter to it. */
function record(distribution: 'arch' | 'debian', packages: ReturnType<typeof deb>[], tools: string[] = []): BuildRecord {
  return { image: { distribution }, packages, toolsTree: { distribution: 'debian', release: 'trixie', packages: tools } } as unknown as BuildRecord;
}

describe('packageDrift', () => {
  it('is empty when the rebuild installed what the record lists', () => {
    const r = record('debian', [deb('bash', '5.2.37-2'), deb('tzdata', '2025b-4', 'all')], ['tar 1.35']);
    expect(packageDrift(r, record('debian', [deb('tzdata', '2025b-4', 'all'), deb('bash', '5.2.37-2')], ['tar 1.35']))).toEqual([]);
  });

  it('names an update, a package gone, a package new, and the tools tree, each with where the recorded version stays', () => {
    const then = record('debian', [deb('libzstd1', '1.5.7+dfsg-1'), deb('gone', '1')], ['tar 1.35', 'dpkg 1.22.21']);
    const now = record('debian', [deb('libzstd1', '1.5.7+dfsg-1+deb13u1'), deb('new', '2')], ['tar 1.35+1', 'dpkg 1.22.21', 'xz-utils 5.8']);
    expect(packageDrift(then, now)).toEqual([
      'libzstd1 1.5.7+dfsg-1 (recorded) is 1.5.7+dfsg-1+deb13u1 now; the recorded version: https://snapshot.debian.org/binary/libzstd1/',
      'gone 1 (recorded) was not installed this time; the recorded version: https://snapshot.debian.org/binary/gone/',
      'new 2 was installed this time; the record has no new',
      'tools tree: tar 1.35 (recorded) is 1.35+1 now',
      'tools tree: xz-utils 5.8 is new; the record has no xz-utils',
    ]);
  });

  it('points Arch packages at the Arch Linux Archive, and counts what it does not list', () => {
    expect(archiveOf('arch', 'zstd')).toBe('https://archive.archlinux.org/packages/z/zstd/');
    const many = Array.from({ length: 30 }, (_, i) => deb(`p${i}`, '1'));
    const lines = packageDrift(
      record('arch', many),
      record(
        'arch',
        many.map((p) => ({ ...p, version: '2' })),
      ),
    );
    expect(lines).toHaveLength(21);
    expect(lines.at(-1)).toBe('... and 10 more');
    expect(lines[0]).toBe('p0 1 (recorded) is 2 now; the recorded version: https://archive.archlinux.org/packages/p/p0/');
  });
});
