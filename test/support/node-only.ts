// Vitest global setup of the unit project: PATH holds node and nothing else, so a unit test that
// starts any other program (qemu-img, tar, sh, the built CLI through a shell) fails instead of
// quietly needing the host. Runs after scratch.ts, inside its scratch directory.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export default function setup(): void {
  const bin = join(process.env.BOXES_TEST_SCRATCH ?? '/var/tmp', 'node-only-bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(process.execPath, join(bin, 'node'));
  process.env.PATH = bin;
}
