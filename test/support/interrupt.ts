// Ctrl-C in CLI tests: start boxes, wait until the fake mkosi runs (its pid file), send SIGINT.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Interrupted {
  code: number | null;
  stderr: string;
  /** Whether the fake mkosi still runs afterwards (it must not). */
  mkosiAlive: boolean;
}

export async function interruptOnceMkosiRuns(argv: string[], env: NodeJS.ProcessEnv, pidDir: string): Promise<Interrupted> {
  const child = spawn('node', argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const pidFile = join(pidDir, 'fake-mkosi.pid');
  for (let i = 0; i < 200 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 50));
  if (!existsSync(pidFile)) throw new Error(`the fake mkosi never started:\n${stderr}`);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  let mkosiAlive = true;
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    mkosiAlive = false;
  }
  return { code, stderr, mkosiAlive };
}
