// Runs the built CLI for integration tests. Every test file shares one cache (tools tree, packages),
// so the tools tree is built once per machine.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, symlinkSync } from 'node:fs';
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

function command(args: string[], opts: RunAs) {
  const env = { ...process.env, ...opts.env, BOXES_CACHE_DIR: opts.cacheDir ?? cache };
  const argv = ['node', opts.cli ?? cli, ...args];
  // The user's temporary files go where any user's do (the run's scratch directory is root's).
  const cmd = opts.user ? ['runuser', '-u', opts.user, '--', 'env', `BOXES_CACHE_DIR=${env.BOXES_CACHE_DIR}`, 'TMPDIR=/tmp', ...argv] : argv;
  return { cmd, env };
}

export function boxesRaw(args: string[], opts: RunAs = {}) {
  const { cmd, env } = command(args, opts);
  return spawnSync(cmd[0]!, cmd.slice(1), { env, encoding: 'utf8', timeout: 40 * 60_000, maxBuffer: 64 << 20 });
}

export interface Finished {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * boxesRaw without blocking, for commands a suite runs side by side (builds, or a boot beside one
 * other VM: never more, a TCG guest starved of CPU can hang). Output goes to files, not pipes, so a
 * synchronous child the suite runs meanwhile cannot stall this one on a full pipe.
 */
export function boxesAsync(args: string[], opts: RunAs = {}): Promise<Finished> {
  const { cmd, env } = command(args, opts);
  const out = mkdtempSync(join(process.env.BOXES_TEST_SCRATCH ?? '/var/tmp', 'boxes-output-'));
  const [stdout, stderr] = ['stdout', 'stderr'].map((n) => openSync(join(out, n), 'w'));
  const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['ignore', stdout, stderr], timeout: 40 * 60_000 });
  for (const fd of [stdout!, stderr!]) closeSync(fd);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: readFileSync(join(out, 'stdout'), 'utf8'), stderr: readFileSync(join(out, 'stderr'), 'utf8') }));
  });
}

/**
 * Work started now for a later test to await: a failure belongs to the test that awaits it, not to
 * whichever test runs when it happens (an unawaited rejection would fail that one instead).
 */
export function awaitedLater<T>(work: Promise<T>): () => Promise<T> {
  const settled = work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return async () => {
    const r = await settled;
    if (!r.ok) throw r.error;
    return r.value;
  };
}

const BUILD = ['build', '--source-date-epoch', EPOCH, '--json'];

function built(args: string[], r: Finished): Built {
  if (r.status !== 0) throw new Error(`boxes build ${args.join(' ')} exited ${r.status}\n${r.stderr.slice(-4000)}`);
  return JSON.parse(r.stdout) as Built;
}

export function build(args: string[], opts: RunAs = {}): Built {
  return built(args, boxesRaw([...BUILD, ...args], opts));
}

/** build, side by side with other commands. */
export async function buildAsync(args: string[], opts: RunAs = {}): Promise<Built> {
  return built(args, await boxesAsync([...BUILD, ...args], opts));
}

/** A copy of the project (tree, hooks, dist) to edit; node_modules is the project's. */
export async function projectCopy(dir: string): Promise<string> {
  const { treeParts } = await import('../../src/verify/verify.js');
  for (const part of [...(await treeParts(root)), 'dist']) cpSync(join(root, part), join(dir, part), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/**
 * The tools tree `boxes setup` made in the suites' cache (`npm test` runs it first): a rootless
 * build started beside root's first build reads it before root's build has named it.
 */
export function sharedToolsTree(): string {
  const r = boxesRaw(['setup', '--check']);
  const path = /^ok\s+tools tree\s+(\/\S+)$/m.exec(r.stdout)?.[1];
  if (!path) throw new Error(`boxes setup --check names no tools tree in ${cache} (run \`BOXES_CACHE_DIR=${cache} boxes setup\`):\n${r.stdout}${r.stderr}`);
  return path;
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

/** The rootless user's options, with DIRS and its own cache made and given to it. */
function rootlessOptions(user: string, dirs: string[]): RunAs {
  const userCache = join(cache, `user-${user}`);
  for (const d of [...dirs, userCache]) {
    mkdirSync(d, { recursive: true });
    sh('chown', [`${user}:${user}`, d]);
  }
  return { user, cacheDir: userCache };
}

/** Everything the user's commands wrote in DIRS belongs to it, and nothing is left in the temporary directories. */
function expectRootlessLeftovers(user: string, dirs: string[], cacheDir: string): void {
  // The installed package sets mkosi caches (Incremental=) keep the image's owners: the user's
  // subordinate ids, which `boxes clean` removes through the same mapping.
  const foreign = sh('find', [
    ...dirs,
    cacheDir,
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
}

/**
 * Runs a boxes command as the rootless test user with its own cache (kept next to the suites'
 * shared cache, so packages are downloaded once per machine), writing into DIR. Everything it
 * wrote there must belong to that user, and nothing may be left in the temporary directories.
 */
function asRootless<T>(dir: string, command: (opts: RunAs) => T): T {
  const user = rootlessUser();
  if (!user) return command({});
  const opts = rootlessOptions(user, [dir]);
  const result = command(opts);
  expectRootlessLeftovers(user, [dir], opts.cacheDir!);
  return result;
}

/**
 * asRootless for a command that runs beside others (root's: the user's cache is its own). The
 * leftovers are checked once it has finished; never start two of these at once (they would share
 * the user's install cache, and each would see the other's temporary files).
 */
async function asRootlessAsync<T>(dir: string, command: (opts: RunAs) => Promise<T>): Promise<T> {
  const user = rootlessUser();
  if (!user) return command({});
  const opts = rootlessOptions(user, [dir]);
  const result = await command(opts);
  expectRootlessLeftovers(user, [dir], opts.cacheDir!);
  return result;
}

/** Builds as the rootless test user into DIR/out, with root's tools tree used read-only. */
export function buildRootless(args: string[], dir: string, toolsTree: string): Built {
  return asRootless(dir, (opts) => build([...args, '--output-dir', join(dir, 'out'), '--tools-tree', toolsTree], opts));
}

/** buildRootless beside root's commands (see asRootlessAsync). */
export function buildRootlessAsync(args: string[], dir: string, toolsTree: string): Promise<Built> {
  return asRootlessAsync(dir, (opts) => buildAsync([...args, '--output-dir', join(dir, 'out'), '--tools-tree', toolsTree], opts));
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

/** `boxes verify` as the rootless test user into DIR/out, with every variation it can apply, beside root's commands (see asRootlessAsync). */
export function verifyRootlessAsync(args: string[], dir: string, toolsTree: string): Promise<Verified> {
  return asRootlessAsync(dir, async (opts) => {
    const r = await boxesAsync(['verify', '--source-date-epoch', EPOCH, '--output-dir', join(dir, 'out'), '--tools-tree', toolsTree, '--json', ...args], opts);
    if (r.status !== 0 && r.status !== 1) throw new Error(`boxes verify exited ${r.status}\n${r.stderr.slice(-4000)}`);
    return JSON.parse(r.stdout) as Verified;
  });
}
