/** `boxes executor` flags (as a runner's config.toml passes them) -> validated options. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../system/errors.js';

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

const count = (what: string) =>
  z.string().regex(/^[1-9][0-9]*$/, { error: (i) => `${what} must be a whole number, not '${String(i.input)}'` });
const name = (what: string) =>
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/, { error: (i) => `${what} '${String(i.input)}' is not a libvirt name` });

const schema = z.object({
  image: z.string().min(1).optional(),
  connect: z.string().min(1).optional(),
  network: name('--network').optional(),
  pool: name('--pool').optional(),
  memory: count('--memory (MiB)').optional(),
  cpus: count('--cpus').optional(),
  bootTimeout: z.string().regex(/^\d+(\.\d+)?$/, { error: '--boot-timeout must be a number of minutes' }).optional(),
  stateDir: z.string().min(1).optional(),
  olderThan: z.string().regex(/^\d+(\.\d+)?$/, { error: '--older-than must be a number of hours' }).optional(),
});

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME ? resolve(env.XDG_STATE_HOME) : join(homedir(), '.local/state');
  return join(base, 'boxes/executor');
}

export function parseExecutorOptions(raw: RawExecutorOptions, env: NodeJS.ProcessEnv = process.env): ExecutorOptions {
  const r = schema.safeParse(raw);
  if (!r.success) throw new UsageError(r.error.issues.map((i) => i.message).join('; '));
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
