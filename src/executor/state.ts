/**
 * What the runner host keeps per job, in `<state dir>/<vm name>/`: the job's SSH key pair (the
 * private half never leaves this directory), where its VM's disk is and how to reach it.
 */
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BuildError } from '../system/errors.js';
import { ifMissing, parseJson } from '../system/expected.js';
import { writeFileAtomic } from '../system/write-atomic.js';
import type { Network } from './domain-xml.js';
import { parseVmName } from './job.js';

const stateSchema = z.object({
  vm: z.string(),
  /** ISO time prepare began; sweep's age of the job. */
  created: z.iso.datetime(),
  connect: z.string(),
  pool: z.string(),
  volume: z.string(),
  network: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('user'), sshPort: z.number().int().min(1).max(65535) }),
    z.object({ kind: z.literal('libvirt'), name: z.string() }),
  ]),
});

export type JobState = z.infer<typeof stateSchema> & { network: Network };

/** A job's state file that is not what prepare writes: the job's directory is damaged. */
export class BadJobState extends BuildError {}

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

/** The job's state, undefined when prepare never wrote it; a BadJobState when it is not what prepare writes. */
export async function readState(dir: string): Promise<JobState | undefined> {
  const text = await readFile(stateFile(dir), 'utf8').catch(ifMissing(undefined));
  if (text === undefined) return undefined;
  const bad = (why: string) => new BadJobState(`${stateFile(dir)} ${why}`, 'remove the job directory by hand after checking no VM of it runs');
  const parsed = stateSchema.safeParse(parseJson(text, () => bad('is not JSON')));
  if (!parsed.success) throw bad(`is not a job state: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Job directories in the state dir, with when each job began (its state, else the directory's time). */
export async function listJobDirs(stateDir: string): Promise<{ vm: string; created: Date }[]> {
  const entries = await readdir(stateDir).catch(ifMissing([] as string[]));
  const jobs = [];
  for (const vm of entries.filter((e) => parseVmName(e))) {
    // A damaged state file still leaves a job to sweep: its age is then the directory's.
    const state = await readState(jobDir(stateDir, vm)).catch(ifBadState);
    const created = state ? new Date(state.created) : (await stat(jobDir(stateDir, vm))).mtime;
    jobs.push({ vm, created });
  }
  return jobs;
}

/** `.catch(ifBadState)`: undefined for a damaged state file; any other failure is thrown. */
export function ifBadState(error: unknown): undefined {
  if (error instanceof BadJobState) return undefined;
  throw error;
}
