/**
 * `--keyring-anchor DIR`: another keyring trust anchor for Arch containers, in place of the tree's
 * (see scripts/keyring-anchor.sh). Checked before anything slow, so a wrong path is one line.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../system/errors.js';

/** What scripts/keyring-anchor.sh writes and keyring.finalize reads: the anchor's public key, and one certification per master key. */
export const KEYRING_ANCHOR_ENTRIES = [
  { name: 'anchor.asc', directory: false },
  { name: 'certifications', directory: true },
] as const;

async function kind(path: string): Promise<'file' | 'directory' | undefined> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'directory' : 'file';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

export async function checkKeyringAnchor(dir: string): Promise<void> {
  const missing: string[] = [];
  for (const entry of KEYRING_ANCHOR_ENTRIES) {
    if ((await kind(join(dir, entry.name))) !== (entry.directory ? 'directory' : 'file')) missing.push(entry.directory ? `${entry.name}/` : entry.name);
  }
  if (missing.length > 0) throw new UsageError(`keyring anchor ${dir} has no ${missing.join(' or ')}`, 'make one with scripts/keyring-anchor.sh -o DIR KEYRINGS_DIR');
}
