/** The QEMU command line for one test boot: a pure function, tested as a table. */

export type Firmware = 'bios' | 'uefi';
export type Accel = 'kvm' | 'tcg';

/**
 * The CPU TCG emulates: x86-64's baseline, which both distributions target, so a test boot also
 * proves the image runs on the oldest x86-64 CPU. Not `max`: it offers AVX2, glibc's string
 * functions then take their AVX2 variants, and QEMU 7.2 (Debian 12's, which libvirt runs the
 * executor's jobs with) emulates those slowly. One Debian basic UEFI boot on 2 cores under QEMU 7.2
 * answered SSH after 125 s with `max` (systemd alone spent 33 s loading its BPF LSM program, libbpf
 * parsing the kernel's BTF), 101 s with `max` without AVX, 90 s with this model. The tools tree's
 * QEMU 10 emulates AVX2 well: two boots side by side with every default check took 186 s with
 * `max` and 178 s with this model.
 */
export const TCG_CPU_MODEL = 'qemu64';

export interface QemuSpec {
  accel: Accel;
  firmware: Firmware;
  /** Throwaway qcow2 overlay over the artifact: the artifact itself is never written. */
  disk: string;
  sshPort: number;
  /** UNIX socket of the guest agent's virtio-serial channel. */
  agentSocket: string;
  serialLog: string;
  /** NoCloud seed ISO (cloud-init images). */
  seedIso?: string;
  /** OVMF code (read-only) and a private copy of the variable store, for UEFI boots. */
  ovmf?: { code: string; vars: string };
  memoryMiB?: number;
  cpus?: number;
  /** SMBIOS type 11 OEM strings (systemd credentials). */
  oemStrings?: string[];
}

export function qemuArgs(spec: QemuSpec): string[] {
  if (spec.firmware === 'uefi' && !spec.ovmf) throw new Error('a UEFI boot needs OVMF code and variables');
  const args = [
    'qemu-system-x86_64',
    '-machine',
    `q35,accel=${spec.accel}`,
    // KVM passes the host's CPU through.
    '-cpu',
    spec.accel === 'kvm' ? 'host' : TCG_CPU_MODEL,
    '-smp',
    String(spec.cpus ?? 2),
    '-m',
    String(spec.memoryMiB ?? 2048),
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    `file:${spec.serialLog}`,
    '-device',
    'virtio-rng-pci',
    '-drive',
    `file=${spec.disk},if=virtio,format=qcow2,discard=unmap`,
    '-netdev',
    `user,id=net0,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
    '-device',
    'virtio-net-pci,netdev=net0',
    '-chardev',
    `socket,id=qga0,path=${spec.agentSocket},server=on,wait=off`,
    '-device',
    'virtio-serial-pci',
    '-device',
    'virtserialport,chardev=qga0,name=org.qemu.guest_agent.0',
  ];
  if (spec.firmware === 'uefi') {
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${spec.ovmf!.code}`, '-drive', `if=pflash,format=raw,unit=1,file=${spec.ovmf!.vars}`);
  }
  if (spec.seedIso) args.push('-drive', `file=${spec.seedIso},media=cdrom,readonly=on`);
  // QEMU's option syntax doubles a comma that belongs to the value.
  for (const s of spec.oemStrings ?? []) args.push('-smbios', `type=11,value=${s.replaceAll(',', ',,')}`);
  return args;
}
