/**
 * One throwaway boot of an image: a qcow2 overlay (the artifact is never written), QEMU with
 * forwarded SSH and a guest-agent socket, the serial console in a log file.
 */
import { copyFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BuildError } from '../system/errors.js';
import { run, start, type Started } from '../system/runner.js';
import { agentCommand } from './agent.js';
import type { Ovmf } from './firmware.js';
import { qemuArgs, type Accel, type Firmware } from './qemu-args.js';
import type { SshLogin } from './ssh.js';
import { guestCommand, waitForGuest } from './guest.js';
import { ifChildFailed } from '../system/expected.js';
import { imageInfo } from '../adapters/qemu-img.js';
import type { Toolbox } from '../system/toolbox.js';

export interface BootSpec {
  artifact: string;
  /** qemu's name of the artifact's format (qcow2, raw, vmdk): the overlay's backing format. */
  format: string;
  firmware: Firmware;
  accel: Accel;
  cpus: number;
  /** Private directory for the overlay, sockets and firmware variables; removed by the caller. */
  workDir: string;
  serialLog: string;
  login: Omit<SshLogin, 'port'>;
  ovmf?: Ovmf;
  seedIso?: string;
  /** SMBIOS OEM strings, e.g. systemd credentials. */
  oemStrings?: string[];
  /** Grow the overlay to this many bytes (cloud-init images grow their root into it). */
  diskBytes?: number;
  /** Epoch ms by which the boot and its checks must be over: no SSH command outlives it. */
  deadline: number;
  /** Where QEMU, qemu-img, ssh and the firmware come from. */
  tools: Toolbox;
  signal?: AbortSignal;
  logFile?: string;
}

export interface Booted {
  port: number;
  diskBytes: number;
  ssh(command: string, timeoutMs?: number): Promise<string>;
  /** The same guest with another login (e.g. the password cloud-init set). */
  sshAs(login: Omit<SshLogin, 'port'>, command: string): Promise<string>;
  agent(command: string): Promise<unknown>;
  vm: Started;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function boot(spec: BootSpec): Promise<Booted> {
  const disk = join(spec.workDir, 'disk.qcow2');
  const sizeArg = spec.diskBytes ? [String(spec.diskBytes)] : [];
  await run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', spec.format, '-b', spec.artifact, disk, ...sizeArg], {
    tools: spec.tools,
    signal: spec.signal,
    what: 'qemu-img create (overlay)',
  });
  const info = await imageInfo(disk, { tools: spec.tools, format: 'qcow2', signal: spec.signal });
  let ovmf: { code: string; vars: string } | undefined;
  if (spec.firmware === 'uefi') {
    if (!spec.ovmf) throw new BuildError('a UEFI boot needs OVMF', 'the tools tree holds it (package ovmf): run `boxes setup`');
    ovmf = { code: spec.ovmf.code, vars: join(spec.workDir, 'vars.fd') };
    await copyFile(spec.tools.file(spec.ovmf.vars), ovmf.vars);
  }
  const port = await freePort();
  const agentSocket = join(spec.workDir, 'qga.sock');
  const argv = qemuArgs({
    accel: spec.accel,
    cpus: spec.cpus,
    firmware: spec.firmware,
    disk,
    sshPort: port,
    agentSocket,
    serialLog: spec.serialLog,
    seedIso: spec.seedIso,
    ovmf,
    oemStrings: spec.oemStrings,
  });
  const vm = start(argv, { tools: spec.tools, signal: spec.signal, logFile: spec.logFile, what: `qemu (${spec.firmware})` });
  // How qemu ended is read from `running()` and the serial log; this only keeps its rejection handled.
  vm.exited.catch((_seenThroughRunning: unknown) => undefined);
  // No SSH command outlives the boot's deadline.
  const sshAs = (login: Omit<SshLogin, 'port'>, command: string, timeoutMs?: number) => {
    const left = Math.max(1000, spec.deadline - Date.now());
    return guestCommand({ ...login, port }, command, { tools: spec.tools, timeoutMs: Math.min(timeoutMs ?? left, left), signal: spec.signal });
  };
  return {
    port,
    diskBytes: info['virtual-size'],
    ssh: (command, timeoutMs) => sshAs(spec.login, command, timeoutMs),
    sshAs,
    agent: (c) => agentCommand(agentSocket, c),
    vm,
  };
}

/** Why QEMU is gone, as a sentence; undefined while it runs. */
async function qemuStopped(b: Booted, when: string): Promise<string | undefined> {
  if (b.vm.running()) return undefined;
  const reason = await b.vm.exited.then(
    () => 'exited',
    (e: Error) => e.message,
  );
  return `QEMU stopped ${when} (${reason})`;
}

/** Polls until SSH answers, QEMU dies, or the deadline passes. */
export async function waitForSsh(b: Booted, serialLog: string, deadline: number, signal?: AbortSignal): Promise<void> {
  await waitForGuest({
    attempt: async () => void (await b.ssh('true', 30_000)),
    stopped: () => qemuStopped(b, 'before the VM answered on SSH'),
    deadline,
    signal,
    intervalMs: 5000,
    serialLog,
    subject: 'the VM',
  });
}

/** Reboots the guest through systemd and waits until SSH answers from a new boot. */
export async function rebootAndWait(b: Booted, serialLog: string, deadline: number, signal?: AbortSignal): Promise<void> {
  const bootId = 'cat /proc/sys/kernel/random/boot_id';
  const before = (await b.ssh(bootId)).trim();
  // The connection may drop before ssh sees the command's exit.
  await b.ssh('sudo -n systemctl reboot', 30_000).catch(ifChildFailed(undefined));
  await waitForGuest({
    attempt: async () => {
      if ((await b.ssh(bootId, 30_000)).trim() === before) throw new Error('the old boot still answered');
    },
    stopped: () => qemuStopped(b, 'during the reboot'),
    deadline,
    signal,
    intervalMs: 5000,
    serialLog,
    subject: 'the VM',
    after: ' after the reboot',
    sleepFirst: true,
  });
}
