/** Artifact names, build versions and default timestamps (arch-boxes / archlinux-docker conventions). */
import type { Distribution, Variant } from './profiles.js';

const DEBIAN_RELEASE_NUMBERS: Record<string, string> = {
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
  duke: '15',
};

/** Mirrors postout/oci-archive.sh: Debian names carry the release number, Arch is rolling. */
export function namePrefix(distribution: Distribution, release: string): string {
  if (distribution === 'arch') return 'Arch-Linux';
  return `Debian-${DEBIAN_RELEASE_NUMBERS[release] ?? release}`;
}

/** The prefix of every artifact name, as a regular expression source (one capture group). */
export const PREFIX_PATTERN = '(Arch-Linux|Debian-[\\w.]+)';

export interface ArtifactNameInput {
  profile: string;
  distribution: Distribution;
  release: string;
  variant?: Variant;
  version: string;
}

/** The word a disk profile's images carry in their names (arch-boxes calls the cloud image cloudimg). */
export const DISK_KIND: Readonly<Record<string, string>> = { basic: 'basic', 'cloud-init': 'cloudimg', 'libvirt-executor': 'libvirt-executor' };

/** The provider word a Vagrant box carries in its name (arch-boxes: `-libvirt-`, `-virtualbox-`). */
export const BOX_KIND: Readonly<Record<string, string>> = { 'vagrant-libvirt': 'libvirt', 'vagrant-virtualbox': 'virtualbox' };

export function artifactName(input: ArtifactNameInput): string {
  const prefix = `${namePrefix(input.distribution, input.release)}-x86_64`;
  if (input.profile === 'container') return `${prefix}-container-${input.variant ?? 'base'}-${input.version}.tar`;
  const box = BOX_KIND[input.profile];
  if (box) return `${prefix}-${box}-${input.version}.box`;
  const kind = DISK_KIND[input.profile];
  if (!kind) throw new Error(`no artifact name for profile ${input.profile}`);
  return `${prefix}-${kind}-${input.version}.qcow2`;
}

/** `YYYYMMDD.0` of the epoch's UTC date. */
export function buildVersionFromEpoch(epoch: number): string {
  const d = new Date(epoch * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}.0`;
}

/** archlinux-docker's convention: builds on the same UTC day share a timestamp. */
export function startOfUtcDay(now: Date): number {
  return Math.floor(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) / 1000);
}

/** Parses YYYY-MM-DD strictly; undefined for impossible dates such as 2025-02-30. */
export function parseSnapshotDate(value: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return undefined;
  return date;
}
