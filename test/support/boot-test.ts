// `boxes test` as the integration suites run it: the report, or an error that leads with boxes'
// own lines (the serial console tail after them can be long).
import { join } from 'node:path';
import { expect } from 'vitest';
import { boxesAsync, boxesRaw, type Finished } from './cli.js';

export interface TestJson {
  accel: { accel: string };
  results: { boot: string; check: string; ok: boolean }[];
}

const testArgs = (profile: string, artifact: string, dir: string, extra: string[]) => [
  'test',
  '--profile',
  profile,
  '--artifact',
  artifact,
  '--output-dir',
  join(dir, 'test-logs'),
  '--json',
  ...extra,
];

/** Boots ARTIFACT as PROFILE with `boxes test --json`, its logs under DIR/test-logs. */
export function boxesTest(profile: string, artifact: string, dir: string, extra: string[] = []): TestJson {
  return report(profile, boxesRaw(testArgs(profile, artifact, dir, extra)));
}

/** boxesTest beside one other VM at most (see boxesAsync). */
export async function boxesTestAsync(profile: string, artifact: string, dir: string, extra: string[] = []): Promise<TestJson> {
  return report(profile, await boxesAsync(testArgs(profile, artifact, dir, extra)));
}

function report(profile: string, r: Finished): TestJson {
  if (r.status !== 0) {
    const own = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('boxes:'))
      .join('\n');
    throw new Error(`boxes test --profile ${profile} exited ${r.status}\n${own}\n${r.stderr.slice(-3000)}`);
  }
  return JSON.parse(r.stdout) as TestJson;
}

/** One boot, under FIRMWARE, without the comparison of two boots' identities (the basic suite's). */
export const ONE_BOOT = (firmware: 'bios' | 'uefi') => ['--firmware', firmware, '--check', '-first-boot-identity'];

/** The run booted once, as BOOT, and passed every one of CHECKS there. */
export function expectOneBoot(report: TestJson, boot: string, checks: string[]): void {
  for (const check of checks) expect(report.results, check).toContainEqual(expect.objectContaining({ boot, check, ok: true }));
  expect(new Set(report.results.map((r) => r.boot))).toEqual(new Set([boot]));
}
