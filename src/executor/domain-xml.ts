/**
 * The libvirt domain of one job's VM, as a pure function: UEFI (OVMF, a per-domain NVRAM from the
 * template), the overlay volume on virtio, the job's SSH key and hostname as systemd credentials
 * in SMBIOS OEM strings, the serial console logged by virtlogd, and either a libvirt network or
 * QEMU's user networking with the guest's SSH forwarded to one port on 127.0.0.1.
 */
import type { Ovmf } from '../vm/firmware.js';
import { TCG_CPU_MODEL, type Accel } from '../vm/qemu-args.js';
import { escapeXml } from '../system/xml.js';

export type Network = { kind: 'user'; sshPort: number } | { kind: 'libvirt'; name: string };

export interface DomainSpec {
  name: string;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  ovmf: Ovmf;
  pool: string;
  volume: string;
  /** OEM strings, e.g. `io.systemd.credential:system.hostname=<name>`. */
  oemStrings: string[];
  serialLog: string;
  network: Network;
}

export function domainXml(d: DomainSpec): string {
  const user = d.network.kind === 'user';
  const lines = [
    `<domain type='${d.accel === 'kvm' ? 'kvm' : 'qemu'}'${user ? " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'" : ''}>`,
    `  <name>${escapeXml(d.name)}</name>`,
    `  <memory unit='MiB'>${d.memoryMiB}</memory>`,
    `  <vcpu>${d.cpus}</vcpu>`,
    "  <sysinfo type='smbios'>",
    '    <oemStrings>',
    ...d.oemStrings.map((s) => `      <entry>${escapeXml(s)}</entry>`),
    '    </oemStrings>',
    '  </sysinfo>',
    '  <os>',
    "    <type arch='x86_64' machine='q35'>hvm</type>",
    `    <loader readonly='yes' type='pflash'>${escapeXml(d.ovmf.code)}</loader>`,
    // Without a path libvirt keeps the copy in its own nvram directory; undefine --nvram removes it.
    `    <nvram template='${escapeXml(d.ovmf.vars)}'/>`,
    "    <smbios mode='sysinfo'/>",
    '  </os>',
    '  <features><acpi/><apic/></features>',
    // KVM passes the host's CPU through; TCG emulates the model `boxes test` boots.
    d.accel === 'kvm' ? "  <cpu mode='host-passthrough'/>" : `  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>${TCG_CPU_MODEL}</model></cpu>`,
    "  <clock offset='utc'/>",
    '  <on_poweroff>destroy</on_poweroff>',
    '  <on_crash>destroy</on_crash>',
    '  <devices>',
    "    <disk type='volume' device='disk'>",
    "      <driver name='qemu' type='qcow2' discard='unmap'/>",
    `      <source pool='${escapeXml(d.pool)}' volume='${escapeXml(d.volume)}'/>`,
    "      <target dev='vda' bus='virtio'/>",
    '    </disk>',
    ...(d.network.kind === 'libvirt'
      ? ["    <interface type='network'>", `      <source network='${escapeXml(d.network.name)}'/>`, "      <model type='virtio'/>", '    </interface>']
      : []),
    "    <serial type='pty'>",
    `      <log file='${escapeXml(d.serialLog)}' append='off'/>`,
    "      <target port='0'/>",
    '    </serial>',
    "    <console type='pty'><target type='serial' port='0'/></console>",
    "    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>",
    "    <memballoon model='none'/>",
    '  </devices>',
  ];
  if (d.network.kind === 'user') {
    // libvirt 9's own user interface forwards no ports (only its passt backend does), so QEMU's
    // user networking comes in as arguments: SSH on 127.0.0.1 only, nothing else reachable.
    lines.push(
      '  <qemu:commandline>',
      "    <qemu:arg value='-netdev'/>",
      `    <qemu:arg value='user,id=boxesnet0,hostfwd=tcp:127.0.0.1:${d.network.sshPort}-:22'/>`,
      "    <qemu:arg value='-device'/>",
      // Its own slot on the root bus: QEMU reads these before libvirt's devices and would take slot 1,
      // which libvirt gives its first PCIe root port.
      "    <qemu:arg value='virtio-net-pci,netdev=boxesnet0,bus=pcie.0,addr=0x10'/>",
      '  </qemu:commandline>',
    );
  }
  lines.push('</domain>', '');
  return lines.join('\n');
}
