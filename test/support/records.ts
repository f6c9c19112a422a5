// A build record as `boxes build` writes it, for tests that need one beside an artifact.
import { parseBuildOptions, type BuildOptions } from '../../src/plan/options.js';
import { makeRecord } from '../../src/record/record.js';
import type { BuildRecord } from '../../src/record/schema.js';

export function recordOf(options: BuildOptions, artifact: { name: string; sha256: string; size?: number }): BuildRecord {
  return makeRecord({
    toolVersion: '0.1.0',
    revision: 'abc',
    mkosiVersion: '25.3',
    toolsTree: { distribution: null, release: null, packages: [] },
    options,
    target: options.targets[0]!,
    seed: '0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7',
    packages: [],
    artifact: { size: 1, ...artifact },
  });
}

export const optionsFor = (profile: string, extra: Record<string, string> = {}) =>
  parseBuildOptions({ profile, distribution: 'debian', sourceDateEpoch: '1763856000', ...extra }, { now: new Date() });
