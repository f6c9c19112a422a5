/**
 * `boxes verify`: builds the requested artifacts twice, side by side, the second time in a process
 * of its own (second-build.ts) from a copy of the config tree at another path into another output
 * directory, and compares every artifact's bytes. A difference is explained
 * (src/verify/differences.ts), and diffoscope, where installed, writes its report next to the
 * artifacts.
 */
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { build } from '../image/build.js';
import { BoxesError, BuildError, ChildFailed } from '../system/errors.js';
import { makeDirectory } from '../system/host.js';
import type { BuildOptions } from '../plan/options.js';
import { cachePaths, TREE_DIR } from '../system/paths.js';
import { treeRevision } from '../adapters/git-revision.js';
import { run } from '../system/runner.js';
import { onPath } from '../system/which.js';
import { explainDifference } from './differences.js';
import { toolboxFor } from '../image/toolbox.js';
import type { Toolbox } from '../system/toolbox.js';
import { machineFacts, parseVariations, planVariations, type Applied, type Skipped, type Variation, type VariationPlan } from './variations.js';
import { detectBuildMode, removeTree } from '../rootless/namespace.js';
import type { BuildMode } from '../rootless/build-mode.js';
import { writeStatement } from '../record/statement.js';
import { ifMissing } from '../system/expected.js';
import { findMkosi, provisionMkosi } from '../adapters/mkosi.js';
import { sideBySide } from '../system/side-by-side.js';
import { runSecondBuild, secondBuildLog, type SecondBuild } from './second-build.js';

/** What of the project a build reads: every top-level mkosi.* entry, the hooks and package.json. */
export async function treeParts(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => /^mkosi\./.test(n) && !/^mkosi\.(output|cache|tools|builddir)$/.test(n)).concat(['hooks', 'postout', 'package.json']);
}

export interface VerifyResult {
  artifact: string;
  second: string;
  identical: boolean;
  sha256: [string, string];
  where: string[];
  diffoscope?: string;
  /** For an identical artifact: the verification statement written next to the first build's copy. */
  statement?: string;
}

/** Some artifacts differ between the two builds: exit 1. */
export class NotReproducible extends BoxesError {}

/** The copy lives in the output directory: verify writes nothing outside it and the cache. */
async function copyTree(from: string, outputDir: string): Promise<string> {
  await makeDirectory(outputDir);
  const dir = await mkdtemp(join(outputDir, '.tree-'));
  const tree = join(dir, 'another', 'tree');
  for (const part of await treeParts(from)) await cp(join(from, part), join(tree, part), { recursive: true, verbatimSymlinks: true }).catch(ifMissing(undefined));
  return tree;
}

async function diffoscope(tools: Toolbox, a: string, b: string, report: string, signal?: AbortSignal): Promise<string> {
  if (tools.source === 'host' && !(await onPath('diffoscope'))) return 'diffoscope is not installed (apt-get install diffoscope) for a byte-level report';
  // diffoscope exits 1 when it found differences, which is what we expect here.
  return run(['diffoscope', '--text', report, '--max-report-size', String(50 << 20), a, b], { tools, signal, what: 'diffoscope' }).then(
    () => report,
    (error: unknown) => {
      if (!(error instanceof ChildFailed)) throw error;
      return error.exitCode === 1 ? report : `diffoscope failed (${error.message}); its report may be incomplete: ${report}`;
    },
  );
}

export interface VerifyOptions {
  /** --vary / --no-vary: comma-separated variation names. */
  vary?: string;
  noVary?: string;
  /** On a difference, rebuild once per variation to name the one that causes it. */
  bisect?: boolean;
}

export interface BisectStep {
  variation: Variation;
  /** Artifacts that differ from the first build with only this variation applied. */
  differs: string[];
}

export interface VerifyReport {
  variations: Applied[];
  skipped: Skipped[];
  artifacts: VerifyResult[];
  bisect?: BisectStep[];
}

type Io = { signal?: AbortSignal; onEvent?: (line: string) => void };

/** What compare reads of either build. */
interface Built {
  artifacts: readonly { profile: string; variant?: string | null; path: string; sha256: string }[];
}

