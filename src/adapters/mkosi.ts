/**
 * Finding and provisioning mkosi: $BOXES_MKOSI, else a system mkosi >= 25, else Debian trixie's
 * mkosi 25.3-7 unpacked (checksum-verified) into the per-user cache and run as `python3 -m mkosi`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PrerequisiteError } from '../system/errors.js';
import { cachePaths } from '../system/paths.js';
import { run } from '../system/runner.js';

export const PINNED = {
  version: '25.3-7',
  url: 'http://deb.debian.org/debian/pool/main/m/mkosi/mkosi_25.3-7_all.deb',
  sha256: 'ef56c81324fd47d65490e944ec4697bb3f6fb21326d0d071bfc2fb5ba5383252',
} as const;

export const MINIMUM_MAJOR = 25;

/**
 * The umask mkosi runs under, given to its process alone: mkosi 25 copies its default initrd's files
 * (and hooks create theirs) under the caller's umask, which would otherwise reach the image.
 */
export const MKOSI_UMASK = 0o022;

export interface Mkosi {
  /** argv prefix that runs mkosi */
  argv: string[];
  env: Record<string, string>;
  version: string;
  source: 'env' | 'system' | 'pinned';
}

export function parseMkosiVersion(output: string): { text: string; major: number } | undefined {
  const m = /mkosi\s+(\d+)(\.\d+)*/.exec(output);
  return m ? { text: m[0].replace(/^mkosi\s+/, ''), major: Number(m[1]) } : undefined;
}

async function probe(argv: string[], env: Record<string, string> = {}): Promise<string | undefined> {
  const [file, ...args] = argv;
  const r = await execa(file!, [...args, '--version'], { env, reject: false, timeout: 30_000 });
  if (r.failed) return undefined;
  return parseMkosiVersion(String(r.stdout))?.text;
}

function pinnedDir(): string {
  return join(cachePaths().mkosi, PINNED.version);
}

function pinnedCommand(): { argv: string[]; env: Record<string, string> } {
  return {
    argv: ['python3', '-m', 'mkosi'],
    env: { PYTHONPATH: join(pinnedDir(), 'usr/lib/python3/dist-packages') },
  };
}

/**
 * mkosi's sandbox program (what `mkosi sandbox` runs), from the same mkosi: the pinned one's file,
 * else wherever the Python that runs mkosi imports it from.
 */
export async function mkosiSandboxScript(mkosi: Pick<Mkosi, 'source' | 'env'>): Promise<string> {
  if (mkosi.source === 'pinned') return join(pinnedDir(), 'usr/lib/python3/dist-packages/mkosi/sandbox.py');
  const r = await execa('python3', ['-c', 'import sys, mkosi.sandbox as s; sys.stdout.write(s.__file__)'], { env: mkosi.env, reject: false, timeout: 30_000 });
  const path = String(r.stdout);
  if (r.failed || !path.endsWith('.py'))
    throw new PrerequisiteError("python3 cannot import this mkosi's sandbox module (mkosi.sandbox)", 'unset BOXES_MKOSI to use the pinned mkosi, or put its module on PYTHONPATH');
  return path;
}

/** Finds a usable mkosi without downloading anything. */
export async function findMkosi(env: NodeJS.ProcessEnv = process.env): Promise<Mkosi | undefined> {
  if (env.BOXES_MKOSI) {
    const version = await probe([env.BOXES_MKOSI]);
    if (!version) throw new PrerequisiteError(`BOXES_MKOSI=${env.BOXES_MKOSI} does not run as mkosi`, 'point it at an mkosi executable or unset it');
    return { argv: [env.BOXES_MKOSI], env: {}, version, source: 'env' };
  }
  const system = await probe(['mkosi']);
  if (system && Number(system.split('.')[0]) >= MINIMUM_MAJOR) return { argv: ['mkosi'], env: {}, version: system, source: 'system' };
  if (existsSync(join(pinnedDir(), '.complete'))) {
    const cmd = pinnedCommand();
    const version = await probe(cmd.argv, cmd.env);
    if (version) return { ...cmd, version, source: 'pinned' };
  }
  return undefined;
}

/** Downloads, verifies and unpacks the pinned mkosi. Idempotent; the directory appears atomically. */
export async function provisionMkosi(options: { signal?: AbortSignal; logFile?: string } = {}): Promise<Mkosi> {
  const found = await findMkosi();
  if (found) return found;
  const parent = cachePaths().mkosi;
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, '.provision-'));
  try {
    const response = await fetch(PINNED.url, { signal: options.signal });
    if (!response.ok) throw new PrerequisiteError(`cannot download mkosi from ${PINNED.url}: HTTP ${response.status}`, 'check the network or set BOXES_MKOSI');
    const deb = Buffer.from(await response.arrayBuffer());
    const digest = createHash('sha256').update(deb).digest('hex');
    if (digest !== PINNED.sha256)
      throw new PrerequisiteError(`mkosi download has sha256 ${digest}, expected ${PINNED.sha256}`, 'the mirror served another file; retry or set BOXES_MKOSI');
    const debPath = join(staging, 'mkosi.deb');
    await writeFile(debPath, deb);
    const root = join(staging, 'root');
    await mkdir(root);
    await run(['dpkg-deb', '-x', debPath, root], { signal: options.signal, logFile: options.logFile, what: 'unpacking mkosi' });
    await writeFile(join(root, '.complete'), `${PINNED.version} ${PINNED.sha256}\n`);
    await rm(pinnedDir(), { recursive: true, force: true });
    await rename(root, pinnedDir());
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  const found2 = await findMkosi();
  if (!found2) throw new PrerequisiteError('the provisioned mkosi does not run', 'python3 >= 3.9 is required');
  return found2;
}
