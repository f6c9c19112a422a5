// The custom executor without a VM: the job's identity and VM name, the domain XML (validated
// against libvirt's schema), exit codes as GitLab Runner defines them, the sweep's choice, and the
// run and cleanup commands end to end against a fake ssh (the "VM" is this host) and a fake virsh.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executorConfig } from '../../src/executor/config.js';
import { domainXml, type DomainSpec } from '../../src/executor/domain-xml.js';
import { jobCredentials } from '../../src/vm/credentials.js';
import { leaseAddress } from '../../src/executor/guest.js';
import { jobFromEnv, parseVmName, vmName } from '../../src/executor/job.js';
import { parseExecutorOptions } from '../../src/executor/options.js';
import { overlayVolumeXml } from '../../src/executor/volume-xml.js';
import { staleJobs } from '../../src/executor/sweep.js';
import { ExecutorFailed, JobFailed, UsageError, exitCodeFor } from '../../src/system/errors.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli.js');
const fakes = join(root, 'test/support/fake-executor');
const JOB_ENV = { CUSTOM_ENV_CI_RUNNER_ID: '7', CUSTOM_ENV_CI_PROJECT_ID: '42', CUSTOM_ENV_CI_PIPELINE_ID: '1001', CUSTOM_ENV_CI_JOB_ID: '90001' };
const VM = 'boxes-runner-7-project-42-pipeline-1001-job-90001';

describe('the job and its VM name', () => {
  it('comes from the runner, project, pipeline and job ids', () => {
    const job = jobFromEnv(JOB_ENV);
    expect(vmName(job)).toBe(VM);
    expect(parseVmName(VM)).toEqual(job);
    expect(parseVmName('boxes-runner-7-project-42-pipeline-1001-job-90001-x')).toBeUndefined();
    expect(parseVmName('debian12')).toBeUndefined();
  });

  it('refuses ids that are missing or not numbers, naming each', () => {
    const bad = { ...JOB_ENV, CUSTOM_ENV_CI_JOB_ID: '1;reboot', CUSTOM_ENV_CI_PROJECT_ID: '' };
    expect(() => jobFromEnv(bad)).toThrow(UsageError);
    expect(() => jobFromEnv(bad)).toThrow(/CUSTOM_ENV_CI_PROJECT_ID is not set; CUSTOM_ENV_CI_JOB_ID is '1;reboot', not a number/);
  });
});

describe('the domain', () => {
  const spec: DomainSpec = {
    name: VM,
    accel: 'tcg',
    memoryMiB: 2048,
    cpus: 2,
    ovmf: { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
    pool: 'default',
    volume: `${VM}.qcow2`,
    oemStrings: jobCredentials('ssh-ed25519 AAAAC3Nz job-key\n', VM),
    serialLog: `/state/${VM}/serial.log`,
    network: { kind: 'user', sshPort: 40022 },
  };
  const validate = (xml: string, schema = 'domain') => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-domain-'));
    writeFileSync(join(dir, 'object.xml'), xml);
    const r = spawnSync('virt-xml-validate', [join(dir, 'object.xml'), schema], { encoding: 'utf8' });
    if (r.error) throw new Error(`virt-xml-validate is needed (apt-get install libvirt-clients libxml2-utils): ${r.error.message}`);
    return `${r.stdout}${r.stderr}`.trim();
  };

  it('boots UEFI from the overlay volume with the key and hostname as systemd credentials', () => {
    const xml = domainXml(spec);
    expect(validate(xml)).toMatch(/validates$/);
    expect(xml).toContain("<domain type='qemu'");
    expect(xml).toContain("<cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>");
    expect(xml).toContain("<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader>");
    expect(xml).toContain("<source pool='default' volume='boxes-runner-7-project-42-pipeline-1001-job-90001.qcow2'/>");
    const key = /io\.systemd\.credential\.binary:ssh\.authorized_keys\.root=([A-Za-z0-9+/=]+)</.exec(xml)![1]!;
    expect(Buffer.from(key, 'base64').toString()).toBe('ssh-ed25519 AAAAC3Nz job-key\n');
    expect(xml).toContain(`<entry>io.systemd.credential:system.hostname=${VM}</entry>`);
    expect(xml).toContain("<smbios mode='sysinfo'/>");
  });

  it('user networking forwards only SSH, only on 127.0.0.1; a libvirt network is an interface', () => {
    const user = domainXml(spec);
    expect(user).toContain("<qemu:arg value='user,id=boxesnet0,hostfwd=tcp:127.0.0.1:40022-:22'/>");
    expect(user).not.toContain('<interface');
    const net = domainXml({ ...spec, accel: 'kvm', network: { kind: 'libvirt', name: 'ci' } });
    expect(validate(net)).toMatch(/validates$/);
    expect(net).toContain("<source network='ci'/>");
    expect(net).toContain("<cpu mode='host-passthrough'/>");
    expect(net).not.toContain('qemu:commandline');
  });

  it("the job's overlay is a qcow2 volume backed by the image, which may be any file", () => {
    const xml = overlayVolumeXml({ name: `${VM}.qcow2`, capacityBytes: 42949672960, backingPath: '/var/lib/boxes/image & co.qcow2', backingFormat: 'qcow2' });
    expect(validate(xml, 'storagevol')).toMatch(/validates$/);
    expect(xml).toContain("<capacity unit='bytes'>42949672960</capacity>");
    expect(xml).toContain('<path>/var/lib/boxes/image &amp; co.qcow2</path>');
  });

  it('escapes what it writes into XML', () => {
    expect(domainXml({ ...spec, serialLog: "/state/a'b&c/serial.log" })).toContain("<log file='/state/a&apos;b&amp;c/serial.log' append='off'/>");
  });

  it("finds a guest's address in `virsh domifaddr`", () => {
    const out = ' vnet3      52:54:00:12:34:56    ipv4         192.168.122.57/24\n';
    expect(leaseAddress(out)).toBe('192.168.122.57');
    expect(leaseAddress('')).toBeUndefined();
  });
});

