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
  /** What the artifact is: an OCI archive, a bootable disk, or a Vagrant box holding one (`boxes test` boots both). */
  kind: 'container' | 'disk' | 'box';
  /** The login `boxes test` uses; undefined where cloud-init creates it from the seed. */
  login?: Login;
  /** Vagrant boxes: the provider they are for. */
  provider?: 'libvirt' | 'virtualbox';
}

export interface Login {
  user: Record<Distribution, string>;
  /** SSH password login (the basic image, for local use). */
  password?: Record<Distribution, string>;
  /** Key login with Vagrant's insecure private key (Vagrant boxes). */
  vagrantKey?: boolean;
  /** Key login with a throwaway key handed over, with the hostname, as systemd credentials in
   *  SMBIOS, the way `boxes executor` boots each job (libvirt-executor). */
  credentials?: boolean;
}

const VAGRANT_LOGIN: Login = { user: { arch: 'vagrant', debian: 'vagrant' }, vagrantKey: true };

export const PROFILES: readonly ProfileSpec[] = [
  {
    name: 'container',
    description: 'OCI container image (podman/docker load, skopeo), archlinux-docker parity',
    variants: VARIANTS,
    kind: 'container',
  },
  {
    name: 'basic',
    description: 'qcow2 VM image, 40 GiB, user arch/arch (Debian: debian/debian) with passwordless sudo',
    variants: [],
    kind: 'disk',
    login: { user: { arch: 'arch', debian: 'debian' }, password: { arch: 'arch', debian: 'debian' } },
  },
  {
    name: 'cloud-init',
    description: 'qcow2 cloud image configured by cloud-init; root grows to the disk on first boot',
    variants: [],
    kind: 'disk',
  },
  {
    name: 'libvirt-executor',
    description: 'qcow2 guest for a GitLab custom libvirt executor: git, git-lfs, gitlab-runner, pinned kernel',
    variants: [],
    kind: 'disk',
    login: { user: { arch: 'root', debian: 'root' }, credentials: true },
  },
  {
    name: 'vagrant-libvirt',
    description: 'Vagrant box for vagrant-libvirt (qcow2): user vagrant/vagrant, insecure keys, passwordless sudo',
    variants: [],
    kind: 'box',
    login: VAGRANT_LOGIN,
    provider: 'libvirt',
  },
  {
    name: 'vagrant-virtualbox',
    description: 'Vagrant box for VirtualBox (OVF + streamOptimized VMDK): user vagrant/vagrant, insecure keys',
    variants: [],
    kind: 'box',
    login: VAGRANT_LOGIN,
    provider: 'virtualbox',
  },
];

export const DEFAULT_RELEASE: Record<Distribution, string> = { arch: 'rolling', debian: 'trixie' };

/** Container image names, as archlinux-docker and Debian publish them. */
export const IMAGE_NAME: Record<Distribution, string> = { arch: 'archlinux', debian: 'debian' };

/** How catalogs and descriptions name each distribution. */
export const DISTRIBUTION_TITLE: Record<Distribution, string> = { arch: 'Arch Linux', debian: 'Debian' };

export function findProfile(name: string): ProfileSpec | undefined {
  return PROFILES.find((p) => p.name === name);
}
