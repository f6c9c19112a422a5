/**
 * The host programs that read disk images for `boxes audit` (and so for every disk build): found on
 * PATH or in the sbin directories that a normal user's PATH often lacks.
 */
import { PrerequisiteError } from '../system/errors.js';
import { findTool } from '../system/which.js';

export const DISK_TOOLS = { 'qemu-img': 'qemu-utils', sfdisk: 'fdisk', debugfs: 'e2fsprogs', e2fsck: 'e2fsprogs', mcopy: 'mtools', minfo: 'mtools' } as const;
export type DiskTool = keyof typeof DISK_TOOLS;

/** Absolute paths of the disk tools; one usage error naming every missing package. */
export async function diskTools(): Promise<Record<DiskTool, string>> {
  const found: Partial<Record<DiskTool, string>> = {};
  const missing: string[] = [];
  for (const [tool, pkg] of Object.entries(DISK_TOOLS) as [DiskTool, string][]) {
    const path = await findTool(tool);
    if (path) found[tool] = path;
    else if (!missing.includes(pkg)) missing.push(pkg);
  }
  if (missing.length > 0) throw new PrerequisiteError(`reading disk images (the audit of every disk build) needs ${missing.join(' ')}`, `apt-get install ${missing.join(' ')}`);
  return found as Record<DiskTool, string>;
}
