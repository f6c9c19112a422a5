/**
 * `boxes verify`'s second build runs in a boxes process of its own (`boxes verify-second-build`,
 * not in the help): a umask is process-wide, so only another process can write under the varied
 * one while the first build writes under the caller's, and the two builds run side by side. The
 * parent hands the child its settled options and environment in a file (never a command line to
 * parse back) and reads the child's report through a schema.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { artifactIdentitySchema, describeArtifact } from '../artifact/artifact.js';
import { DISTRIBUTIONS } from '../artifact/profiles.js';
import type { BuildEnvironment, BuildIo } from '../image/build.js';
import { QCOW2_COMPRESSIONS, type BuildOptions } from '../plan/options.js';
import { UsageError } from '../system/errors.js';
import { run } from '../system/runner.js';

const environmentSchema = z.object({
  env: z.record(z.string(), z.string()),
  wrapper: z.array(z.string()),
  workspaceDir: z.string().optional(),
  installCacheRoot: z.string().optional(),
});

const handoverSchema = z.object({
  options: z.object({
    targets: z.array(artifactIdentitySchema).min(1),
    distribution: z.enum(DISTRIBUTIONS),
    release: z.string().min(1),
    mirror: z.string().optional(),
    snapshot: z.string().optional(),
    sourceDateEpoch: z.number().int().nonnegative(),
    seed: z.string().optional(),
    buildVersion: z.string().min(1),
    outputDir: z.string().min(1),
    repositoryKeyCheck: z.boolean(),
    toolsTree: z.string().optional(),
    keyringAnchor: z.string().optional(),
    singleUid: z.boolean(),
    qcow2Compression: z.enum(QCOW2_COMPRESSIONS),
    jobs: z.number().int().positive(),
    verbose: z.boolean(),
  }),
  treeDir: z.string().min(1),
  revision: z.string().min(1),
  environment: environmentSchema,
});
type Handover = z.infer<typeof handoverSchema>;

/** What verify reads of the child's `--json`-shaped report. */
const reportSchema = z.object({
  mkosiVersion: z.string(),
  buildMode: z.enum(['root', 'subordinate-ids', 'single-uid']),
  artifacts: z.array(
    z.object({
      profile: z.string(),
      variant: z.string().nullable(),
      path: z.string(),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      digest: z.string().nullable(),
    }),
  ),
});
export type SecondBuild = z.infer<typeof reportSchema>;

export interface SecondBuildSpec {
  options: BuildOptions;
  outputDir: string;
  treeDir: string;
  revision: string;
  environment: BuildEnvironment;
  /** boxes' own umask in the child (the `umask` variation); the caller's when undefined. */
  umask?: number;
}

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

/**
 * Where the child's output is logged: beside its output directory, which the child makes itself
 * (under its own umask, which the directory's mode shows).
 */
export const secondBuildLog = (outputDir: string) => join(dirname(outputDir), `${basename(outputDir)}.boxes.log`);

/** What the child is handed: the settled options (targets as identities), the tree and the environment. */
export function handoverFor(spec: SecondBuildSpec): Handover {
  // What the child decides for itself: it signs nothing, prints JSON and builds for real.
  const { targets, sign: _sign, json: _json, dryRun: _dryRun, ...options } = spec.options;
  return {
    // The schema keeps an artifact's identity and drops what the child derives from it.
    options: { ...options, targets: targets.map((t) => artifactIdentitySchema.parse(t.artifact)), outputDir: spec.outputDir },
    treeDir: spec.treeDir,
    revision: spec.revision,
    environment: spec.environment,
  };
}

/** Runs the second build in a child boxes. */
export async function runSecondBuild(spec: SecondBuildSpec, signal?: AbortSignal): Promise<SecondBuild> {
  const handover = handoverFor(spec);
  await mkdir(dirname(spec.outputDir), { recursive: true });
  const file = join(dirname(spec.outputDir), `.${basename(spec.outputDir)}.handover.json`);
  await writeFile(file, JSON.stringify(handover));
  try {
    // The variations that are the environment's (TZ, locale) reach boxes itself too, as a
    // rebuilder's shell would give them.
    const { stdout } = await run([process.execPath, CLI, 'verify-second-build', file], {
      env: spec.environment.env,
      umask: spec.umask,
      signal,
      logFile: secondBuildLog(spec.outputDir),
      echo: spec.options.verbose,
      echoPrefix: 'second build: ',
      what: 'the second build',
    });
    return reportSchema.parse(JSON.parse(stdout));
  } finally {
    await rm(file, { force: true });
  }
}

/** The child's side: the build and the environment the parent handed over in FILE. */
export async function handedOver(file: string): Promise<{ options: BuildOptions; io: BuildIo }> {
  const parsed = handoverSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) throw new UsageError(`${file} is not a second build's handover from boxes verify: ${parsed.error.issues[0]?.message}`);
  const { options: o, treeDir, revision, environment } = parsed.data;
  const targets = o.targets.map((identity) => ({ profile: identity.profile, variant: identity.variant, artifact: describeArtifact(identity) }));
  return {
    options: { ...o, targets, json: true, dryRun: false },
    io: { treeDir, revision, environment, beside: true },
  };
}
