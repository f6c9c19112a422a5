/**
 * `boxes test`: boots an image twice in QEMU on throwaway overlays (BIOS and UEFI by default), runs
 * the checks of src/vm/checks.ts in each, and compares the two machines' identities.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { findProfile, type Distribution, type ProfileSpec } from '../artifact/profiles.js';
import { BuildError, PrerequisiteError } from '../system/errors.js';
import { makeDirectory } from '../system/host.js';
import { run } from '../system/runner.js';
import { chooseAccel, type AccelChoice } from './accel.js';
import { chooseArtifact, type ChosenArtifact } from './artifact.js';
import { boot, rebootAndWait, waitForSsh } from './boot.js';
import { serialTail } from './serial.js';
import { CheckFailed, identityProblems, selectChecks, type Check, type Facts, type Guest } from './checks.js';
import { findOvmf, type Ovmf } from './firmware.js';
import type { Firmware } from './qemu-args.js';
import { writeSeedIso } from './seed.js';
import { jobCredentials } from './credentials.js';
import { unpackBoxDisk } from '../vagrant/box-file.js';
import { vagrantInsecureKey } from '../vagrant/insecure-key.js';
import type { SshLogin } from './ssh.js';
import { requireTools } from './tools.js';
import { imageInfo } from '../adapters/qemu-img.js';
import { requireVisibleToTools, type Toolbox } from '../system/toolbox.js';

export interface TestOptions {
  profile: string;
  artifact?: string;
  firmware?: Firmware;
  outputDir: string;
  distribution?: Distribution;
  /** --check's entries (see selectChecks: names, +name, -name); default: every default check. */
  checks?: string[];
  timeoutMinutes: number;
  /**
   * Virtual CPUs of each VM (default 2). Two VMs of 2 vCPUs each on 2 host cores under TCG took
   * 162 s for basic's default checks, and 182 s with 1 vCPU each: the guests' own parallelism
   * outweighs the oversubscription, so the default stays.
   */
  cpus?: number;
}

export const DEFAULT_VCPUS = 2;

export interface CheckResult {
  boot: string;
  check: string;
  ok: boolean;
  detail?: string;
  /** What the guest showed when the check failed (command output or serial console). */
  tail?: string[];
}

export interface TestReport {
  artifact: string;
  /** The toolbox QEMU and ssh came from: the tools tree's path, or 'host'. */
  tools: string;
  accel: AccelChoice;
  results: CheckResult[];
  serialLogs: string[];
}

export interface TestIo {
  /**
   * Where QEMU, its firmware, ssh, sshpass, the seed-ISO maker and Vagrant's key come from; opened
   * once the artifact and the checks are known to be right (a first use builds the tools tree).
   */
  openTools: () => Promise<Toolbox>;
  signal?: AbortSignal;
  onEvent?: (line: string) => void;
}

/** A named check failed: exit 1, naming the check, the boot and where the serial console is. */
export class TestFailure extends BuildError {}

interface BootPlan {
  label: string;
  /** The first boot runs the checks that run once. */
  first: boolean;
  firmware: Firmware;
  dir: string;
  serialLog: string;
}

interface Shared {
  spec: ProfileSpec;
  chosen: ChosenArtifact;
  /** What QEMU boots: the artifact, or the disk unpacked from a box. */
  disk: { path: string; format: string };
  /** Vagrant's insecure private key, for boxes. */
  identity?: string;
  distribution?: Distribution;
  accel: AccelChoice;
  cpus: number;
  ovmf?: Ovmf;
  checks: Check[];
  deadline: number;
  io: TestIo & { tools: Toolbox };
  results: CheckResult[];
}

