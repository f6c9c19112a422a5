/**
 * `boxes publish`: everything is checked before anything leaves the machine (bytes against
 * SHA256SUMS and records, verification statements, signing keys, the catalog merge); then
 * containers go to the registry and disk images and boxes to their target, the catalog last.
 */
import { resolve } from 'node:path';
import { UsageError } from '../system/errors.js';
import { pathKind, requirePath } from '../system/path-kind.js';
import { directoryTarget, gitlabTarget } from './file-targets.js';
import { inventory, type ArtifactKind } from './inventory.js';
import type { PublishOptions } from './options.js';
import { planFiles } from './publish-files.js';
import { checkSigning, pushContainers, type Pushed } from './registry.js';
import { openToolbox } from '../image/toolbox.js';

export interface PublishReport {
  pushed: Pushed[];
  uploaded: string[];
  catalog?: string;
  skipped: string[];
  /** Published under --unverified: no second build vouches for them. */
  unverified: string[];
}

export interface PublishIo {
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  onEvent?: (line: string) => void;
}

/** Every path an option names, checked before anything is read or sent. */
async function checkPaths(options: PublishOptions): Promise<void> {
  await requirePath('--output-dir', options.outputDir, 'directory');
  const r = options.registry;
  if (r?.sigstoreKey) await requirePath('--sigstore-key', r.sigstoreKey, 'file');
  if (r?.passphraseFile) await requirePath('--sign-passphrase-file', r.passphraseFile, 'file');
  if (r?.authfile) await requirePath('--authfile', r.authfile, 'file');
  if (r?.registriesD) await requirePath('--registries-d', r.registriesD, 'directory');
  if (options.boxes?.kind === 'directory' && (await pathKind(options.boxes.dir)) === 'file')
    throw new UsageError(`--boxes: ${options.boxes.dir} is a file, not a directory`, 'pass a directory or a GitLab project API URL');
}

export async function publish(options: PublishOptions, io: PublishIo = {}): Promise<PublishReport> {
  await checkPaths(options);
  const dir = resolve(options.outputDir);
  const kinds: ArtifactKind[] = [...(options.registry ? (['container'] as const) : []), ...(options.boxes ? (['qcow2', 'box'] as const) : [])];
  const { artifacts, skipped } = await inventory(dir, { kinds, includeExecutor: options.includeExecutor, unverified: options.unverified });
  const unverified = artifacts.filter((a) => !a.verified).map((a) => a.name);
  for (const name of unverified) io.onEvent?.(`WARNING: publishing ${name} UNVERIFIED: no second build reproduced it (--unverified)`);
  const containers = artifacts.filter((a) => a.kind === 'container');
  const files = artifacts.filter((a) => a.kind !== 'container');
  if (options.registry) await checkSigning(options.registry, io.signal);
  const target = !options.boxes
    ? undefined
    : options.boxes.kind === 'directory'
      ? directoryTarget(options.boxes.dir, options.boxes.baseUrl, io.signal)
      : gitlabTarget(options.boxes.projectApi, options.boxes.pkg, { env: io.env, signal: io.signal });
  const plan = target && files.length > 0 ? await planFiles(target, files, options.boxes?.boxName) : undefined;
  const pushed: Pushed[] = [];
  if (options.registry && containers.length > 0) {
    io.onEvent?.(`pushing ${containers.length} container image${containers.length > 1 ? 's' : ''} to ${options.registry.registry}`);
    const tools = await openToolbox({ signal: io.signal, say: io.onEvent });
    pushed.push(...(await pushContainers(options.registry, containers, tools, io.signal)));
  }
  let result: { uploaded: string[]; catalog?: string } = { uploaded: [] };
  if (plan && target) {
    io.onEvent?.(`publishing ${files.length} disk image${files.length > 1 ? 's' : ''} to ${target.where}`);
    result = await plan.run();
  }
  return { pushed, ...result, skipped, unverified };
}

export function formatPublish(report: PublishReport): string {
  const lines = [
    ...report.pushed.map((p) => `pushed    ${p.reference} (${p.digest})`),
    ...report.uploaded.map((u) => `uploaded  ${u}`),
    ...(report.catalog ? [`catalog   ${report.catalog}`] : []),
    ...report.skipped.map((s) => `skipped   ${s}`),
    ...report.unverified.map((u) => `UNVERIFIED ${u}`),
  ];
  return lines.join('\n');
}
