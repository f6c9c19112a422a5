// `boxes test` driven end to end with a fake QEMU that never answers on SSH: the time limit with
// the serial console's last lines, and Ctrl-C stopping QEMU and removing the overlays.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../support/interrupt.js';
import { optionsFor, recordOf } from '../support/records.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/cli.js');
const fakes = join(root, 'test/support/fake-vm');

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-testcmd-'));
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  // A basic image as boxes build leaves it: its record says what it is.
  const options = optionsFor('basic');
  const image = join(dir, options.targets[0]!.artifact.name);
  writeFileSync(image, Buffer.concat([Buffer.from([0x51, 0x46, 0x49, 0xfb]), Buffer.alloc(512)]));
  writeFileSync(join(dir, options.targets[0]!.artifact.files.record), JSON.stringify(recordOf(options, { name: options.targets[0]!.artifact.name, sha256: '0'.repeat(64) })));
  const env = { ...process.env, PATH: `${fakes}:${process.env.PATH}`, BOXES_ACCEL: 'tcg', TMPDIR: tmp, FAKE_VM_PIDDIR: dir };
  const args = ['test', '--profile', 'basic', '--artifact', image, '--firmware', 'bios', '--output-dir', join(dir, 'out')];
  return { dir, tmp, env, args };
}
const pids = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n.startsWith('qemu.'))
    .map((n) => Number(readFileSync(join(dir, n), 'utf8')));

describe('boxes test with a VM that never answers', () => {
  it('fails after the time limit with exit 1 and the serial console tail; QEMU is stopped', () => {
    const { dir, tmp, env, args } = setup();
    const r = spawnSync('node', [cli, ...args, '--timeout', '0.1'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/did not answer on SSH before the time limit/);
    expect(r.stderr).toMatch(/serial console: .*test-basic-bios-1\.serial\.log/);
    expect(r.stderr).toContain('fake kernel: waiting for root device');
    expect(pids(dir)).toHaveLength(2);
    for (const pid of pids(dir)) expect(isAlive(pid)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });

  // Two boots of one firmware compare identities; without that comparison, or when every check
  // runs once, one boot is all a run makes.
  it.each([
    [['--firmware', 'bios'], 2],
    [['--firmware', 'bios', '--check', '-first-boot-identity'], 1],
    [['--check', 'kernel-upgrade'], 1],
  ])('%j boots %i VM(s), the first under BIOS', (extra, boots) => {
    const { dir, env, args } = setup();
    const given = [...args.slice(0, args.indexOf('--firmware')), ...args.slice(args.indexOf('--firmware') + 2), ...extra];
    const r = spawnSync('node', [cli, ...given, '--timeout', '0.05'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/serial console: .*test-basic-bios-1\.serial\.log/);
    expect(pids(dir)).toHaveLength(boots);
  });

  it('Ctrl-C exits 130, stops QEMU and removes the overlays', async () => {
    const { dir, tmp, env, args } = setup();
    const child = spawn('node', [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    for (let i = 0; i < 200 && pids(dir).length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pids(dir)).toHaveLength(2);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, stderr).toBe(130);
    for (const pid of pids(dir)) expect(isAlive(pid)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(join(dir, 'out/logs/test-basic-bios-1.serial.log'))).toBe(true);
  });
});