export async function testImage(options: TestOptions, given: TestIo): Promise<TestReport> {
  const spec = findProfile(options.profile)!;
  const chosen = await chooseArtifact(spec, options.artifact, options.outputDir);
  requireVisibleToTools('--artifact', chosen.path);
  requireVisibleToTools('--output-dir', options.outputDir);
  const io = { ...given, tools: await given.openTools() };
  const distribution = chosen.distribution ?? options.distribution;
  if (!spec.login && spec.name !== 'cloud-init')
    throw new PrerequisiteError(`${spec.name} images have no login to test with`, 'their runner injects access; test the basic or cloud-init image');
  if (spec.login && !distribution) throw new PrerequisiteError(`cannot tell which distribution ${basename(chosen.path)} is`, 'pass --distribution');
  const checks = selectChecks(spec, options.checks);
  // Two boots of one firmware only when their identities are compared; one boot (BIOS unless
  // --firmware says otherwise) when every check runs once.
  const twice = checks.some((c) => c.name === 'first-boot-identity');
  const single = checks.every((c) => c.once);
  const firmwares: Firmware[] = options.firmware ? (twice ? [options.firmware, options.firmware] : [options.firmware]) : single ? ['bios'] : ['bios', 'uefi'];
  const ovmf = findOvmf(io.tools);
  await requireTools(io.tools, { ovmf: firmwares.includes('uefi') && !ovmf, password: Boolean(spec.login?.password), seed: spec.name === 'cloud-init' });
  const logDir = join(resolve(options.outputDir), 'logs');
  await makeDirectory(logDir);
  const accel = await chooseAccel(ovmf, io.tools);
  io.onEvent?.(`accelerator: ${accel.accel} (${accel.reason})`);

  const work = await mkdtemp(join(tmpdir(), 'boxes-test-'));
  const cpus = options.cpus ?? DEFAULT_VCPUS;
  const shared: Shared = { spec, chosen, disk: chosen, distribution, accel, cpus, ovmf, checks, deadline: Date.now() + options.timeoutMinutes * 60_000, io, results: [] };
  const plans: BootPlan[] = firmwares.map((firmware, i) => ({
    label: `${firmware}#${i + 1}`,
    first: i === 0,
    firmware,
    dir: join(work, `boot-${i + 1}`),
    serialLog: join(logDir, `test-${spec.name}-${firmware}-${i + 1}.serial.log`),
  }));
  try {
    if (chosen.format === 'box') {
      io.onEvent?.(`unpacking the disk of ${basename(chosen.path)}`);
      shared.disk = await unpackBoxDisk(chosen.path, work);
    }
    if (spec.login?.vagrantKey) shared.identity = await vagrantInsecureKey(work, io.tools);
    // Both VMs run at once; allSettled so that neither is left running when the other fails.
    const settled = await Promise.allSettled(plans.map((plan) => bootAndCheck(plan, shared)));
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    const [a, b] = settled.map((s) => (s as PromiseFulfilledResult<Facts>).value);
    if (a?.identity && b?.identity) {
      const problems = identityProblems(a.identity, b.identity);
      shared.results.push({ boot: 'both', check: 'unique-identity', ok: problems.length === 0, detail: problems.join('; ') || undefined });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const failed = shared.results.filter((r) => !r.ok);
  if (failed.length > 0) {
    const first = failed[0]!;
    const log = plans.find((p) => p.label === first.boot)?.serialLog ?? logDir;
    const more =
      failed.length > 1
        ? ` (and ${failed
            .slice(1)
            .map((r) => `${r.check} on ${r.boot}`)
            .join(', ')})`
        : '';
    throw new TestFailure(`check ${first.check} failed on boot ${first.boot}: ${first.detail ?? ''}${more}`, `serial console: ${log}`, first.tail);
  }
  return { artifact: chosen.path, tools: io.tools.source, accel, results: shared.results, serialLogs: plans.map((p) => p.serialLog) };
}

async function bootAndCheck(plan: BootPlan, s: Shared): Promise<Facts> {
  const { io, spec } = s;
  const say = (line: string) => io.onEvent?.(`${plan.label}: ${line}`);
  const cloudInit = spec.name === 'cloud-init';
  await mkdir(plan.dir);
  const facts: Facts = {};
  let login: Omit<SshLogin, 'port'>;
  let seedIso: string | undefined;
  let oemStrings: string[] | undefined;
  let password: string | undefined;
  if (cloudInit) {
    const identity = join(plan.dir, 'id_ed25519');
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'boxes-test', '-f', identity], { tools: io.tools, signal: io.signal });
    password = randomBytes(12).toString('base64url');
    facts.cloudInitMarker = '/var/lib/boxes-test-runcmd';
    const seed = {
      instanceId: `boxes-test-${randomBytes(6).toString('hex')}`,
      user: 'boxes-test',
      password,
      authorizedKey: await readFile(`${identity}.pub`, 'utf8'),
      marker: facts.cloudInitMarker,
    };
    seedIso = await writeSeedIso(plan.dir, seed, io.tools, io.signal);
    login = { user: seed.user, identity };
  } else if (spec.login?.credentials) {
    // As `boxes executor` boots a job: a throwaway key and a hostname, as systemd credentials.
    const identity = join(plan.dir, 'id_ed25519');
    await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'boxes-test', '-f', identity], { tools: io.tools, signal: io.signal });
    facts.credentialHostname = `boxes-test-${randomBytes(4).toString('hex')}`;
    oemStrings = jobCredentials(await readFile(`${identity}.pub`, 'utf8'), facts.credentialHostname);
    login = { user: 'root', identity };
  } else {
    const user = spec.login!.user[s.distribution!];
    login = s.identity ? { user, identity: s.identity } : { user, password: spec.login!.password?.[s.distribution!] };
  }
  say(`booting ${basename(s.chosen.path)} (${plan.firmware}, ${s.accel.accel})`);
  const diskBytes = cloudInit ? await grownSize(s.disk.path, io.tools, io.signal) : undefined;
  const booted = await boot({
    artifact: s.disk.path,
    format: s.disk.format,
    firmware: plan.firmware,
    accel: s.accel.accel,
    cpus: s.cpus,
    workDir: plan.dir,
    serialLog: plan.serialLog,
    login,
    ovmf: s.ovmf,
    seedIso,
    oemStrings,
    diskBytes,
    deadline: s.deadline,
    tools: io.tools,
    signal: io.signal,
  });
  if (password) facts.cloudInitPasswordLogin = async () => void (await booted.sshAs({ user: login.user, password }, 'true'));
  try {
    await waitForSsh(booted, plan.serialLog, s.deadline, io.signal);
    say('SSH answers');
    const guest: Guest = {
      ...booted,
      distribution: s.distribution,
      reboot: () => rebootAndWait(booted, plan.serialLog, s.deadline, io.signal),
      serialTail: () => serialTail(plan.serialLog),
    };
    for (const check of s.checks.filter((c) => plan.first || !c.once)) {
      try {
        await check.run(guest, facts);
        s.results.push({ boot: plan.label, check: check.name, ok: true });
        say(`ok   ${check.name}`);
      } catch (error) {
        if (io.signal?.aborted) throw error;
        const detail = error instanceof CheckFailed ? error.message : ((error as Error).message.split('\n')[0] ?? '');
        const tail = error instanceof CheckFailed ? error.tail : error instanceof BuildError ? error.logTail : [];
        s.results.push({ boot: plan.label, check: check.name, ok: false, detail, ...(tail.length > 0 ? { tail } : {}) });
        say(`FAIL ${check.name}: ${detail}`);
      }
    }
  } finally {
    await booted.vm.stop();
  }
  return facts;
}

/** Cloud images boot on a disk 4 GiB larger than the image, so that growth is visible. */
async function grownSize(artifact: string, tools: Toolbox, signal?: AbortSignal): Promise<number> {
  const info = await imageInfo(artifact, { tools, signal });
  return info['virtual-size'] + 4 * 2 ** 30;
}

export function formatTestReport(r: TestReport): string {
  const lines = [`Tested ${r.artifact} (${r.accel.accel}: ${r.accel.reason}; tools: ${r.tools})`];
  for (const c of r.results) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.boot.padEnd(8)} ${c.check}${c.detail ? `: ${c.detail}` : ''}`);
  lines.push(`serial consoles: ${r.serialLogs.join(', ')}`);
  return lines.join('\n');
}
