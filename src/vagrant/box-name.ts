/** Vagrant box file names: `<Prefix>-x86_64-<provider>-<version>.box` (arch-boxes' convention). */
import type { Distribution } from '../artifact/profiles.js';
import { BOX_KIND, PREFIX_PATTERN } from '../artifact/naming.js';

const PROVIDERS = Object.values(BOX_KIND).join('|');
const BOX_NAME = new RegExp(`^${PREFIX_PATTERN}-x86_64-(${PROVIDERS})-(.+)\\.box$`);

export interface BoxName {
  /** `Arch-Linux` or `Debian-<release number>`. */
  prefix: string;
  distribution: Distribution;
  /** The boxes profile that builds it. */
  profile: string;
  provider: string;
  version: string;
}

export function parseBoxName(name: string): BoxName | undefined {
  const m = BOX_NAME.exec(name);
  if (!m) return undefined;
  const provider = m[2]!;
  const profile = Object.keys(BOX_KIND).find((p) => BOX_KIND[p] === provider)!;
  return { prefix: m[1]!, distribution: m[1] === 'Arch-Linux' ? 'arch' : 'debian', profile, provider, version: m[3]! };
}
