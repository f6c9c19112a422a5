// Vitest global setup: one scratch directory per test run, for every temporary file the tests make
// (TMPDIR for the unit tests' mkdtemp, BOXES_TEST_SCRATCH for the integration suites' work
// directories), removed when the run ends. BOXES_KEEP_SCRATCH=1 keeps it to look at after a failure.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): () => void {
  // /var/tmp: the integration suites write disk images larger than a tmpfs /tmp may hold.
  const dir = mkdtempSync(join('/var/tmp', 'boxes-tests-'));
  // The rootless test user builds into work directories below it.
  chmodSync(dir, 0o755);
  process.env.BOXES_TEST_SCRATCH = dir;
  process.env.TMPDIR = dir;
  return () => {
    if (process.env.BOXES_KEEP_SCRATCH === '1') console.log(`test scratch kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