describe('exit codes and configuration', () => {
  it("the job's failure and the executor's follow GitLab Runner's variables", () => {
    const env = { BUILD_FAILURE_EXIT_CODE: '41', SYSTEM_FAILURE_EXIT_CODE: '42' };
    expect(exitCodeFor(new JobFailed('stage step_script: exited 3', 3), env)).toBe(41);
    expect(exitCodeFor(new ExecutorFailed('no VM'), env)).toBe(42);
    expect(exitCodeFor(new ExecutorFailed('no VM'), {})).toBe(1);
    expect(exitCodeFor(new UsageError('bad flag'), env)).toBe(2);
  });

  it('config names the VM as the hostname and the driver', () => {
    expect(executorConfig(JOB_ENV, '0.1.0')).toEqual({
      builds_dir: '/builds',
      cache_dir: '/cache',
      builds_dir_is_shared: false,
      hostname: VM,
      driver: { name: 'boxes libvirt executor', version: '0.1.0' },
      job_env: { BOXES_EXECUTOR_VM: VM },
      shell: 'bash',
    });
  });

  it('options: defaults, and one line for everything wrong', () => {
    expect(parseExecutorOptions({}, { HOME: '/home/runner' })).toEqual({
      image: undefined,
      connect: 'qemu:///system',
      network: 'user',
      pool: 'default',
      memoryMiB: 2048,
      cpus: 2,
      bootTimeoutMinutes: 10,
      stateDir: expect.stringMatching(/\/boxes\/executor$/),
      olderThanHours: 24,
    });
    expect(() => parseExecutorOptions({ memory: '2G', network: 'a b', olderThan: 'x' })).toThrow(
      /--network 'a b' is not a libvirt name; --memory \(MiB\) must be a whole number, not '2G'; --older-than must be a number of hours/,
    );
  });
});

describe('sweep', () => {
  const now = new Date('2026-11-26T12:00:00Z');
  it('removes jobs older than the limit and leftovers without state, each once; never other domains', () => {
    const old = 'boxes-runner-1-project-1-pipeline-1-job-1';
    const live = 'boxes-runner-1-project-1-pipeline-1-job-2';
    const orphan = 'boxes-runner-1-project-1-pipeline-1-job-3';
    const found = [
      { vm: old, created: new Date('2026-11-25T06:00:00Z') },
      { vm: old },
      { vm: live, created: new Date('2026-11-26T11:00:00Z') },
      { vm: live },
      { vm: orphan },
      { vm: 'debian12' },
      { vm: 'boxes-runner-x' },
    ];
    expect(staleJobs(found, now, 24)).toEqual([old, orphan]);
    expect(staleJobs(found, now, 0.5)).toEqual([old, live, orphan]);
  });
});

/** A runner host with the fake ssh and virsh first on PATH, and one prepared job's state. */
function host(prepared = true) {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-executor-'));
  const state = join(dir, 'state');
  const vm = join(dir, 'vm');
  mkdirSync(vm);
  if (prepared) {
    mkdirSync(join(state, VM), { recursive: true });
    writeFileSync(
      join(state, VM, 'job.json'),
      JSON.stringify({ vm: VM, created: new Date().toISOString(), connect: 'qemu:///system', pool: 'default', volume: `${VM}.qcow2`, network: { kind: 'user', sshPort: 40022 } }),
    );
    writeFileSync(join(state, VM, 'id_ed25519'), 'private');
    mkdirSync(join(vm, 'domains'));
    mkdirSync(join(vm, 'volumes'));
    writeFileSync(join(vm, 'domains', VM), 'running');
    writeFileSync(join(vm, 'volumes', `${VM}.qcow2`), '');
  }
  const env = {
    ...process.env,
    ...JOB_ENV,
    PATH: `${fakes}:${process.env.PATH}`,
    FAKE_VM: vm,
    BUILD_FAILURE_EXIT_CODE: '41',
    SYSTEM_FAILURE_EXIT_CODE: '42',
    BUILD_EXIT_CODE_FILE: join(dir, 'exit-code'),
  };
  const boxes = (args: string[]) => spawnSync('node', [cli, 'executor', ...args, '--state-dir', state], { env, encoding: 'utf8' });
  const script = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  return { dir, state, vm, env, boxes, script };
}

