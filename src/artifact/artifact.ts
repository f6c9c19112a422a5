/**
 * An artifact as data: its identity (distribution, release, architecture, profile, variant,
 * version) and the name of every file it emits. A build describes each target once; the post-output
 * hooks receive the names through mkosi's environment (hookEnvironment) instead of deriving them,
 * the build record carries the identity, and every reader takes it from the record. Nothing
 * parses a file name back. A new architecture or profile is a row in a table here.
 */
import { z } from 'zod';
import { signatureName } from '../adapters/gpg-sign.js';
import { DISTRIBUTIONS, findProfile, IMAGE_NAME, VARIANTS, type Distribution, type ProfileSpec } from './profiles.js';

/** mkosi's architecture words: the key every other table uses. */
export const ARCHITECTURES = ['x86-64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
export const DEFAULT_ARCHITECTURE: Architecture = 'x86-64';

/** What each format calls an architecture: file names per distribution, OCI, Vagrant, QEMU, Debian's archive. */
export const ARCHITECTURE_WORDS: Readonly<Record<Architecture, { name: Record<Distribution, string>; oci: string; vagrant: string; qemu: string; dpkg: string }>> = {
  'x86-64': { name: { arch: 'x86_64', debian: 'x86_64' }, oci: 'amd64', vagrant: 'amd64', qemu: 'x86_64', dpkg: 'amd64' },
};

const DEBIAN_RELEASE_NUMBERS: Readonly<Record<string, string>> = { bullseye: '11', bookworm: '12', trixie: '13', forky: '14', duke: '15' };

/** The word a profile's artifacts carry after the prefix (arch-boxes: cloudimg, libvirt, virtualbox). */
const NAME_WORD: Readonly<Record<string, string>> = {
  basic: 'basic',
  'cloud-init': 'cloudimg',
  'libvirt-executor': 'libvirt-executor',
  'vagrant-libvirt': 'libvirt',
  'vagrant-virtualbox': 'virtualbox',
};

const EXTENSION: Readonly<Record<ProfileSpec['kind'], string>> = { container: 'tar', disk: 'qcow2', box: 'box' };

export const artifactIdentitySchema = z.object({
  distribution: z.enum(DISTRIBUTIONS),
  release: z.string().min(1),
  architecture: z.enum(ARCHITECTURES),
  profile: z.string().refine((p) => findProfile(p) !== undefined, { error: 'unknown profile' }),
  variant: z.enum(VARIANTS).optional(),
  version: z.string().min(1),
});
export type ArtifactIdentity = z.infer<typeof artifactIdentitySchema>;

/** The files that travel with an artifact, named after it. */
export interface Companions {
  checksum: string;
  record: string;
  sbom: string;
  signature: string;
  /** Container archives: the OCI manifest digest the hook writes. */
  digest: string;
  /** What `boxes verify` or `boxes reproduce` writes when a second build gave the same bytes. */
  statement: string;
}

export interface Artifact extends ArtifactIdentity {
  kind: ProfileSpec['kind'];
  /** The file the build delivers. */
  name: string;
  files: Companions;
  /** Container archives: the image name and its tags (archlinux-docker's `<variant>` and `<variant>-<version>`). */
  image?: { name: string; tags: string[] };
}

export const companions = (name: string): Companions => ({
  checksum: `${name}.SHA256`,
  record: `${name}.manifest.json`,
  sbom: `${name}.spdx.json`,
  signature: signatureName(name),
  digest: `${name}.digest`,
  statement: `${name}.reproduced.json`,
});

/** `Arch-Linux` or `Debian-<release number>` (the release's name where it has no number yet). */
export function namePrefix(distribution: Distribution, release: string): string {
  return distribution === 'arch' ? 'Arch-Linux' : `Debian-${DEBIAN_RELEASE_NUMBERS[release] ?? release}`;
}

/** The one place an artifact's name is composed; `boxes list` renders it with placeholders. */
export function composeName(parts: { prefix: string; architecture: string; profile: string; variant?: string; version: string }): string {
  const spec = findProfile(parts.profile);
  if (!spec) throw new Error(`no artifact name for profile ${parts.profile}`);
  const word = spec.kind === 'container' ? `container-${parts.variant ?? spec.variants[0]}` : NAME_WORD[spec.name];
  return `${parts.prefix}-${parts.architecture}-${word}-${parts.version}.${EXTENSION[spec.kind]}`;
}

export function describeArtifact(input: ArtifactIdentity): Artifact {
  const id = artifactIdentitySchema.parse(input);
  const spec = findProfile(id.profile)!;
  const variant = spec.kind === 'container' ? (id.variant ?? spec.variants[0]) : undefined;
  const name = composeName({
    prefix: namePrefix(id.distribution, id.release),
    architecture: ARCHITECTURE_WORDS[id.architecture].name[id.distribution],
    profile: id.profile,
    variant,
    version: id.version,
  });
  const image = variant ? { name: IMAGE_NAME[id.distribution], tags: [variant, `${variant}-${id.version}`] } : undefined;
  return { ...id, variant, kind: spec.kind, name, files: companions(name), ...(image ? { image } : {}) };
}

/**
 * What the post-output hooks are told, as mkosi `--environment=` values: the file to write and,
 * for a container, the image name, tags (comma-separated: mkosi splits Environment= values at
 * whitespace) and OCI architecture.
 */
export function hookEnvironment(a: Artifact): string[] {
  const env = [`BOXES_ARTIFACT=${a.name}`];
  if (a.image)
    env.push(
      `BOXES_IMAGE_NAME=${a.image.name}`,
      `BOXES_IMAGE_TAGS=${a.image.tags.join(',')}`,
      `BOXES_IMAGE_VARIANT=${a.variant ?? ''}`,
      `BOXES_OCI_ARCHITECTURE=${ARCHITECTURE_WORDS[a.architecture].oci}`,
    );
  return env;
}
