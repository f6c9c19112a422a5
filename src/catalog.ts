/** What boxes can build, as data: profiles, their variants and the artifacts they produce. */

export const DISTRIBUTIONS = ['arch', 'debian'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

export const VARIANTS = ['base', 'base-devel', 'multilib-devel'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface ProfileSpec {
  name: string;
  description: string;
  /** Variants the profile offers; the first is the default. Empty: the profile has none. */
  variants: readonly Variant[];
  /** Artifact file name pattern, for `boxes list`. */
  artifact: string;
}

export const PROFILES: readonly ProfileSpec[] = [
  {
    name: 'container',
    description: 'OCI container image (podman/docker load, skopeo), archlinux-docker parity',
    variants: VARIANTS,
    artifact: '<Prefix>-x86_64-container-<variant>-<version>.tar',
  },
];

export const DEFAULT_RELEASE: Record<Distribution, string> = { arch: 'rolling', debian: 'trixie' };

/** Container image names, as archlinux-docker and Debian publish them. */
export const IMAGE_NAME: Record<Distribution, string> = { arch: 'archlinux', debian: 'debian' };

export function findProfile(name: string): ProfileSpec | undefined {
  return PROFILES.find((p) => p.name === name);
}
