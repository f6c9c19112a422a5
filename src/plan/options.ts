/** Command-line input -> validated build options. Pure: the clock and host facts are passed in. */
import { resolve } from 'node:path';
import { z } from 'zod';
import { DEFAULT_RELEASE, DISTRIBUTIONS, PROFILES, findProfile, type Distribution, type Variant } from '../artifact/profiles.js';
import { UsageError } from '../system/errors.js';
import { optionProblems } from '../system/option-problems.js';
import { DEFAULT_ARCHITECTURE, describeArtifact, type Artifact } from '../artifact/artifact.js';
import { buildVersionFromEpoch, parseSnapshotDate, startOfUtcDay } from '../artifact/build-version.js';

export interface RawBuildOptions {
  profile?: string;
  all?: boolean;
  distribution?: string;
  release?: string;
  variant?: string;
  mirror?: string;
  snapshot?: string;
  sourceDateEpoch?: string;
  seed?: string;
  buildVersion?: string;
  outputDir?: string;
  repositoryKeyCheck?: boolean;
  toolsTree?: string;
  keyringAnchor?: string;
  qcow2Compression?: string;
  jobs?: string;
  sign?: string;
  json?: boolean;
  verbose?: boolean;
  dryRun?: boolean;
  singleUid?: boolean;
}

export interface BuildTarget {
  profile: string;
  variant?: Variant;
  /** What this target emits, described once here and passed along (hooks, record, delivery). */
  artifact: Artifact;
}

export interface BuildOptions {
  targets: BuildTarget[];
  distribution: Distribution;
  release: string;
  mirror?: string;
  snapshot?: string;
  sourceDateEpoch: number;
  seed?: string;
  buildVersion: string;
  outputDir: string;
  repositoryKeyCheck: boolean;
  toolsTree?: string;
  /** Arch: a keyring trust anchor directory in place of the tree's (absolute). */
  keyringAnchor?: string;
  /** GnuPG key that signs each artifact. */
  sign?: string;
  json: boolean;
  verbose: boolean;
  dryRun: boolean;
  /** Rootless without subordinate ids: mkosi maps one uid and cannot chown. */
  singleUid: boolean;
  /** How the qcow2 disk images compress their clusters (zlib: readable by every QEMU). */
  qcow2Compression: Qcow2Compression;
  /** How many image builds may run at once (bytes never depend on it). */
  jobs: number;
}

export const QCOW2_COMPRESSIONS = ['zlib', 'zstd'] as const;
export type Qcow2Compression = (typeof QCOW2_COMPRESSIONS)[number];
export const DEFAULT_QCOW2_COMPRESSION: Qcow2Compression = 'zlib';

export interface Context {
  now: Date;
  /** Distribution of the host, when boxes can build it (mkosi's default). */
  hostDistribution?: Distribution;
  /** The CPUs boxes may use: the default --jobs (1 when not said). */
  cpus?: number;
}

/** More builds at once than this only wait on each other's disks. */
export const MAX_JOBS = 64;

/** 9999-12-31 23:59:59 UTC: build versions are YYYYMMDD. */
const MAX_EPOCH = 253402300799;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const profileNames = PROFILES.map((p) => p.name).join(', ');

const raw = z
  .object({
    profile: z.string().optional(),
    all: z.boolean().optional(),
    distribution: z
      .string()
      .refine((d) => (DISTRIBUTIONS as readonly string[]).includes(d), {
        error: (i) => `unknown distribution '${String(i.input)}' (use one of: ${DISTRIBUTIONS.join(', ')})`,
      })
      .optional(),
    release: z
      .string()
      .regex(/^[a-z0-9.-]+$/, { error: 'must be a release name like trixie or bookworm' })
      .optional(),
    variant: z.string().optional(),
    mirror: z
      .string()
      .refine((m) => /^(https?|file):\/\/\S+$/.test(m) && URL.canParse(m), {
        error: 'must be an http://, https:// or file:// URL',
      })
      .optional(),
    snapshot: z
      .string()
      .refine((s) => parseSnapshotDate(s) !== undefined, {
        error: (i) => `'${String(i.input)}' is not a real date (use YYYY-MM-DD, e.g. 2025-01-15)`,
      })
      .optional(),
    sourceDateEpoch: z
      .string()
      .regex(/^\d+$/, { error: 'must be a non-negative integer (seconds since 1970)', abort: true })
      .refine((s) => Number(s) <= MAX_EPOCH, { error: `must be at most ${MAX_EPOCH} (9999-12-31, the last day a build version YYYYMMDD can name)` })
      .optional(),
    seed: z.string().regex(UUID, { error: 'must be a UUID such as 0e6b1c4d-7f52-4a39-9d0e-5b8a2c61f3e7' }).optional(),
    buildVersion: z
      .string()
      .regex(/^[0-9A-Za-z][0-9A-Za-z._+-]*$/, { error: 'may hold only letters, digits and ._+-, starting with a letter or digit' })
      .optional(),
    outputDir: z.string().min(1, { error: 'must not be empty' }).optional(),
    repositoryKeyCheck: z.boolean().optional(),
    toolsTree: z.string().min(1, { error: 'needs a directory' }).optional(),
    keyringAnchor: z.string().min(1, { error: 'needs a directory' }).optional(),
    qcow2Compression: z.enum(QCOW2_COMPRESSIONS, { error: (i) => `must be zlib or zstd, not '${String(i.input)}'` }).optional(),
    jobs: z
      .string()
      .regex(/^\d+$/, { error: 'must be a whole number of builds', abort: true })
      .refine((s) => Number(s) >= 1 && Number(s) <= MAX_JOBS, { error: `must be from 1 to ${MAX_JOBS}` })
      .optional(),
    sign: z
      .string()
      .regex(/^[^\s-][^\s]*$/, { error: 'needs a GnuPG key id, fingerprint or e-mail address' })
      .optional(),
    json: z.boolean().optional(),
    verbose: z.boolean().optional(),
    dryRun: z.boolean().optional(),
    singleUid: z.boolean().optional(),
  })
  .superRefine((o, ctx) => {
    if (o.all && o.profile) ctx.addIssue({ code: 'custom', path: ['profile'], message: 'use either --profile or --all' });
    if (!o.all && !o.profile) ctx.addIssue({ code: 'custom', path: ['profile'], message: `say what to build: --profile P (one of: ${profileNames}) or --all` });
    for (const name of o.profile?.split(',') ?? []) {
      if (!findProfile(name)) ctx.addIssue({ code: 'custom', path: ['profile'], message: `unknown profile '${name}' (valid: ${profileNames})` });
    }
    if (o.snapshot && parseSnapshotDate(o.snapshot) && parseSnapshotDate(o.snapshot)!.getTime() > Date.now())
      ctx.addIssue({ code: 'custom', path: ['snapshot'], message: `${o.snapshot} lies in the future` });
    if (o.distribution === 'arch' && o.release && o.release !== 'rolling')
      ctx.addIssue({ code: 'custom', path: ['release'], message: 'Arch Linux has only the release "rolling"' });
  });

