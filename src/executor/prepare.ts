/**
 * `boxes executor prepare`: one fresh VM for the job. Whatever an earlier attempt left is removed
 * first (GitLab retries a failed prepare); then a key pair for this job, an overlay volume backed
 * by the image, a domain that boots with the public key and the hostname as systemd credentials,
 * and a wait until root answers on SSH. Any failure, or SIGTERM, removes what was made.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BuildError, ExecutorFailed, UsageError } from '../system/errors.js';
import { run } from '../system/runner.js';
import { writeFileAtomic } from '../system/write-atomic.js';
import { chooseAccel } from '../vm/accel.js';
import { freePort } from '../vm/boot.js';
import { jobCredentials } from '../vm/credentials.js';
import { findOvmf } from '../vm/firmware.js';
import { cleanupVm, volumeFor } from './cleanup.js';
import { domainXml, type Network } from './domain-xml.js';
import { waitForJobVm } from './guest.js';
import { jobFromEnv, vmName } from './job.js';
import type { ExecutorOptions } from './options.js';
import { createJobDir, jobDir, keyFile, serialLog, writeState, type JobState } from './state.js';
import { virsh, type Libvirt } from '../adapters/virsh.js';
import { overlayVolumeXml } from './volume-xml.js';
import { ifChildFailed, ifMissing } from '../system/expected.js';
import { imageInfo } from '../adapters/qemu-img.js';
import { HOST_TOOLBOX, type Toolbox } from '../system/toolbox.js';

export interface ExecutorIo {
  /** ssh, ssh-keygen and qemu-img; libvirt's QEMU and firmware stay the host's. */
  tools: Toolbox;
  signal?: AbortSignal;
  say?: (line: string) => void;
}

/** The image as a path libvirt can back a volume with: a file, or POOL/VOLUME. */
async function imagePath(image: string | undefined, l: Libvirt): Promise<string> {
  if (!image) throw new UsageError('boxes executor prepare needs --image (a qcow2 file or POOL/VOLUME)');
  const asFile = resolve(image);
  if (await stat(asFile).then((s) => s.isFile(), ifMissing(false))) return asFile;
  const m = /^([A-Za-z0-9][A-Za-z0-9_.+-]*)\/([^/]+)$/.exec(image);
  if (m) {
    const path = (await virsh(l, ['vol-path', '--pool', m[1]!, m[2]!]).catch(ifChildFailed(''))).trim();
    if (path) return path;
  }
  throw new ExecutorFailed(`image '${image}' is neither a file nor a volume POOL/VOLUME`, 'build one with `boxes build --profile libvirt-executor` and pass its path');
}

export async function prepare(options: ExecutorOptions, env: NodeJS.ProcessEnv, io: ExecutorIo): Promise<JobState> {
  const vm = vmName(jobFromEnv(env));
  const l: Libvirt = { connect: options.connect, signal: io.signal };
  const target = { stateDir: options.stateDir, vm, connect: options.connect, pool: options.pool };
  // libvirtd starts the host's QEMU, which reads the host's firmware.
  const ovmf = findOvmf(HOST_TOOLBOX);
  if (!ovmf) throw new ExecutorFailed('no OVMF firmware on the runner host', 'apt-get install ovmf (Arch: pacman -S edk2-ovmf)');
  const image = await imagePath(options.image, l);
  await cleanupVm(target);
  const dir = jobDir(options.stateDir, vm);
  try {
    await createJobDir(dir);
    const network: Network = options.network === 'user' ? { kind: 'user', sshPort: await freePort() } : { kind: 'libvirt', name: options.network };
    const state: JobState = { vm, created: new Date().toISOString(), connect: options.connect, pool: options.pool, volume: volumeFor(vm), network };
    await writeState(dir, state);
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', vm, '-f', keyFile(dir)], { tools: io.tools, signal: io.signal });
    const accel = await chooseAccel(ovmf, HOST_TOOLBOX);
    io.say?.(`${vm}: ${accel.accel} (${accel.reason})`);
    const info = await imageInfo(image, { tools: io.tools, signal: io.signal });
    const volumeXml = join(dir, 'volume.xml');
    await writeFileAtomic(volumeXml, overlayVolumeXml({ name: state.volume, capacityBytes: info['virtual-size'], backingPath: image, backingFormat: info.format }));
    await virsh(l, ['vol-create', options.pool, volumeXml], "virsh vol-create (the job's overlay)");
    const xml = join(dir, 'domain.xml');
    const credentials = jobCredentials(await readFile(`${keyFile(dir)}.pub`, 'utf8'), vm);
    await writeFileAtomic(
      xml,
      domainXml({
        name: vm,
        accel: accel.accel,
        memoryMiB: options.memoryMiB,
        cpus: options.cpus,
        ovmf,
        pool: options.pool,
        volume: state.volume,
        oemStrings: credentials,
        serialLog: serialLog(dir),
        network,
      }),
    );
    await virsh(l, ['define', xml]);
    await virsh(l, ['start', vm]);
    io.say?.(`${vm}: started; waiting for SSH`);
    await waitForJobVm(state, dir, l, io.tools, Date.now() + options.bootTimeoutMinutes * 60_000);
    io.say?.(`${vm}: ready`);
    return state;
  } catch (error) {
    // Nothing of a failed or interrupted prepare stays: cleanup gets its own time, not the abort.
    await cleanupVm(target, AbortSignal.timeout(120_000)).catch((e: Error) => io.say?.(e.message));
    if (io.signal?.aborted) throw error;
    if (error instanceof BuildError && !(error instanceof ExecutorFailed)) throw new ExecutorFailed(error.message, error.hint, error.logTail);
    throw error;
  }
}
