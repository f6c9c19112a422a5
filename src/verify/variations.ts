/**
 * What `boxes verify` changes for its second build, after reprotest: each variation a rebuilder's
 * machine may differ in, applied where this machine allows it and reported as skipped (with the
 * reason) where it does not. The first build runs as the caller runs boxes.
 */
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { UsageError } from '../system/errors.js';
import type { BuildEnvironment } from '../image/build.js';
import type { BuildMode } from '../rootless/build-mode.js';
import { ifMissing } from '../system/expected.js';

export const VARIATIONS = ['path', 'filesystem', 'umask', 'timezone', 'locale', 'hostname', 'cpus', 'time', 'user'] as const;
export type Variation = (typeof VARIATIONS)[number];

export interface Applied {
  name: Variation;
  /** What the second build gets, in words: `TZ=Etc/GMT-14`, `workspace on tmpfs`. */
  detail: string;
}

export interface Skipped {
  name: Variation;
  why: string;
}

export interface VariationPlan {
  applied: Applied[];
  skipped: Skipped[];
  environment: BuildEnvironment;
  /** The umask boxes is started with for the second build. */
  umask?: number;
  /** Removes what the plan made (a workspace on tmpfs). */
  dispose: () => Promise<void>;
}

export function parseVariations(vary: string | undefined, noVary: string | undefined): Set<Variation> {
  const list = (text: string | undefined, flag: string) => {
    const names = (text ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !(VARIATIONS as readonly string[]).includes(n));
    if (unknown.length > 0) throw new UsageError(`${flag}: unknown variation ${unknown.map((n) => `'${n}'`).join(', ')}`, `choose from ${VARIATIONS.join(', ')}`);
    return names as Variation[];
  };
  const chosen = new Set<Variation>(vary === undefined ? VARIATIONS : list(vary, '--vary'));
  for (const n of list(noVary, '--no-vary')) chosen.delete(n);
  return chosen;
}

/** The facts a plan depends on; tests pass their own. */
export interface MachineFacts {
  mode: BuildMode['kind'];
  cpus: number[];
  umask: number;
  env: NodeJS.ProcessEnv;
  hostname: string;
  /** A tmpfs directory the second build's workspace can live in, when the first's is not on one. */
  tmpfs?: string;
  workspaceOnTmpfs: boolean;
}

const TMPFS_MAGIC = 0x01021994;

export async function machineFacts(mode: BuildMode['kind'], workspace: string): Promise<MachineFacts> {
  const onTmpfs = async (dir: string) => (await statfs(dir).catch(ifMissing(undefined)))?.type === TMPFS_MAGIC;
  const affinity = Array.from({ length: availableParallelism() }, (_, i) => i);
  const umask = process.umask();
  return {
    mode,
    cpus: affinity,
    umask,
    env: process.env,
    hostname: hostname(),
    tmpfs: (await onTmpfs('/dev/shm')) ? '/dev/shm' : undefined,
    workspaceOnTmpfs: await onTmpfs(workspace),
  };
}

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

/** The second build's environment for the chosen variations. Pure but for the tmpfs directory. */
export async function planVariations(
  chosen: Set<Variation>,
  facts: MachineFacts,
  remove: (dir: string) => Promise<void> = (dir) => rm(dir, { recursive: true, force: true }),
): Promise<VariationPlan> {
  const applied: Applied[] = [];
  const skipped: Skipped[] = [];
  const env: Record<string, string> = {};
  const shell: string[] = [];
  const args: string[] = [];
  const prefix: string[] = [];
  let workspaceDir: string | undefined;
  let umask: number | undefined;
  const want = (name: Variation) => chosen.has(name);

  if (want('path')) applied.push({ name: 'path', detail: 'the config tree is a copy at another path, and the output goes to another directory' });
  if (want('filesystem')) {
    if (facts.workspaceOnTmpfs) skipped.push({ name: 'filesystem', why: "mkosi's workspace is on tmpfs already; point BOXES_CACHE_DIR at a disk to vary it" });
    else if (!facts.tmpfs) skipped.push({ name: 'filesystem', why: 'no tmpfs (/dev/shm) to put the second workspace on' });
    else {
      workspaceDir = await mkdtemp(`${facts.tmpfs}/boxes-verify-`);
      applied.push({ name: 'filesystem', detail: `mkosi's workspace on tmpfs (${workspaceDir}) instead of the cache's filesystem` });
    }
  }
  if (want('umask')) {
    // Applied to boxes itself, as a rebuilder's shell would: boxes then builds under 022.
    umask = facts.umask === 0o002 ? 0o022 : 0o002;
    applied.push({ name: 'umask', detail: `boxes started with umask ${octal(umask)} (first build: ${octal(facts.umask)}); mkosi is given 0022, what boxes writes keeps it` });
  }
  if (want('timezone')) {
    env.TZ = facts.env.TZ === 'Etc/GMT-14' ? 'Etc/GMT+12' : 'Etc/GMT-14';
    applied.push({ name: 'timezone', detail: `TZ=${env.TZ} (first build: ${facts.env.TZ ?? 'unset'})` });
  }
  if (want('locale')) {
    const first = facts.env.LC_ALL ?? facts.env.LANG ?? 'unset';
    const other = first.startsWith('fr_CH') ? 'et_EE.UTF-8' : 'fr_CH.UTF-8';
    Object.assign(env, { LANG: other, LC_ALL: other, LANGUAGE: other.slice(0, 2) });
    applied.push({ name: 'locale', detail: `LANG=LC_ALL=${other} (first build: ${first})` });
  }
  if (want('hostname')) {
    if (facts.mode === 'single-uid') skipped.push({ name: 'hostname', why: 'a UTS namespace needs root or a subordinate id range (--single-uid has neither)' });
    else {
      const name = facts.hostname === 'boxes-second-build' ? 'boxes-other-build' : 'boxes-second-build';
      prefix.push('unshare', '--uts', '--');
      shell.push('hostname "$1" && shift');
      args.push(name);
      applied.push({ name: 'hostname', detail: `hostname ${name} in a UTS namespace (first build: ${facts.hostname})` });
    }
  }
  if (want('cpus')) {
    if (facts.cpus.length < 2) skipped.push({ name: 'cpus', why: 'this machine gives boxes one CPU' });
    else {
      prefix.unshift('taskset', '--cpu-list', String(facts.cpus[0]));
      applied.push({ name: 'cpus', detail: `1 CPU (first build: ${facts.cpus.length})` });
    }
  }
  if (want('time'))
    skipped.push({
      name: 'time',
      why: 'not implemented: a shifted clock (libfaketime) does not follow mkosi into its sandboxed tools; SOURCE_DATE_EPOCH is fixed for both builds',
    });
  if (want('user'))
    skipped.push({ name: 'user', why: 'one invocation runs as one user: compare a root build with `boxes reproduce` of its record as a normal user (the test suites do)' });

  const wrapper = shell.length > 0 ? [...prefix, 'sh', '-c', `${shell.join(' && ')} && exec "$@"`, 'sh', ...args] : prefix;
  return {
    applied,
    skipped,
    environment: { env, wrapper, workspaceDir },
    umask,
    dispose: async () => {
      if (workspaceDir) await remove(workspaceDir);
    },
  };
}
