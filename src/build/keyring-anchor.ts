/**
 * `--keyring-anchor DIR`: another keyring trust anchor for Arch containers, in place of the tree's
 * (see scripts/keyring-anchor.sh). Checked before anything slow, so a wrong path is one line.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../system/errors.js';

/** What scripts/keyring-anchor.sh writes, and keyring.finalize reads. */
export const KEYRING_ANCHOR_FILES = ['anchor.asc', 'certifications.asc', 'certified'] as const;

export async function checkKeyringAnchor(dir: string): Promise<void> {
  const hint = 'make one with scripts/keyring-anchor.sh -o DIR KEYRINGS_DIR';
  const missing: string[] = [];
  for (const name of KEYRING_ANCHOR_FILES) {
    const found = await stat(join(dir, name)).then(
      (s) => s.isFile(),
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return false;
        throw error;
      },
    );
    if (!found) missing.push(name);
  }
  if (missing.length > 0) throw new UsageError(`keyring anchor ${dir} has no ${missing.join(', ')}`, hint);
}
