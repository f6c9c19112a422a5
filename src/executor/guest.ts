/** Reaching a job's VM: SSH as root with the job's key, on the forwarded port or the lease address. */
import { BuildError } from '../system/errors.js';
import { guestCommand, waitForGuest } from '../vm/guest.js';
import type { SshLogin } from '../vm/ssh.js';
import { keyFile, serialLog, type JobState } from './state.js';
import { domainState, virsh, type Libvirt } from '../adapters/virsh.js';
import { ifChildFailed } from '../system/expected.js';
import type { Toolbox } from '../system/toolbox.js';

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

export const ssh = (tools: Toolbox, login: SshLogin, command: string, signal?: AbortSignal, timeoutMs = 30_000): Promise<string> =>
  guestCommand(login, command, { tools, timeoutMs, signal });

/** Polls until the VM answers on SSH; fails early when the domain stops, late at the deadline. */
export async function waitForJobVm(state: JobState, dir: string, l: Libvirt, tools: Toolbox, deadline: number): Promise<SshLogin> {
  return waitForGuest({
    attempt: async () => {
      const login = await guestLogin(state, dir, l);
      await ssh(tools, login, 'true', l.signal);
      return login;
    },
    stopped: async () => {
      const domain = await domainState(l, state.vm).catch((e: Error) => e.message);
      return domain === 'running' ? undefined : `${state.vm} is ${domain}, not running`;
    },
    deadline,
    signal: l.signal,
    intervalMs: 3000,
    serialLog: serialLog(dir),
    subject: state.vm,
  });
}