async function compare(first: Built, second: Built, outputDir: string, tools: Toolbox, signal?: AbortSignal): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const [i, a] of first.artifacts.entries()) {
    const b = second.artifacts[i];
    if (!b || b.profile !== a.profile || (b.variant ?? undefined) !== (a.variant ?? undefined))
      throw new BuildError(
        `the second build gave ${b ? `${b.profile} where the first gave ${a.profile}` : `no artifact for ${a.profile}`}`,
        'report this: both builds were given one plan',
      );
    const result: VerifyResult = { artifact: a.path, second: b.path, identical: a.sha256 === b.sha256, sha256: [a.sha256, b.sha256], where: [] };
    if (!result.identical) {
      const work = await mkdtemp(join(outputDir, '.compare-'));
      try {
        result.where = await explainDifference(a.path, b.path, work, tools, signal);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
    results.push(result);
  }
  return results;
}

/**
 * The second build under the plan's variations, in its own process; the tree copy only when
 * `path` is one of them. The plan's scratch (a tmpfs workspace) goes with it.
 */
async function secondBuild(
  options: BuildOptions,
  plan: VariationPlan,
  tree: string,
  outputDir: string,
  revision: string,
  mode: BuildMode,
  signal?: AbortSignal,
): Promise<SecondBuild> {
  const usesPath = plan.applied.some((a) => a.name === 'path');
  // An empty package cache: the second build installs every package, whatever the first reused.
  const scratch = plan.environment.workspaceDir ?? cachePaths().workspace;
  await mkdir(scratch, { recursive: true });
  const installCacheRoot = await mkdtemp(join(scratch, 'install-cache-'));
  try {
    const environment = { ...plan.environment, installCacheRoot };
    return await runSecondBuild({ options, outputDir, treeDir: usesPath ? tree : TREE_DIR, revision, environment, umask: plan.umask }, signal);
  } finally {
    await removeTree(installCacheRoot, mode);
    await plan.dispose();
  }
}

export async function verify(options: BuildOptions, io: Io = {}, verifyOptions: VerifyOptions = {}): Promise<VerifyReport> {
  const outputDir = resolve(options.outputDir);
  const chosen = parseVariations(verifyOptions.vary, verifyOptions.noVary);
  const mode = await detectBuildMode({ singleUid: options.singleUid, signal: io.signal });
  const facts = await machineFacts(mode.kind, cachePaths().workspace);
  const revision = await treeRevision(TREE_DIR);
  // Each build would download the pinned mkosi on first use: once, before they start.
  if (!(await findMkosi())) await provisionMkosi({ signal: io.signal });
  const tree = await copyTree(TREE_DIR, outputDir);
  try {
    const plan = await planVariations(chosen, facts, (dir) => removeTree(dir, mode));
    for (const a of plan.applied) io.onEvent?.(`second build varies ${a.name}: ${a.detail}`);
    for (const s of plan.skipped) io.onEvent?.(`second build cannot vary ${s.name}: ${s.why}`);
    const elsewhere = join(outputDir, 'second', 'elsewhere');
    io.onEvent?.('second build installs every package again: its install cache starts empty');
    io.onEvent?.(`first and second build side by side; the second in a boxes process of its own (log: ${secondBuildLog(elsewhere)})`);
    const [first, second] = await sideBySide(
      [
        (signal) => build({ ...options, outputDir: join(outputDir, 'first') }, { signal, revision, beside: true }),
        (signal) => secondBuild(options, plan, tree, elsewhere, revision, mode, signal),
      ],
      io.signal,
    );
    const tools = await toolboxFor(first.toolsTree);
    const artifacts = await compare(first, second, outputDir, tools, io.signal);
    for (const [i, r] of artifacts.entries()) {
      const a = first.artifacts[i]!;
      const b = second.artifacts[i]!;
      if (r.identical)
        r.statement = await writeStatement({
          artifact: a.path,
          sha256: a.sha256,
          rebuilt: { sha256: b.sha256, digest: b.digest },
          method: 'verify',
          variations: plan.applied.map((v) => `${v.name}: ${v.detail}`),
          mkosi: second.mkosiVersion,
          buildMode: second.buildMode,
        });
      else r.diffoscope = await diffoscope(tools, r.artifact, r.second, join(outputDir, `${basename(r.artifact)}.diffoscope.txt`), io.signal);
    }
    const report: VerifyReport = { variations: plan.applied, skipped: plan.skipped, artifacts };
    if (verifyOptions.bisect && artifacts.some((r) => !r.identical) && plan.applied.length > 1) {
      report.bisect = [];
      for (const v of plan.applied) {
        io.onEvent?.(`bisect: a build that varies only ${v.name}`);
        const one = await planVariations(new Set([v.name]), facts, (dir) => removeTree(dir, mode));
        const again = await secondBuild(options, one, tree, join(outputDir, 'bisect', v.name), revision, mode, io.signal);
        const differs = (await compare(first, again, outputDir, tools, io.signal)).filter((r) => !r.identical).map((r) => basename(r.artifact));
        report.bisect.push({ variation: v.name, differs });
      }
    }
    return report;
  } finally {
    await rm(resolve(tree, '../..'), { recursive: true, force: true });
  }
}

export function formatVerify(report: VerifyReport): string {
  const lines: string[] = [];
  for (const v of report.variations) lines.push(`varied    ${v.name}: ${v.detail}`);
  for (const v of report.skipped) lines.push(`skipped   ${v.name}: ${v.why}`);
  for (const r of report.artifacts) {
    if (r.identical) {
      lines.push(`identical ${basename(r.artifact)} (sha256 ${r.sha256[0]})${r.statement ? `, statement ${r.statement}` : ''}`);
      continue;
    }
    lines.push(`DIFFERS   ${basename(r.artifact)}: sha256 ${r.sha256[0]} vs ${r.sha256[1]}`);
    for (const w of r.where) lines.push(`    ${w}`);
    if (r.diffoscope) lines.push(`    diffoscope: ${r.diffoscope}`);
  }
  for (const b of report.bisect ?? []) lines.push(`bisect    ${b.variation} alone: ${b.differs.length > 0 ? `differs (${b.differs.join(', ')})` : 'identical'}`);
  return lines.join('\n');
}
