/** Which distribution the host runs, read from os-release: the default of `--distribution`. */
import { readFile } from 'node:fs/promises';
import type { Distribution } from './profiles.js';
import { isMissing } from '../system/expected.js';

/** Like mkosi: an Arch host builds Arch, a Debian host builds Debian; others must choose. */
export function distributionFromOsRelease(text: string): Distribution | undefined {
  const field = (k: string) => new RegExp(`^${k}=["']?([^"'\\n]*)`, 'm').exec(text)?.[1] ?? '';
  const ids = [field('ID'), ...field('ID_LIKE').split(/\s+/)];
  if (ids.includes('arch')) return 'arch';
  if (field('ID') === 'debian') return 'debian';
  return undefined;
}

export async function hostDistribution(): Promise<Distribution | undefined> {
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      return distributionFromOsRelease(await readFile(path, 'utf8'));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return undefined;
}
