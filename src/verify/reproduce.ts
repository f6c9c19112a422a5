/**
 * `boxes reproduce RECORD...`: rebuilds artifacts from their build records and compares digests.
 * The config tree's commit and the mkosi version must match every record's, unless told to go on.
 * Records that differ only in their profile (a release's images) are rebuilt by one build, whose
 * targets run side by side as `boxes build`'s do.
 */
import { availableParallelism } from 'node:os';
import { access, constants } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeStatement } from '../record/statement.js';
import { build, type BuildReport } from '../image/build.js';
import type { ArtifactReport } from '../image/report.js';
import { DetailedError, UsageError } from '../system/errors.js';
import { findMkosi, provisionMkosi } from '../adapters/mkosi.js';
import { parseBuildOptions } from '../plan/options.js';
import { TREE_DIR } from '../system/paths.js';
import { readRecord } from '../record/read-record.js';
import type { BuildRecord } from '../record/schema.js';
import { treeRevision } from '../adapters/git-revision.js';
import { redactSecrets } from '../system/redact.js';
import { isMissingOrDenied } from '../system/expected.js';
import { packageDrift } from './package-drift.js';
import { indexUrls, servedPackages, unservedPackages } from './served-packages.js';
import { openToolbox, toolboxFor } from '../image/toolbox.js';
import type { Toolbox } from '../system/toolbox.js';

export interface ReproduceOptions {
  /** Build records; those that differ only in their profile are rebuilt by one build, side by side. */
  records: string[];
  outputDir: string;
  /** Rebuild even when the tree's commit or mkosi's version differs from the record's. */
  ignoreMismatch: boolean;
  singleUid?: boolean;
  /** The record's mirror with its credentials, which the record shows as `***`. */
  mirror?: string;
  toolsTree?: string;
  /** The result goes to stdout as JSON: progress stays off it. */
  json: boolean;
  verbose: boolean;
  /** Ask a live mirror, before building, whether it still serves every recorded package. */
  archiveCheck: boolean;
}

export interface Reproduced {
  /** Where the record was read. */
  path: string;
  record: BuildRecord;
  /** The rebuilt artifact. */
  artifact: ArtifactReport;
  identical: boolean;
  /** The verification statement, next to the record's artifact (written when identical). */
  statement?: string;
}

export interface ReproduceResult {
  /** One build per group of records that share every input but the profile. */
  builds: BuildReport[];
  /** In the order the records were given. */
  results: Reproduced[];
}

/** The rebuilt artifact's bytes differ from the recorded ones (the details say which packages drifted): exit 1. */
export class NotReproduced extends DetailedError {}

/** The live mirror no longer serves packages the record lists (the details name them): exit 1, before any build. */
export class ArchiveMovedOn extends DetailedError {}

/** Debian's indexes are read with the tools tree's xz: the tree the build then uses. */
async function recordToolbox(given: string | undefined, signal?: AbortSignal): Promise<Toolbox> {
  const say = (line: string) => process.stderr.write(`boxes: ${line}\n`);
  if (given && !(await findMkosi())) {
    say('downloading the pinned mkosi (first use)');
    await provisionMkosi({ signal });
  }
  return given ? toolboxFor(given) : openToolbox({ signal, say });
}

/**
 * The lines naming, per record, each package its live mirror no longer serves. Records pinned to a
 * snapshot and local repositories' are not asked; a mirror whose indexes cannot be read gives no
 * lines (the build then meets it as it is).
 */
