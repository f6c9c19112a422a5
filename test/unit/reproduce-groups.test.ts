// Which records `boxes reproduce` rebuilds together: one build per set of equal inputs, each
// profile at most once in it, in the order the records were given.
import { describe, expect, it } from 'vitest';
import { groupRecords } from '../../src/verify/reproduce.js';
import type { BuildRecord } from '../../src/record/schema.js';
import { optionsFor, recordOf } from '../support/records.js';

const loaded = (path: string, profile: string, extra: Record<string, string> = {}) => ({
  path,
  record: recordOf(optionsFor(profile, extra), { name: path, sha256: '0'.repeat(64) }),
});
/** What the grouping compares: the record's options but its profile (as reproduce derives them). */
const inputs = (r: BuildRecord) => ({ epoch: r.image.sourceDateEpoch, version: r.image.buildVersion, distribution: r.image.distribution });
const paths = (groups: { members: { path: string }[] }[]) => groups.map((g) => g.members.map((m) => m.path));

describe('groupRecords', () => {
  it('rebuilds a release in one build: every profile of the same inputs together, the container with its variant', () => {
    const records = [loaded('a', 'basic'), loaded('b', 'container', { variant: 'base-devel' }), loaded('c', 'vagrant-libvirt'), loaded('d', 'vagrant-virtualbox')];
    const groups = groupRecords(records, inputs);
    expect(paths(groups)).toEqual([['a', 'b', 'c', 'd']]);
    expect(groups[0]!.variant).toBe('base-devel');
  });

  it('splits records whose inputs differ, one profile given twice, and two variants', () => {
    const records = [
      loaded('a', 'basic'),
      loaded('b', 'basic', { buildVersion: '20251124.0' }),
      loaded('c', 'cloud-init'),
      loaded('d', 'container', { variant: 'base' }),
      loaded('e', 'container', { variant: 'base-devel' }),
    ];
    const groups = groupRecords(records, inputs);
    expect(paths(groups)).toEqual([['a', 'c', 'd'], ['b'], ['e']]);
    expect(groups.map((g) => g.variant)).toEqual(['base', undefined, 'base-devel']);
  });

  it('puts a later record with the same profile into the next group that lacks it', () => {
    const records = [
      loaded('a', 'basic'),
      loaded('b', 'basic', { buildVersion: '20251124.0' }),
      loaded('c', 'basic', { buildVersion: '20251124.0' }),
      loaded('d', 'cloud-init', { buildVersion: '20251124.0' }),
    ];
    expect(paths(groupRecords(records, inputs))).toEqual([['a'], ['b', 'd'], ['c']]);
  });
});
