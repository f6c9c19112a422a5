/**
 * `boxes reproduce RECORD`: rebuilds an artifact from its build record and compares digests. The
 * config tree's commit and the mkosi version must match the record's, unless told to go on.
 */
import { availableParallelism } from 'node:os';
import { access, constants } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeStatement } from '../record/statement.js';
import { build, type BuildReport } from '../image/build.js';
import { BoxesError, UsageError } from '../system/errors.js';
import { findMkosi } from '../adapters/mkosi.js';
import { parseBuildOptions } from '../plan/options.js';
import { TREE_DIR } from '../system/paths.js';
import { readRecord } from '../record/read-record.js';
import type { BuildRecord } from '../record/schema.js';
import { treeRevision } from '../adapters/git-revision.js';
import { redactSecrets } from '../system/redact.js';
import { isMissingOrDenied } from '../system/expected.js';

export interface ReproduceOptions {
  record: string;
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
}

export interface ReproduceResult {
  record: BuildRecord;
  build: BuildReport;
  identical: boolean;
  /** The verification statement, next to the record's artifact. */
  statement: string;
}

/** The rebuilt artifact's bytes differ from the recorded ones: exit 1. */
export class NotReproduced extends BoxesError {}

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

export async function reproduce(options: ReproduceOptions, io: { signal?: AbortSignal } = {}): Promise<ReproduceResult> {
  const record = await readRecord(options.record);
  // The statement goes next to the record (and its artifact), where `boxes publish` looks for it.
  await access(dirname(options.record), constants.W_OK).catch((error: unknown) => {
    if (!isMissingOrDenied(error)) throw error;
    throw new UsageError(`cannot write the verification statement next to ${options.record}: the directory is not writable`, 'copy the record to a writable directory');
  });
  const problems = mismatches(record, await treeRevision(TREE_DIR), (await findMkosi())?.version);
  if (problems.length > 0 && !options.ignoreMismatch)
    throw new UsageError(`cannot reproduce ${record.artifact.name}: ${problems.join('; ')}`, `check out ${record.config.commit} and the same mkosi, or pass --ignore-mismatch`);
  const image = record.image;
  const mirror = mirrorFor(image.mirror, options.mirror);
  const buildOptions = parseBuildOptions(
    {
      profile: image.profile,
      variant: image.variant ?? undefined,
      distribution: image.distribution,
      release: image.release,
      mirror,
      snapshot: image.snapshot ?? undefined,
      sourceDateEpoch: String(image.sourceDateEpoch),
      seed: image.seed,
      buildVersion: image.buildVersion,
      repositoryKeyCheck: !record.reproduce.includes('--no-repository-key-check'),
      keyringAnchor: optionValue(record.reproduce, '--keyring-anchor'),
      qcow2Compression: optionValue(record.reproduce, '--qcow2-compression'),
      outputDir: options.outputDir,
      toolsTree: options.toolsTree,
      singleUid: options.singleUid,
      json: options.json,
      verbose: options.verbose,
    },
    { now: new Date(), hostDistribution: image.distribution, cpus: availableParallelism() },
  );
  const report = await build(buildOptions, io);
  const artifact = report.artifacts[0]!;
  const identical = artifact.sha256 === record.artifact.sha256 && (artifact.digest ?? null) === record.artifact.digest;
  if (!identical)
    throw new NotReproduced(
      `${basename(artifact.path)} differs from its record: sha256 ${artifact.sha256}, recorded ${record.artifact.sha256}`,
      `\`boxes verify\` with the same options shows where builds differ`,
    );
  const statement = await writeStatement({
    artifact: join(dirname(options.record), record.artifact.name),
    sha256: record.artifact.sha256,
    rebuilt: { sha256: artifact.sha256, digest: artifact.digest ?? null },
    method: 'reproduce',
    variations: [`another build from the record${report.buildMode === 'root' ? '' : ` (${report.buildMode})`}`],
    mkosi: report.mkosiVersion,
    buildMode: report.buildMode,
  });
  return { record, build: report, identical, statement };
}
