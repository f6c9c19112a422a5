// Runs the built CLI for integration tests. Every test file shares one cache (tools tree, packages),
// so the tools tree is built once per machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../..');
export const cli = join(root, 'dist/cli.js');
export const cache = process.env.BOXES_IT_CACHE ?? '/var/tmp/boxes-it-cache';
export const EPOCH = '1763856000';
export const VERSION = '20251123.0';
export const ROOTLESS_USER = 'boxes-test';

export function workDir(): string {
  mkdirSync(cache, { recursive: true });
  // Inside this run's scratch directory (test/support/scratch.ts), which its teardown removes.
  const dir = mkdtempSync(join(process.env.BOXES_TEST_SCRATCH ?? '/var/tmp', 'boxes-it-'));
  chmodSync(dir, 0o755);
  return dir;
}

export interface Built {
  artifacts: { path: string; sha256: string; digest: string; packages: 'installed' | 'cached' | null }[];
  toolsTree: string;
}

export interface RunAs {
  user?: string;
  /** Another project's CLI (a copy of the tree with an edit). */
  cli?: string;
  cacheDir?: string;
  env?: Record<string, string>;
}

export function boxesRaw(args: string[], opts: RunAs = {}) {
  const env = { ...process.env, ...opts.env, BOXES_CACHE_DIR: opts.cacheDir ?? cache };
  const argv = ['node', opts.cli ?? cli, ...args];
  // The user's temporary files go where any user's do (the run's scratch directory is root's).
  const cmd = opts.user ? ['runuser', '-u', opts.user, '--', 'env', `BOXES_CACHE_DIR=${env.BOXES_CACHE_DIR}`, 'TMPDIR=/tmp', ...argv] : argv;
  return spawnSync(cmd[0]!, cmd.slice(1), { env, encoding: 'utf8', timeout: 40 * 60_000, maxBuffer: 64 << 20 });
}

export function build(args: string[], opts: RunAs = {}): Built {
  const r = boxesRaw(['build', '--source-date-epoch', EPOCH, '--json', ...args], opts);
  if (r.status !== 0) throw new Error(`boxes build ${args.join(' ')} exited ${r.status}\n${r.stderr.slice(-4000)}`);
  return JSON.parse(r.stdout) as Built;
}

/** A copy of the project (tree, hooks, dist) to edit; node_modules is the project's. */
export async function projectCopy(dir: string): Promise<string> {
  const { treeParts } = await import('../../src/verify/verify.js');
  for (const part of [...(await treeParts(root)), 'dist']) cpSync(join(root, part), join(dir, part), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

export const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });

/**
 * An unprivileged user with subordinate id ranges, for rootless builds; undefined when the tests
 * already run unprivileged (then every build is rootless).
 */
export function rootlessUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (spawnSync('id', [ROOTLESS_USER]).status !== 0) sh('useradd', ['--create-home', ROOTLESS_USER]);
  // useradd assigns ranges where /etc/login.defs asks for them; make sure of it either way.
  for (const [file, flag] of [
    ['/etc/subuid', '--add-subuids'],
    ['/etc/subgid', '--add-subgids'],
  ] as const) {
    const text = spawnSync('cat', [file], { encoding: 'utf8' }).stdout ?? '';
    if (!new RegExp(`^${ROOTLESS_USER}:`, 'm').test(text)) sh('usermod', [flag, '400000-465535', ROOTLESS_USER]);
  }
  return ROOTLESS_USER;
}

/**
 * Runs a boxes command as the rootless test user with its own cache (kept next to the suites'
 * shared cache, so packages are downloaded once per machine), writing into DIR. Everything it
 * wrote there must belong to that user, and nothing may be left in the temporary directories.
 */
function asRootless<T>(dir: string, command: (opts: RunAs) => T): T {
  const user = rootlessUser();
  if (!user) return command({});
  const userCache = join(cache, `user-${user}`);
  for (const d of [dir, userCache]) {
    mkdirSync(d, { recursive: true });
    sh('chown', [`${user}:${user}`, d]);
  }
  const result = command({ user, cacheDir: userCache });
  // The installed package sets mkosi caches (Incremental=) keep the image's owners: the user's
  // subordinate ids, which `boxes clean` removes through the same mapping.
  const foreign = sh('find', [
    dir,
    userCache,
    '-path',
    '*/mkosi-cache/*/*.cache',
    '-prune',
    '-o',
    '(',
    '!',
    '-user',
    user,
    '-o',
    '!',
    '-group',
    user,
    ')',
    '-printf',
    '%u:%g %p\n',
  ]).trim();
  if (foreign) throw new Error(`the rootless build left files of other owners:\n${foreign.split('\n').slice(0, 10).join('\n')}`);
  const stray = sh('find', ['/tmp', '/var/tmp', '-mindepth', '1', '-maxdepth', '1', '-user', user]).trim();
  if (stray) throw new Error(`the rootless build wrote outside its output and cache directories:\n${stray}`);
  return result;
}

/** Builds as the rootless test user into DIR/out, with root's tools tree used read-only. */
export function buildRootless(args: string[], dir: string, toolsTree: string): Built {
  return asRootless(dir, (opts) => build([...args, '--output-dir', join(dir, 'out'), '--tools-tree', toolsTree], opts));
}

export interface Reproduced {
  artifact: string;
  sha256: string;
  identical: boolean;
  statement: string;
}

/**
 * `boxes reproduce RECORD...` as the rootless test user into DIR/out, one result per record. The
 * verification statements go next to the records, so that user gets the records' directories (as a
 * second runner would own its copy of the build's outputs).
 */
export function reproduceRootless(records: string[], dir: string, toolsTree: string): Reproduced[] {
  const user = rootlessUser();
  if (user) for (const d of new Set(records.map((r) => dirname(r)))) sh('chown', [user, d]);
  return asRootless(dir, (opts) => {
    const r = boxesRaw(['reproduce', ...records, '--output-dir', join(dir, 'out'), '--tools-tree', toolsTree, '--json'], opts);
    if (r.status !== 0) throw new Error(`boxes reproduce ${records.join(' ')} exited ${r.status}\n${r.stderr.slice(-4000)}`);
    const shown = JSON.parse(r.stdout) as Reproduced | Reproduced[];
    return Array.isArray(shown) ? shown : [shown];
  });
}

export interface Verified {
  variations: { name: string; detail: string }[];
  skipped: { name: string; why: string }[];
  artifacts: { artifact: string; identical: boolean; sha256: [string, string]; where: string[] }[];
}

/** `boxes verify` as the rootless test user into DIR/out, with every variation it can apply. */
export function verifyRootless(args: string[], dir: string, toolsTree: string): Verified {
  return asRootless(dir, (opts) => {
    const r = boxesRaw(['verify', '--source-date-epoch', EPOCH, '--output-dir', join(dir, 'out'), '--tools-tree', toolsTree, '--json', ...args], opts);
    if (r.status !== 0 && r.status !== 1) throw new Error(`boxes verify exited ${r.status}\n${r.stderr.slice(-4000)}`);
    return JSON.parse(r.stdout) as Verified;
  });
}
