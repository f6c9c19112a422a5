/**
 * KVM or TCG. /dev/kvm can exist while nested KVM is broken (OVMF dies with "KVM internal error",
 * GRUB hangs under SeaBIOS), so boxes boots OVMF under KVM for a few seconds and looks for the
 * firmware's boot manager on the serial console before it trusts KVM.
 */
import { constants } from 'node:fs';
import { access, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Ovmf } from './firmware.js';
import type { Accel } from './qemu-args.js';
import { ifMissing, isMissingOrDenied } from '../system/expected.js';
import type { Toolbox } from '../system/toolbox.js';

export interface AccelChoice {
  accel: Accel;
  reason: string;
}

/** Reads the probe's serial output: did the firmware reach its boot manager under KVM? */
export function classifyKvmProbe(serial: string, stderr: string): AccelChoice {
  if (/KVM internal error|emulation failure/i.test(`${stderr}\n${serial}`)) return { accel: 'tcg', reason: 'KVM is present but broken here (KVM internal error); using TCG' };
  if (/BdsDxe|UEFI Interactive Shell|Shell>/.test(serial)) return { accel: 'kvm', reason: 'KVM works' };
  return { accel: 'tcg', reason: 'KVM is present but the firmware did not start under it; using TCG' };
}

/** BOXES_ACCEL=kvm|tcg overrides the probe. */
export async function chooseAccel(ovmf: Ovmf | undefined, tools: Toolbox, env: NodeJS.ProcessEnv = process.env): Promise<AccelChoice> {
  const forced = env.BOXES_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return { accel: forced, reason: `BOXES_ACCEL=${forced}` };
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch (error) {
    if (!isMissingOrDenied(error)) throw error;
    return { accel: 'tcg', reason: 'no usable /dev/kvm; using TCG (slow)' };
  }
  if (!ovmf) return { accel: 'kvm', reason: '/dev/kvm is usable (not probed: no OVMF)' };
  const dir = await mkdtemp(join(tmpdir(), 'boxes-kvm-probe-'));
  try {
    const vars = join(dir, 'vars.fd');
    await copyFile(tools.file(ovmf.vars), vars);
    const serial = join(dir, 'serial.log');
    const [qemu, ...prefix] = tools.wrap(['qemu-system-x86_64']);
    const child = execa(
      qemu!,
      [
        ...prefix,
        '-machine',
        'q35,accel=kvm',
        '-m',
        '256',
        '-nodefaults',
        '-display',
        'none',
        '-serial',
        `file:${serial}`,
        '-net',
        'none',
        '-drive',
        `if=pflash,format=raw,unit=0,readonly=on,file=${ovmf.code}`,
        '-drive',
        `if=pflash,format=raw,unit=1,file=${vars}`,
      ],
      { reject: false, timeout: 20_000, killSignal: 'SIGTERM', stdin: 'ignore' },
    );
    let exited = false;
    void child.finally(() => (exited = true));
    // A working firmware reaches its boot manager within seconds; stop as soon as either side shows.
    for (let i = 0; i < 80 && !exited; i++) {
      const text = await readFile(serial, 'utf8').catch(ifMissing(''));
      if (/BdsDxe|Shell>/.test(text)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    child.kill('SIGTERM');
    const r = await child;
    return classifyKvmProbe(await readFile(serial, 'utf8').catch(ifMissing('')), String(r.stderr ?? ''));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
