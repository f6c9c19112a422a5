/**
 * What `boxes publish` may publish from an output directory: the artifacts SHA256SUMS lists, each
 * checked against SHA256SUMS, its `.SHA256`, its build record and its verification statement
 * before anything leaves the machine.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File } from '../system/sha256.js';
import { recordName } from '../record/write-record.js';
import { readRecord } from '../record/read-record.js';
import type { BuildRecord } from '../record/schema.js';
import { PublishRefused, UsageError } from '../system/errors.js';
import { statementProblem } from '../record/statement.js';
import { ifMissing } from '../system/expected.js';

export type ArtifactKind = 'container' | 'qcow2' | 'box';

export interface Publishable {
  name: string;
  path: string;
  kind: ArtifactKind;
  sha256: string;
  record: BuildRecord;
  /** A second build reproduced these bytes (false only under --unverified). */
  verified: boolean;
}

export interface InventoryOptions {
  kinds: readonly ArtifactKind[];
  includeExecutor: boolean;
  unverified: boolean;
}

const KINDS: Record<string, ArtifactKind> = { tar: 'container', qcow2: 'qcow2', box: 'box' };

export function kindOf(name: string): ArtifactKind | undefined {
  return KINDS[/\.([a-z0-9]+)$/.exec(name)?.[1] ?? ''];
}

/** sha256sum's format: `<hex>  <name>` (a `*` before the name marks binary mode). */
export function parseSha256Sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (m) sums.set(m[2]!, m[1]!);
  }
  return sums;
}

/**
 * A name read from SHA256SUMS, a record or a statement becomes a path in the output directory and
 * a file name at the target: only a plain file name may (no directory part, no `..`, no control byte).
 */
export function plainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\\') && !/[\u0000-\u001f\u007f]/.test(name);
}

async function readSums(dir: string): Promise<Map<string, string>> {
  const text = await readFile(join(dir, 'SHA256SUMS'), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT' && error.code !== 'ENOTDIR' && error.code !== 'EISDIR') throw error;
    throw new UsageError(`${dir} has no SHA256SUMS: it is not the output directory of a boxes build`, 'pass the --output-dir that boxes build wrote to');
  });
  const sums = parseSha256Sums(text);
  const bad = [...sums.keys()].filter((name) => !plainFileName(name));
  if (bad.length > 0)
    throw new UsageError(
      `${dir}/SHA256SUMS names ${bad.map((n) => JSON.stringify(n)).join(', ')}: only plain file names may be published`,
      'nothing was published; rebuild into a fresh output directory',
    );
  return sums;
}

/** Every problem with one artifact's bytes: each check is against what the build wrote. */
async function byteProblems(dir: string, name: string, sums: Map<string, string>, record: BuildRecord, sha: string): Promise<string[]> {
  const problems: string[] = [];
  if (sums.get(name) !== sha) problems.push(`${name} has sha256 ${sha}, SHA256SUMS says ${sums.get(name)}: the file changed after the build`);
  if (record.artifact.sha256 !== sha) problems.push(`${name} has sha256 ${sha}, its build record says ${record.artifact.sha256}`);
  const own = await readFile(join(dir, `${name}.SHA256`), 'utf8').catch(ifMissing(undefined));
  if (own !== undefined && !own.startsWith(`${sha} `)) problems.push(`${name}.SHA256 does not match ${name}`);
  const recordSha = await sha256File(join(dir, recordName(name)));
  if (sums.has(recordName(name)) && sums.get(recordName(name)) !== recordSha) problems.push(`${recordName(name)} changed after the build (SHA256SUMS)`);
  return problems;
}

export interface Inventory {
  artifacts: Publishable[];
  /** Left out on purpose (the executor image without --include-executor). */
  skipped: string[];
}

export async function inventory(dir: string, options: InventoryOptions): Promise<Inventory> {
  const sums = await readSums(dir);
  const artifacts: Publishable[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  for (const name of [...sums.keys()].sort()) {
    const kind = kindOf(name);
    if (!kind || !options.kinds.includes(kind)) continue;
    const record = await readRecord(join(dir, recordName(name)));
    if (record.artifact.name !== name)
      throw new UsageError(
        `${recordName(name)} is the record of ${JSON.stringify(record.artifact.name)}, not of ${name}`,
        'nothing was published; rebuild into a fresh output directory',
      );
    if (record.image.profile === 'libvirt-executor' && !options.includeExecutor) {
      skipped.push(`${name} (the executor image is published only with --include-executor)`);
      continue;
    }
    const path = join(dir, name);
    const sha = await sha256File(path).catch(ifMissing(undefined));
    if (sha === undefined) {
      problems.push(`${name} is listed in SHA256SUMS but missing`);
      continue;
    }
    problems.push(...(await byteProblems(dir, name, sums, record, sha)));
    const unproven = await statementProblem(path, sha);
    if (unproven && !options.unverified) problems.push(unproven);
    artifacts.push({ name, path, kind, sha256: sha, record, verified: unproven === undefined });
  }
  if (problems.length > 0)
    throw new PublishRefused(
      `nothing published: ${problems.join('; ')}`,
      problems.some((p) => /statement/.test(p)) ? 'prove it with `boxes verify` or `boxes reproduce RECORD` on another runner, or pass --unverified' : 'rebuild it',
    );
  if (artifacts.length === 0)
    throw new UsageError(
      `${dir} holds no ${options.kinds.join(' or ')} artifact to publish${skipped.length ? ` (skipped: ${skipped.join(', ')})` : ''}`,
      'build first, or point --output-dir at the build',
    );
  return { artifacts, skipped };
}