/** Validates everything and reports every problem at once, one per line. */
export function parseBuildOptions(input: RawBuildOptions, context: Context): BuildOptions {
  const result = raw.safeParse(input);
  if (!result.success) {
    throw new UsageError(optionProblems(result.error).join('; '));
  }
  const o = result.data;
  const distribution = (o.distribution as Distribution | undefined) ?? context.hostDistribution;
  if (!distribution) {
    throw new UsageError('cannot tell which distribution to build on this host', 'pass --distribution arch or --distribution debian');
  }
  if (o.keyringAnchor !== undefined && distribution !== 'arch') throw new UsageError('--keyring-anchor applies to Arch builds only', 'drop it, or pass --distribution arch');
  const profiles = o.all ? PROFILES.map((p) => p.name) : [...new Set(o.profile!.split(','))];
  const specs = profiles.map((name) => findProfile(name)!);
  if (o.qcow2Compression !== undefined && !specs.some((s) => s.kind === 'disk'))
    throw new UsageError('--qcow2-compression applies to the qcow2 images (basic, cloud-init, libvirt-executor) only', 'drop it, or build one of them');
  if (o.variant !== undefined && specs.every((s) => s.variants.length === 0))
    throw new UsageError(`${profiles.join(', ')} ${profiles.length > 1 ? 'have' : 'has'} no variants (drop --variant)`);
  const chosen: Pick<BuildTarget, 'profile' | 'variant'>[] = specs.map((spec) => {
    const name = spec.name;
    // --variant picks the container variant; profiles without variants ignore it.
    if (o.variant !== undefined && spec.variants.length > 0) {
      if (!(spec.variants as readonly string[]).includes(o.variant)) throw new UsageError(`profile ${name} has no variant '${o.variant}' (valid: ${spec.variants.join(', ')})`);
      return { profile: name, variant: o.variant as Variant };
    }
    return spec.variants.length > 0 ? { profile: name, variant: spec.variants[0] } : { profile: name };
  });
  // --all is the release matrix: every variant of a profile that has variants, unless --variant picks one.
  if (o.all && o.variant === undefined)
    chosen.splice(
      0,
      chosen.length,
      ...specs.flatMap((spec): Pick<BuildTarget, 'profile' | 'variant'>[] =>
        spec.variants.length > 0 ? spec.variants.map((variant) => ({ profile: spec.name, variant })) : [{ profile: spec.name }],
      ),
    );
  const snapshotDate = o.snapshot ? parseSnapshotDate(o.snapshot) : undefined;
  const sourceDateEpoch = o.sourceDateEpoch !== undefined ? Number(o.sourceDateEpoch) : snapshotDate ? snapshotDate.getTime() / 1000 : startOfUtcDay(context.now);
  const release = o.release ?? DEFAULT_RELEASE[distribution];
  const buildVersion = o.buildVersion ?? buildVersionFromEpoch(sourceDateEpoch);
  const targets = chosen.map((t) => ({ ...t, artifact: describeArtifact({ ...t, distribution, release, architecture: DEFAULT_ARCHITECTURE, version: buildVersion }) }));
  // The plan is settled here, down to each artifact: every task reads it, none changes it.
  return deepFreeze({
    targets,
    distribution,
    release,
    mirror: o.mirror,
    snapshot: o.snapshot,
    sourceDateEpoch,
    seed: o.seed?.toLowerCase(),
    buildVersion,
    outputDir: o.outputDir ?? 'output',
    repositoryKeyCheck: o.repositoryKeyCheck ?? true,
    toolsTree: o.toolsTree,
    keyringAnchor: o.keyringAnchor === undefined ? undefined : resolve(o.keyringAnchor),
    sign: o.sign,
    json: o.json ?? false,
    verbose: o.verbose ?? false,
    dryRun: o.dryRun ?? false,
    singleUid: o.singleUid ?? false,
    qcow2Compression: o.qcow2Compression ?? DEFAULT_QCOW2_COMPRESSION,
    jobs: o.jobs !== undefined ? Number(o.jobs) : Math.min(MAX_JOBS, Math.max(1, context.cpus ?? 1)),
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const v of Object.values(value)) if (v !== null && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(value);
}
