// The Debian libvirt-executor image and `boxes executor` running CI jobs: the image built rootless
// and as root (the same bytes), read out of its disk, booted by `boxes test` the way the executor
// boots a job (key and hostname as systemd credentials), then jobs played by the runner stand-in
// against a real libvirtd (TCG): success with streamed output, a failing script, a prepare that
// cannot work, two jobs at once and a cancelled one. After each, libvirt and the state directory
// hold nothing of the job.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awaitedLater, boxesRaw, buildAsync, buildRootlessAsync, sh, sharedToolsTree, workDir, type Built } from '../support/cli.js';
import { openDisk } from '../support/disk-files.js';
import { boxesTestAsync, expectOneBoot, ONE_BOOT, type TestJson } from '../support/boot-test.js';
import { CONNECT, createPool, domains, startLibvirt, volumes } from '../support/libvirt.js';
import { runJob, type JobResult } from '../support/runner-standin.js';

const work = workDir();
const debian = ['--distribution', 'debian'];
let image: Built;
let rootless: Built;

// Root's build and the rootless one side by side: each has its own cache.
beforeAll(async () => {
  [image, rootless] = await Promise.all([
    buildAsync(['--profile', 'libvirt-executor', ...debian, '--output-dir', join(work, 'root')]),
    buildRootlessAsync(['--profile', 'libvirt-executor', ...debian], join(work, 'rootless'), sharedToolsTree()),
  ]);
});

describe('debian libvirt-executor image', () => {
  it('is the same image, byte for byte, when built rootless elsewhere', () => {
    expect(rootless.toolsTree).toBe(image.toolsTree);
    expect(rootless.artifacts[0]!.sha256).toBe(image.artifacts[0]!.sha256);
  });

  it('holds the kernel, enables lockdown, takes keys only, ships no identity, and has a sorted /etc/gitconfig', () => {
    const disk = openDisk(image.artifacts[0]!.path, work);
    try {
      // Each job's VM makes its own: the one boot below does not compare two boots' identities.
      expect(disk.rootList('/etc/ssh').filter((n) => n.startsWith('ssh_host_'))).toEqual([]);
      expect(disk.root('/etc/machine-id')).toBe('uninitialized\n');
      expect(disk.esp('/grub/grub.cfg')).toMatch(/linux .*lockdown=confidentiality/);
      expect(disk.rootList('/etc')).not.toContain('hostname');
      expect(disk.root('/var/lib/dpkg/status')).toMatch(/Package: linux-image-amd64\nStatus: hold ok installed/);
      expect(disk.root('/usr/bin/git-lfs').length).toBeGreaterThan(0);
      expect(disk.rootList('/etc/systemd/system')).toContain('systemd-time-wait-sync.service');
      expect(disk.root('/etc/ssh/sshd_config.d/10-boxes-executor.conf')).toMatch(/^PasswordAuthentication no$/m);
      const keys = disk
        .root('/etc/gitconfig')
        .split('\n')
        .filter((l) => /^\s+\w+ = /.test(l))
        .map((l) => l.trim().split(' ')[0]);
      expect(keys.length).toBeGreaterThan(2);
      expect(keys).toEqual([...keys].sort());
    } finally {
      disk.close();
    }
  });
});

