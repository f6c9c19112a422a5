/** Builds the record of one artifact from the facts of its build: a pure function. */
import { DEFAULT_QCOW2_COMPRESSION, type BuildOptions, type BuildTarget } from '../plan/options.js';
import { redactSecrets } from '../system/redact.js';
import { buildRecordSchema, type BuildRecord, type PackageEntry } from './schema.js';

export interface RecordFacts {
  toolVersion: string;
  /** treeRevision(): a commit, `<commit>-dirty`, or `unknown`. */
  revision: string;
  mkosiVersion: string;
  toolsTree: { distribution: string | null; release: string | null; packages: string[] };
  options: BuildOptions;
  target: BuildTarget;
  seed: string;
  packages: PackageEntry[];
  artifact: { name: string; sha256: string; size: number; digest?: string; diffIds?: string[] };
}

/** The `boxes build` arguments that give the same artifact again (output directory aside). */
export function reproduceArgs(options: BuildOptions, target: BuildTarget, seed: string): string[] {
  const args = ['build', '--profile', target.profile];
  if (target.variant) args.push('--variant', target.variant);
  args.push('--distribution', options.distribution);
  if (options.distribution !== 'arch') args.push('--release', options.release);
  if (options.mirror) args.push('--mirror', redactSecrets(options.mirror));
  if (options.snapshot) args.push('--snapshot', options.snapshot);
  if (!options.repositoryKeyCheck) args.push('--no-repository-key-check');
  if (options.keyringAnchor) args.push('--keyring-anchor', options.keyringAnchor);
  // The default stays unsaid, so records of builds before the option reproduce as they did.
  if (target.artifact.kind === 'disk' && options.qcow2Compression !== DEFAULT_QCOW2_COMPRESSION) args.push('--qcow2-compression', options.qcow2Compression);
  args.push('--source-date-epoch', String(options.sourceDateEpoch), '--seed', seed, '--build-version', options.buildVersion);
  return args;
}

export function makeRecord(f: RecordFacts): BuildRecord {
  const dirty = f.revision.endsWith('-dirty');
  return buildRecordSchema.parse({
    recordVersion: 1,
    tool: { name: 'boxes', version: f.toolVersion },
    config: { commit: dirty ? f.revision.slice(0, -'-dirty'.length) : f.revision, dirty },
    mkosi: { version: f.mkosiVersion },
    toolsTree: f.toolsTree,
    image: {
      distribution: f.options.distribution,
      release: f.options.release,
      architecture: f.target.artifact.architecture,
      profile: f.target.profile,
      variant: f.target.variant ?? null,
      // A mirror's credentials are the builder's, not the record's: shown as ***.
      mirror: f.options.mirror === undefined ? null : redactSecrets(f.options.mirror),
      snapshot: f.options.snapshot ?? null,
      sourceDateEpoch: f.options.sourceDateEpoch,
      seed: f.seed,
      buildVersion: f.options.buildVersion,
    },
    packages: f.packages,
    artifact: { name: f.artifact.name, sha256: f.artifact.sha256, size: f.artifact.size, digest: f.artifact.digest ?? null, diffIds: f.artifact.diffIds ?? [] },
    reproduce: reproduceArgs(f.options, f.target, f.seed),
  });
}