async function unserved(loaded: readonly Loaded[], options: ReproduceOptions, signal?: AbortSignal): Promise<{ record: BuildRecord; lines: string[] }[]> {
  const live = loaded.flatMap(({ record }) => {
    const mirror = mirrorFor(record.image.mirror, options.mirror);
    return record.image.snapshot === null && (mirror === undefined || /^https?:\/\//.test(mirror)) ? [{ record, urls: indexUrls(record.image, mirror) }] : [];
  });
  if (live.length === 0) return [];
  let opened: Promise<Toolbox> | undefined;
  const tools = () => (opened ??= recordToolbox(options.toolsTree, signal));
  const indexes = new Map<string, Promise<Set<string> | undefined>>();
  return Promise.all(
    live.map(async ({ record, urls }) => {
      const key = urls.join(' ');
      if (!indexes.has(key)) indexes.set(key, servedPackages(record.image.distribution, urls, tools, signal));
      const served = await indexes.get(key)!;
      return { record, lines: served ? unservedPackages(record, served) : [] };
    }),
  );
}

/** Detail lines of several records, each behind its artifact's name when there is more than one record. */
function perRecord(items: readonly { record: BuildRecord; lines: readonly string[] }[]): string[] {
  return items.flatMap(({ record, lines }) => (items.length > 1 ? lines.map((l) => `${record.artifact.name}: ${l}`) : lines));
}

/** Where the current setup differs from the record's; empty when it matches. */
export function mismatches(record: BuildRecord, revision: string, mkosiVersion: string | undefined): string[] {
  const problems: string[] = [];
  const commit = revision.replace(/-dirty$/, '');
  if (commit !== record.config.commit) problems.push(`the config tree is at ${commit}, the record was built from ${record.config.commit}`);
  if (revision.endsWith('-dirty')) problems.push('the config tree has local edits');
  if (mkosiVersion !== record.mkosi.version) problems.push(`mkosi is ${mkosiVersion ?? 'not installed'}, the record used ${record.mkosi.version}`);
  return problems;
}

/** The mirror to rebuild from: the record's, or the one given whose credentials the record hid. */
export function mirrorFor(recorded: string | null, given: string | undefined): string | undefined {
  if (given === undefined) {
    if (recorded !== null && /:\*\*\*@|=\*\*\*/.test(recorded))
      throw new UsageError(`the record's mirror ${recorded} had credentials, which records never keep`, 'pass --mirror with the same URL and its credentials');
    return recorded ?? undefined;
  }
  if (redactSecrets(given) !== (recorded ?? ''))
    throw new UsageError(`--mirror ${redactSecrets(given)} is not the record's mirror ${recorded ?? '(none)'}`, "pass the record's mirror, with its credentials");
  return given;
}

/** The value after `flag` in a recorded argument list, if the flag is there. */
function optionValue(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

interface Loaded {
  path: string;
  record: BuildRecord;
}

/** The build options a record asks for, but its profile and variant: records whose options are equal may share a build. */
function recordedOptions(record: BuildRecord, options: ReproduceOptions) {
  const image = record.image;
  return {
    distribution: image.distribution,
    release: image.release,
    mirror: mirrorFor(image.mirror, options.mirror),
    snapshot: image.snapshot ?? undefined,
    sourceDateEpoch: String(image.sourceDateEpoch),
    seed: image.seed,
    buildVersion: image.buildVersion,
    repositoryKeyCheck: !record.reproduce.includes('--no-repository-key-check'),
    keyringAnchor: optionValue(record.reproduce, '--keyring-anchor'),
    qcow2Compression: optionValue(record.reproduce, '--qcow2-compression'),
  };
}

/**
 * Records grouped so that one build rebuilds each group: equal options, no profile twice, and at
 * most one variant (a build's `--variant` applies to every profile that has variants). Groups keep
 * the records' order.
 */
export function groupRecords<T extends Loaded>(loaded: readonly T[], optionsOf: (record: BuildRecord) => object): { variant?: string; members: T[] }[] {
  const groups: { key: string; variant?: string; members: T[] }[] = [];
  for (const item of loaded) {
    const key = JSON.stringify(optionsOf(item.record));
    const { profile, variant } = item.record.image;
    const fits = (g: (typeof groups)[number]) =>
      g.key === key && !g.members.some((m) => m.record.image.profile === profile) && (variant == null || g.variant === undefined || g.variant === variant);
    const group = groups.find(fits);
    if (group) {
      group.members.push(item);
      group.variant ??= variant ?? undefined;
    } else groups.push({ key, variant: variant ?? undefined, members: [item] });
  }
  return groups.map(({ variant, members }) => ({ variant, members }));
}

async function load(path: string): Promise<Loaded> {
  const record = await readRecord(path);
  // The statement goes next to the record (and its artifact), where `boxes publish` looks for it.
  await access(dirname(path), constants.W_OK).catch((error: unknown) => {
    if (!isMissingOrDenied(error)) throw error;
    throw new UsageError(`cannot write the verification statement next to ${path}: the directory is not writable`, 'copy the record to a writable directory');
  });
  return { path, record };
}

export async function reproduce(options: ReproduceOptions, io: { signal?: AbortSignal } = {}): Promise<ReproduceResult> {
  const loaded = await Promise.all(options.records.map(load));
  const names = loaded.map((l) => l.record.artifact.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`${twice} is named by two records`, 'give each artifact one record');
  const revision = await treeRevision(TREE_DIR);
  const mkosiVersion = (await findMkosi())?.version;
  for (const { record } of loaded) {
    const problems = mismatches(record, revision, mkosiVersion);
    if (problems.length > 0 && !options.ignoreMismatch)
      throw new UsageError(`cannot reproduce ${record.artifact.name}: ${problems.join('; ')}`, `check out ${record.config.commit} and the same mkosi, or pass --ignore-mismatch`);
  }
  if (options.archiveCheck) {
    const gone = (await unserved(loaded, options, io.signal)).filter((u) => u.lines.length > 0);
    if (gone.length > 0)
      throw new ArchiveMovedOn(
        gone.map(({ record }) => `cannot reproduce ${record.artifact.name}: its mirror no longer serves every package its record lists`).join('; '),
        'each recorded version stays at the address below; a build with --snapshot DATE keeps its record reproducible',
        perRecord(gone),
      );
  }
  const builds: BuildReport[] = [];
  const byPath = new Map<string, Reproduced>();
  for (const { variant, members: group } of groupRecords(loaded, (record) => recordedOptions(record, options))) {
    const buildOptions = parseBuildOptions(
      {
        ...recordedOptions(group[0]!.record, options),
        profile: group.map((m) => m.record.image.profile).join(','),
        variant,
        outputDir: options.outputDir,
        toolsTree: options.toolsTree,
        singleUid: options.singleUid,
        json: options.json,
        verbose: options.verbose,
      },
      { now: new Date(), hostDistribution: group[0]!.record.image.distribution, cpus: availableParallelism() },
    );
    const report = await build(buildOptions, io);
    builds.push(report);
    for (const { path, record } of group) {
      const artifact = report.artifacts.find((a) => a.profile === record.image.profile)!;
      const identical = artifact.sha256 === record.artifact.sha256 && (artifact.digest ?? null) === record.artifact.digest;
      const statement = identical
        ? await writeStatement({
            artifact: join(dirname(path), record.artifact.name),
            sha256: record.artifact.sha256,
            rebuilt: { sha256: artifact.sha256, digest: artifact.digest ?? null },
            method: 'reproduce',
            variations: [`another build from the record${report.buildMode === 'root' ? '' : ` (${report.buildMode})`}`],
            mkosi: report.mkosiVersion,
            buildMode: report.buildMode,
          })
        : undefined;
      byPath.set(path, { path, record, artifact, identical, statement });
    }
  }
  const results = loaded.map((l) => byPath.get(l.path)!);
  const differ = results.filter((r) => !r.identical);
  if (differ.length > 0) {
    const drift = await Promise.all(differ.map(async (r) => ({ record: r.record, lines: r.artifact.record ? packageDrift(r.record, await readRecord(r.artifact.record)) : [] })));
    const details = perRecord(drift);
    throw new NotReproduced(
      differ.map((r) => `${basename(r.artifact.path)} differs from its record: sha256 ${r.artifact.sha256}, recorded ${r.record.artifact.sha256}`).join('; '),
      details.length === 0
        ? `\`boxes verify\` with the same options shows where builds differ`
        : drift.some(({ record, lines }) => lines.length > 0 && record.image.snapshot === null)
          ? 'the archive has moved on since the build, package by package below; a build with --snapshot DATE keeps its record reproducible'
          : 'the packages differ from the recorded ones, package by package below',
      details,
    );
  }
  return { builds, results };
}
