/** `boxes executor` flags (as a runner's config.toml passes them) -> validated options. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../system/errors.js';
import { optionProblems } from '../system/option-problems.js';
import { pathKind } from '../system/path-kind.js';

export interface RawExecutorOptions {
  image?: string;
  connect?: string;
  network?: string;
  pool?: string;
  memory?: string;
  cpus?: string;
  bootTimeout?: string;
  stateDir?: string;
  olderThan?: string;
}

export interface ExecutorOptions {
  /** A qcow2 file, or `POOL/VOLUME` of a libvirt storage volume. */
  image?: string;
  connect: string;
  /** `user`: QEMU user networking, SSH on a free port of 127.0.0.1; else a libvirt network. */
  network: string;
  /** Storage pool for the per-job overlay volumes. */
  pool: string;
  memoryMiB: number;
  cpus: number;
  bootTimeoutMinutes: number;
  /** Per-job keys and state; never inside a VM. */
  stateDir: string;
  olderThanHours: number;
}

const count = (what: string, max: number) =>
  z
    .string()
    .regex(/^[1-9][0-9]*$/, { error: (i) => `${what} must be a whole number, not '${String(i.input)}'`, abort: true })
    .refine((v) => Number(v) <= max, { error: `${what} must be at most ${max}` });
const amount = (what: string, unit: string, max: number, zero: 'zero allowed' | 'more than zero') =>
  z
    .string()
    .regex(/^\d+(\.\d+)?$/, { error: `${what} must be a number of ${unit}`, abort: true })
    .refine((v) => (zero === 'zero allowed' || Number(v) > 0) && Number(v) <= max, {
      error: `${what} must be ${zero === 'zero allowed' ? 'from 0' : 'more than 0'} to ${max} ${unit}`,
    });
const name = (what: string) => z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/, { error: (i) => `${what} '${String(i.input)}' is not a libvirt name` });

const schema = z.object({
  image: z.string().min(1).optional(),
  connect: z.string().min(1).optional(),
  network: name('--network').optional(),
  pool: name('--pool').optional(),
  memory: count('--memory (MiB)', 1 << 20).optional(),
  cpus: count('--cpus', 1024).optional(),
  bootTimeout: amount('--boot-timeout', 'minutes', 1440, 'more than zero').optional(),
  stateDir: z.string().min(1).optional(),
  olderThan: amount('--older-than', 'hours', 87600, 'zero allowed').optional(),
});

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME ? resolve(env.XDG_STATE_HOME) : join(homedir(), '.local/state');
  return join(base, 'boxes/executor');
}

/** The options, parsed, with --state-dir checked to be no file: one line before any VM is touched. */
export async function executorOptions(raw: RawExecutorOptions, env: NodeJS.ProcessEnv = process.env): Promise<ExecutorOptions> {
  const options = parseExecutorOptions(raw, env);
  if ((await pathKind(options.stateDir)) === 'file') throw new UsageError(`--state-dir: ${options.stateDir} is a file, not a directory`, 'pass a directory for per-job state');
  return options;
}

export function parseExecutorOptions(raw: RawExecutorOptions, env: NodeJS.ProcessEnv = process.env): ExecutorOptions {
  const r = schema.safeParse(raw);
  if (!r.success) throw new UsageError(optionProblems(r.error).join('; '));
  const o = r.data;
  return {
    image: o.image,
    connect: o.connect ?? 'qemu:///system',
    network: o.network ?? 'user',
    pool: o.pool ?? 'default',
    memoryMiB: Number(o.memory ?? '2048'),
    cpus: Number(o.cpus ?? '2'),
    bootTimeoutMinutes: Number(o.bootTimeout ?? '10'),
    stateDir: resolve(o.stateDir ?? defaultStateDir(env)),
    olderThanHours: Number(o.olderThan ?? '24'),
  };
}
