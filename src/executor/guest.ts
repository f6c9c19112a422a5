/** Reaching a job's VM: SSH as root with the job's key, on the forwarded port or the lease address. */
import { BuildError } from '../system/errors.js';
import { run } from '../system/runner.js';
import { serialTail } from '../vm/boot.js';
import { sshArgs, type SshLogin } from '../vm/ssh.js';
import { keyFile, serialLog, type JobState } from './state.js';
import { domainState, virsh, type Libvirt } from '../adapters/virsh.js';
import { ifChildFailed } from '../system/expected.js';

/** The address of a VM on a libvirt network, from its DHCP lease (`virsh domifaddr`). */
export function leaseAddress(domifaddr: string): string | undefined {
  const m = /\bipv4\s+(\d{1,3}(?:\.\d{1,3}){3})\//.exec(domifaddr);
  return m?.[1];
}

export async function guestLogin(state: JobState, dir: string, l: Libvirt): Promise<SshLogin> {
  const identity = keyFile(dir);
  if (state.network.kind === 'user') return { user: 'root', identity, port: state.network.sshPort };
  const host = leaseAddress(await virsh(l, ['domifaddr', state.vm]).catch(ifChildFailed('')));
  if (!host) throw new BuildError(`${state.vm} has no address on network ${state.network.name} yet`);
  return { user: 'root', identity, host, port: 22 };
}

export async function ssh(login: SshLogin, command: string, signal?: AbortSignal, timeoutMs = 30_000): Promise<string> {
  const limit = AbortSignal.timeout(timeoutMs);
  return (await run(sshArgs(login, command), { signal: signal ? AbortSignal.any([signal, limit]) : limit, graceMs: 2000, what: `ssh ${command}` })).stdout;
}

/** Polls until the VM answers on SSH; fails early when the domain stops, late at the deadline. */
export async function waitForGuest(state: JobState, dir: string, l: Libvirt, deadline: number): Promise<SshLogin> {
  let last = '';
  while (Date.now() < deadline) {
    if (l.signal?.aborted) throw l.signal.reason;
    const domain = await domainState(l, state.vm).catch((e: Error) => e.message);
    if (domain !== 'running') throw new BuildError(`${state.vm} is ${domain}, not running`, `serial console: ${serialLog(dir)}`, await serialTail(serialLog(dir)));
    try {
      const login = await guestLogin(state, dir, l);
      await ssh(login, 'true', l.signal);
      return login;
    } catch (error) {
      if (l.signal?.aborted) throw error;
      last = (error as Error).message.split('\n')[0] ?? '';
      await new Promise((r) => setTimeout(r, 3000));
    }
  }
  throw new BuildError(`${state.vm} did not answer on SSH within the boot timeout (last: ${last})`, `serial console: ${serialLog(dir)}`, await serialTail(serialLog(dir)));
}