describe('boxes executor under the runner stand-in (real libvirtd, TCG)', () => {
  let stopLibvirt: () => void;
  let destroyPool: () => void;
  const pool = `boxes-it-${process.pid}`;
  const state = join(work, 'executor-state');
  let args: string[];
  let nextJob = 1000;
  const ids = () => ({ runner: 5, project: 77, pipeline: 300, job: nextJob++ });

  beforeAll(() => {
    stopLibvirt = startLibvirt();
    destroyPool = createPool(pool, work);
    args = ['--image', image.artifacts[0]!.path, '--connect', CONNECT, '--pool', pool, '--network', 'user', '--state-dir', state, '--boot-timeout', '15', '--memory', '1536'];
  });
  afterAll(() => {
    destroyPool?.();
    stopLibvirt?.();
  });

  /** Nothing of the job stays: no domain, no volume, no state directory and no key. */
  function expectNothingLeft(r: JobResult, job: number) {
    const vm = `boxes-runner-5-project-77-pipeline-300-job-${job}`;
    expect(r.cleanupExitCode, r.log).toBe(0);
    expect(domains()).not.toContain(vm);
    expect(volumes(pool)).not.toContain(`${vm}.qcow2`);
    expect(existsSync(join(state, vm))).toBe(false);
    // The state directory appears with the first job that got as far as making a key.
    const keys = existsSync(state) ? sh('find', [state, '-name', 'id_ed25519*']).trim() : '';
    expect(keys).toBe('');
  }

  it('a prepare that cannot work (no such image) is a system failure, retried, and leaves nothing', async () => {
    const job = ids();
    const missing = args.map((a) => (a === image.artifacts[0]!.path ? join(work, 'no-such-image.qcow2') : a));
    const r = await runJob({ ids: job, executorArgs: missing, script: 'true' });
    expect(r.outcome).toBe('system_failure');
    expect(r.prepareAttempts).toBe(3);
    expect(r.stages).toEqual([]);
    expect(r.log).toMatch(/image '.*no-such-image\.qcow2' is neither a file nor a volume/);
    expectNothingLeft(r, job.job);
  });

  // Two jobs share one run (each TCG boot takes minutes): one succeeds, the other's script fails.
  it('two jobs at once get two VMs: a script that succeeds runs every stage in its VM and streams its output; one that exits 3 fails the build, not the system, and after_script runs', async () => {
    const a = ids();
    const b = ids();
    const [ra, rb] = await Promise.all([
      runJob({ ids: a, executorArgs: args, script: 'echo "job says $(cat /proc/sys/kernel/hostname) $((6 * 7))"' }),
      runJob({ ids: b, executorArgs: args, script: 'echo "B on $(cat /proc/sys/kernel/hostname)"; exit 3', afterScript: 'echo "after_script ran"' }),
    ]);
    expect(ra.outcome, ra.log).toBe('success');
    expect(ra.config).toMatchObject({ hostname: `boxes-runner-5-project-77-pipeline-300-job-${a.job}`, builds_dir: '/builds', shell: 'bash' });
    expect(ra.log).toContain(`Running on boxes-runner-5-project-77-pipeline-300-job-${a.job}...`);
    expect(ra.log).toContain(`job says boxes-runner-5-project-77-pipeline-300-job-${a.job} 42`);
    expect(ra.stages.map((s) => s.stage)).toEqual([
      'prepare_script',
      'get_sources',
      'restore_cache',
      'download_artifacts',
      'step_script',
      'after_script',
      'archive_cache',
      'upload_artifacts_on_success',
      'cleanup_file_variables',
    ]);
    expect(ra.stages.every((s) => s.exitCode === 0)).toBe(true);
    expect(rb.outcome, rb.log).toBe('build_failure');
    expect(rb.log).toContain(`B on boxes-runner-5-project-77-pipeline-300-job-${b.job}`);
    expect(rb.buildExitCode).toBe(3);
    expect(rb.log).toContain('after_script ran');
    expect(rb.stages.find((s) => s.stage === 'step_script')?.exitCode).toBe(77);
    expect(rb.stages.map((s) => s.stage)).toContain('upload_artifacts_on_failure');
    expectNothingLeft(ra, a.job);
    expectNothingLeft(rb, b.job);
  });

  // The image's own boot by `boxes test` runs beside the cancelled job: two VMs, as the pair of jobs.
  let biosBoot: (() => Promise<TestJson>) | undefined;
  const bootUnderBios = () => (biosBoot ??= awaitedLater(boxesTestAsync('libvirt-executor', image.artifacts[0]!.path, work, ONE_BOOT('bios'))));

  it('a job cancelled mid-script (SIGTERM to run) is stopped, and cleanup removes its VM', async () => {
    bootUnderBios();
    const job = ids();
    const r = await runJob({ ids: job, executorArgs: args, script: 'echo started; sleep 600; echo never', cancelAfterMs: 30_000, gracefulKillMs: 30_000 });
    expect(r.outcome, r.log).toBe('canceled');
    expect(r.log).toContain('started');
    expect(r.log).not.toContain('never');
    const step = r.stages.find((s) => s.stage === 'step_script')!;
    // boxes stopped ssh and exited on its own (130), before any SIGKILL.
    expect([step.exitCode, step.signal]).toEqual([130, null]);
    expectNothingLeft(r, job.job);
  });

  // One BIOS boot: the jobs boot the image under UEFI (the executor's domains use OVMF), and the
  // basic image's suite compares two boots' identities with the same boot chain.
  it('boxes test boots the image under BIOS with credentials as the executor hands them, and it passes every check', async () => {
    const report = await bootUnderBios()();
    expectOneBoot(report, 'bios#1', ['boot-finished', 'no-failed-units', 'guest-agent', 'executor-credentials', 'executor-conventions']);
    expect(report.results.every((c) => c.ok)).toBe(true);
  });

  it('sweep removes what a dead runner left and nothing else', () => {
    // A job whose runner died after prepare: a domain, a volume and state, never cleaned up.
    const vm = 'boxes-runner-5-project-77-pipeline-300-job-1';
    const dir = join(state, vm);
    sh('mkdir', ['-p', dir]);
    writeFileSync(
      join(dir, 'job.json'),
      JSON.stringify({ vm, created: '2026-01-01T00:00:00Z', connect: CONNECT, pool, volume: `${vm}.qcow2`, network: { kind: 'user', sshPort: 1 } }),
    );
    sh('virsh', ['--connect', CONNECT, 'vol-create-as', pool, `${vm}.qcow2`, '1M', '--format', 'qcow2']);
    const r = boxesRaw(['executor', 'sweep', ...args, '--older-than', '1']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${vm}\n`);
    expect(volumes(pool)).not.toContain(`${vm}.qcow2`);
    expect(readdirSync(state)).toEqual([]);
  });
});
