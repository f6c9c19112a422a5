/**
 * `boxes executor sweep`: removes what jobs left when their runner died before cleanup (a crash,
 * a reboot, SIGKILL): domains, overlay volumes and state directories named like boxes' jobs whose
 * job began more than --older-than hours ago, or that have no state at all (nothing live lacks it:
 * prepare writes the state before it makes anything else).
 */
import { ExecutorFailed } from '../system/errors.js';
import { cleanupVm } from './cleanup.js';
import { parseVmName } from './job.js';
import type { ExecutorOptions } from './options.js';
import type { ExecutorIo } from './prepare.js';
import { listJobDirs } from './state.js';
import { domainNames, volumeNames } from '../adapters/virsh.js';
import { ifChildFailed } from '../system/expected.js';

export interface Found {
  vm: string;
  /** When the job began, if its state says. */
  created?: Date;
}

/** The VMs to remove, each once, in name order. */
export function staleJobs(found: readonly Found[], now: Date, olderThanHours: number): string[] {
  const created = new Map<string, Date | undefined>();
  for (const f of found) if (parseVmName(f.vm)) created.set(f.vm, f.created ?? created.get(f.vm));
  const limit = now.getTime() - olderThanHours * 3_600_000;
  return [...created]
    .filter(([, c]) => c === undefined || c.getTime() < limit)
    .map(([vm]) => vm)
    .sort();
}

export async function sweep(options: ExecutorOptions, io: Omit<ExecutorIo, 'tools'> = {}): Promise<string[]> {
  const l = { connect: options.connect, signal: io.signal };
  const found: Found[] = [
    ...(await listJobDirs(options.stateDir)),
    ...(await domainNames(l)).map((vm) => ({ vm })),
    ...(await volumeNames(l, options.pool).catch(ifChildFailed([] as string[]))).map((v) => ({ vm: v.replace(/\.qcow2$/, '') })),
  ];
  const stale = staleJobs(found, new Date(), options.olderThanHours);
  const problems: string[] = [];
  for (const vm of stale) {
    io.say?.(`removing ${vm}`);
    await cleanupVm({ stateDir: options.stateDir, vm, connect: options.connect, pool: options.pool }, io.signal).catch((e: Error) => problems.push(e.message));
  }
  if (problems.length > 0) throw new ExecutorFailed(problems.join('; '));
  return stale;
}
