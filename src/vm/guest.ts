/**
 * Talking to a booted guest, for `boxes test` and the executor alike: one SSH command under a time
 * limit, and waiting until the guest answers while watching that its machine still runs.
 */
import { BuildError } from '../system/errors.js';
import { run } from '../system/runner.js';
import { serialTail } from './serial.js';
import { sshArgs, type SshLogin } from './ssh.js';
import type { Toolbox } from '../system/toolbox.js';

/** Runs one command in the guest; ssh gets SIGTERM at the time limit or when `signal` aborts. */
export async function guestCommand(login: SshLogin, command: string, o: { tools: Toolbox; timeoutMs: number; signal?: AbortSignal }): Promise<string> {
  const limit = AbortSignal.timeout(Math.max(1000, o.timeoutMs));
  const signal = o.signal ? AbortSignal.any([o.signal, limit]) : limit;
  return (await run(sshArgs(login, command), { tools: o.tools, signal, graceMs: 2000, what: `ssh ${command}` })).stdout;
}

export interface Wait<T> {
  /** One try: resolves when the guest answered as hoped, throws otherwise. */
  attempt: () => Promise<T>;
  /** The sentence saying the machine is gone (QEMU exited, the domain stopped); undefined while it runs. */
  stopped: () => Promise<string | undefined>;
  deadline: number;
  signal?: AbortSignal;
  intervalMs: number;
  serialLog: string;
  /** Who must answer, in the errors: "the VM", a domain's name. */
  subject: string;
  /** " after the reboot", when that is what is awaited. */
  after?: string;
  /** Sleep before the first try (a reboot: the old boot still answers at first). */
  sleepFirst?: boolean;
}

/** Tries until an attempt succeeds; a stopped machine fails at once, the deadline late, both with the serial console's tail. */
export async function waitForGuest<T>(w: Wait<T>): Promise<T> {
  let last = '';
  const sleep = () => new Promise((r) => setTimeout(r, w.intervalMs));
  if (w.sleepFirst) await sleep();
  while (Date.now() < w.deadline) {
    if (w.signal?.aborted) throw w.signal.reason;
    const stopped = await w.stopped();
    if (stopped !== undefined) throw new BuildError(stopped, `serial console: ${w.serialLog}`, await serialTail(w.serialLog));
    try {
      return await w.attempt();
    } catch (error) {
      if (w.signal?.aborted) throw w.signal.reason;
      last = (error as Error).message.split('\n')[0] ?? '';
    }
    await sleep();
  }
  throw new BuildError(`${w.subject} did not answer on SSH${w.after ?? ''} before the time limit (last: ${last})`, `serial console: ${w.serialLog}`, await serialTail(w.serialLog));
}
