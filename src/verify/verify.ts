/**
 * `boxes verify`: builds the requested artifacts twice, the second time from a copy of the config
 * tree at another path into another output directory, and compares every artifact's bytes. A
 * difference is explained (src/verify/differences.ts), and diffoscope, where installed, writes its
 * report next to the artifacts.
 */
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { build, type BuildReport } from '../build/build.js';
import { BoxesError } from '../system/errors.js';
import type { BuildOptions } from '../build/options.js';
import { TREE_DIR } from '../system/paths.js';
import { treeRevision } from '../build/revision.js';
import { run } from '../system/runner.js';
import { onPath } from '../vm/tools.js';
import { explainDifference } from './differences.js';
import { writeStatement } from '../publish/statement.js';

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

/** What the second build changes; each is named in the verification statement. */
export const VARIATIONS = ['tree path', 'output directory'];

/** Some artifacts differ between the two builds: exit 1. */
export class NotReproducible extends BoxesError {}

/** The copy lives in the output directory: verify writes nothing outside it and the cache. */
async function copyTree(from: string, outputDir: string): Promise<string> {
  await mkdir(outputDir, { recursive: true });
  const dir = await mkdtemp(join(outputDir, '.tree-'));
  const tree = join(dir, 'another', 'tree');
  for (const part of await treeParts(from)) await cp(join(from, part), join(tree, part), { recursive: true, verbatimSymlinks: true }).catch(() => undefined);
  return tree;
}

async function diffoscope(a: string, b: string, report: string, signal?: AbortSignal): Promise<string> {
  if (!(await onPath('diffoscope'))) return 'diffoscope is not installed (apt-get install diffoscope) for a byte-level report';
  // diffoscope exits 1 when it found differences, which is what we expect here.
  await run(['diffoscope', '--text', report, '--max-report-size', String(50 << 20), a, b], { signal, what: 'diffoscope' }).catch(() => undefined);
  return report;
}

export async function verify(options: BuildOptions, io: { signal?: AbortSignal; onEvent?: (line: string) => void } = {}): Promise<VerifyResult[]> {
  const outputDir = resolve(options.outputDir);
  const revision = await treeRevision(TREE_DIR);
  const tree = await copyTree(TREE_DIR, outputDir);
  try {
    io.onEvent?.('first build');
    const first = await build({ ...options, outputDir: join(outputDir, 'first') }, { signal: io.signal, revision });
    io.onEvent?.(`second build, from ${tree}`);
    const second: BuildReport = await build({ ...options, outputDir: join(outputDir, 'second', 'elsewhere') }, { signal: io.signal, treeDir: tree, revision });
    const results: VerifyResult[] = [];
    for (const [i, a] of first.artifacts.entries()) {
      const b = second.artifacts[i]!;
      const result: VerifyResult = { artifact: a.path, second: b.path, identical: a.sha256 === b.sha256, sha256: [a.sha256, b.sha256], where: [] };
      if (result.identical) {
        result.statement = await writeStatement({
          artifact: a.path,
          sha256: a.sha256,
          rebuilt: { sha256: b.sha256, digest: b.digest ?? null },
          method: 'verify',
          variations: VARIATIONS,
          mkosi: second.mkosiVersion,
          buildMode: second.buildMode,
        });
      } else {
        const work = await mkdtemp(join(outputDir, '.compare-'));
        try {
          result.where = await explainDifference(a.path, b.path, work, io.signal);
        } finally {
          await rm(work, { recursive: true, force: true });
        }
        result.diffoscope = await diffoscope(a.path, b.path, join(outputDir, `${basename(a.path)}.diffoscope.txt`), io.signal);
      }
      results.push(result);
    }
    return results;
  } finally {
    await rm(resolve(tree, '../..'), { recursive: true, force: true });
  }
}

export function formatVerify(results: VerifyResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    if (r.identical) {
      lines.push(`identical ${basename(r.artifact)} (sha256 ${r.sha256[0]})${r.statement ? `, statement ${r.statement}` : ''}`);
      continue;
    }
    lines.push(`DIFFERS   ${basename(r.artifact)}: sha256 ${r.sha256[0]} vs ${r.sha256[1]}`);
    for (const w of r.where) lines.push(`    ${w}`);
    if (r.diffoscope) lines.push(`    diffoscope: ${r.diffoscope}`);
  }
  return lines.join('\n');
}