describe('boxes executor run (fake ssh: the script runs here)', () => {
  it("streams the stage's output and exits 0 when the script succeeds", () => {
    const h = host();
    const r = h.boxes(['run', h.script('s', 'echo "building on $((40 + 2))"\n'), 'build_script']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('building on 42\n');
    expect(existsSync(join(h.dir, 'exit-code'))).toBe(false);
  });

  it("a script's failure is the job's: BUILD_FAILURE_EXIT_CODE, its own code in BUILD_EXIT_CODE_FILE", () => {
    const h = host();
    const r = h.boxes(['run', h.script('s', 'echo before; exit 3\n'), 'step_script']);
    expect(r.stdout).toBe('before\n');
    expect(r.status).toBe(41);
    expect(readFileSync(join(h.dir, 'exit-code'), 'utf8')).toBe('3\n');
    expect(r.stderr).toMatch(/stage step_script: the job's script exited 3/);
  });

  it('a script that exits 255 with the VM still there is the job; a VM that went away is the system', () => {
    const h = host();
    expect(h.boxes(['run', h.script('s', 'exit 255\n'), 'step_script']).status).toBe(41);
    const gone = host();
    const r = gone.boxes(['run', gone.script('s', `touch ${join(gone.vm, 'down')}; exit 255\n`), 'step_script']);
    expect(r.status).toBe(42);
    expect(r.stderr).toMatch(/lost boxes-runner-7-.* during stage step_script/);
    expect(existsSync(join(gone.dir, 'exit-code'))).toBe(false);
  });

  it('no prepared VM, or an unreachable one, is a system failure before anything runs', () => {
    const none = host(false);
    const r = none.boxes(['run', none.script('s', 'echo never\n'), 'build_script']);
    expect([r.status, r.stdout]).toEqual([42, '']);
    expect(r.stderr).toMatch(/no VM is prepared for boxes-runner-7-project-42-pipeline-1001-job-90001 \(stage build_script\)/);
    const down = host();
    writeFileSync(join(down.vm, 'down'), '');
    const d = down.boxes(['run', down.script('s', 'echo never\n'), 'build_script']);
    expect([d.status, d.stdout]).toEqual([42, '']);
    expect(d.stderr).toMatch(/does not answer on SSH before stage build_script/);
  });

  it('refuses a job whose ids are not numbers before touching anything', () => {
    const h = host();
    const r = spawnSync('node', [cli, 'executor', 'run', h.script('s', 'true\n'), 'build_script', '--state-dir', h.state], {
      env: { ...h.env, CUSTOM_ENV_CI_JOB_ID: '../../etc' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/CUSTOM_ENV_CI_JOB_ID is '\.\.\/\.\.\/etc', not a number/)]);
  });
});

describe('boxes executor cleanup (fake virsh)', () => {
  it('stops and removes the domain with its NVRAM, the volume and the key; a second run finds nothing', () => {
    const h = host();
    const r = h.boxes(['cleanup']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed domain, volume, state/);
    const calls = readFileSync(join(h.vm, 'calls'), 'utf8');
    expect(calls).toContain(`destroy ${VM}\n`);
    expect(calls).toContain(`undefine ${VM} --nvram\n`);
    expect(calls).toContain(`vol-delete --pool default ${VM}.qcow2\n`);
    expect(readdirSync(join(h.vm, 'domains'))).toEqual([]);
    expect(readdirSync(join(h.vm, 'volumes'))).toEqual([]);
    expect(existsSync(join(h.state, VM))).toBe(false);
    const again = h.boxes(['cleanup']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/removed state|nothing to remove/);
  });

  it('works from whatever prepare left: a stopped domain and no state; a missing pool', () => {
    const h = host();
    writeFileSync(join(h.vm, 'domains', VM), 'shut off');
    const r = spawnSync('node', [cli, 'executor', 'cleanup', '--state-dir', join(h.dir, 'elsewhere'), '--pool', 'missing'], { env: h.env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const calls = readFileSync(join(h.vm, 'calls'), 'utf8');
    expect(calls).not.toContain('destroy');
    expect(calls).toContain(`undefine ${VM} --nvram\n`);
    expect(readdirSync(join(h.vm, 'domains'))).toEqual([]);
  });
});
