/**
 * What the runner host keeps per job, in `<state dir>/<vm name>/`: the job's SSH key pair (the
 * private half never leaves this directory), where its VM's disk is and how to reach it.
 */
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../system/write-atomic.js';
import type { Network } from './domain-xml.js';
import { parseVmName } from './job.js';

export interface JobState {
  vm: string;
  /** ISO time prepare began; sweep's age of the job. */
  created: string;
  connect: string;
  pool: string;
  volume: string;
  network: Network;
}

export const jobDir = (stateDir: string, vm: string) => join(stateDir, vm);
export const keyFile = (dir: string) => join(dir, 'id_ed25519');
export const serialLog = (dir: string) => join(dir, 'serial.log');
const stateFile = (dir: string) => join(dir, 'job.json');

export async function createJobDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

export async function writeState(dir: string, state: JobState): Promise<void> {
  await writeFileAtomic(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
}

export async function readState(dir: string): Promise<JobState | undefined> {
  const text = await readFile(stateFile(dir), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as JobState);
}

/** Job directories in the state dir, with when each job began (its state, else the directory's time). */
export async function listJobDirs(stateDir: string): Promise<{ vm: string; created: Date }[]> {
  const entries = await readdir(stateDir).catch(() => [] as string[]);
  const jobs = [];
  for (const vm of entries.filter((e) => parseVmName(e))) {
    const state = await readState(jobDir(stateDir, vm)).catch(() => undefined);
    const created = state ? new Date(state.created) : (await stat(jobDir(stateDir, vm))).mtime;
    jobs.push({ vm, created });
  }
  return jobs;
}
