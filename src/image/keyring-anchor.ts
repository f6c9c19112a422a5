/**
 * `--keyring-anchor DIR`: another keyring trust anchor for Arch containers, in place of the tree's
 * (see scripts/keyring-anchor.sh). Checked before anything slow, so a wrong path is one line.
 */
import { join } from 'node:path';
import { UsageError } from '../system/errors.js';
import { pathKind, requirePath } from '../system/path-kind.js';

/** What scripts/keyring-anchor.sh writes and keyring.finalize reads: the anchor's public key, and one certification per master key. */
export const KEYRING_ANCHOR_ENTRIES = [
  { name: 'anchor.asc', directory: false },
  { name: 'certifications', directory: true },
] as const;

export async function checkKeyringAnchor(dir: string): Promise<void> {
  await requirePath('--keyring-anchor', dir, 'directory');
  const missing: string[] = [];
  for (const entry of KEYRING_ANCHOR_ENTRIES) {
    if ((await pathKind(join(dir, entry.name))) !== (entry.directory ? 'directory' : 'file')) missing.push(entry.directory ? `${entry.name}/` : entry.name);
  }
  if (missing.length > 0) throw new UsageError(`--keyring-anchor: ${dir} has no ${missing.join(' or ')}`, 'make one with scripts/keyring-anchor.sh -o DIR KEYRINGS_DIR');
}
