// Ctrl-C in CLI tests: start boxes, wait until the fake mkosi runs (its pid file), send SIGINT.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Interrupted {
  code: number | null;
  stderr: string;
  /** Whether the fake mkosi still runs afterwards (it must not). */
  mkosiAlive: boolean;
  /** How many fake mkosi builds ran when the signal went. */
  builds: number;
}

/** Whether a process of that pid still runs. */
export const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    return false;
  }
};

/** Sends SIGINT once `builds` fake mkosi builds run (builds side by side each leave a pid file). */
export async function interruptOnceMkosiRuns(argv: string[], env: NodeJS.ProcessEnv, pidDir: string, builds = 1): Promise<Interrupted> {
  const child = spawn('node', argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const pids = () => readdirSync(pidDir).flatMap((f) => (/^fake-mkosi-\d+\.pid$/.test(f) ? [Number(readFileSync(join(pidDir, f), 'utf8'))] : []));
  const exited = new Promise<number | null>((r) => child.on('exit', r));
  // A loaded machine starts a boxes (and verify's second one) in seconds, not milliseconds.
  for (let i = 0; i < 1200 && pids().length < builds && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  const running = pids();
  child.kill('SIGINT');
  const code = await exited;
  if (running.length < builds) throw new Error(`${running.length} of ${builds} fake mkosi builds started (boxes exited ${code}):\n${stderr}`);
  return { code, stderr, mkosiAlive: running.some(isAlive), builds: running.length };
}
