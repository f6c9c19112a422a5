/** Where a toolbox (the tools tree, or the host for libvirt's QEMU) keeps OVMF, UEFI firmware for QEMU: Debian's and Arch's paths. */
import { existsSync } from 'node:fs';
import type { Toolbox } from '../system/toolbox.js';

/** Paths as the toolbox's QEMU sees them; `tools.file()` of one is where it is on the host. */
export interface Ovmf {
  code: string;
  /** Template of the variable store; each boot writes to its own copy. */
  vars: string;
}

const CANDIDATES: readonly Ovmf[] = [
  { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
  { code: '/usr/share/OVMF/OVMF_CODE.fd', vars: '/usr/share/OVMF/OVMF_VARS.fd' },
  { code: '/usr/share/edk2/x64/OVMF_CODE.4m.fd', vars: '/usr/share/edk2/x64/OVMF_VARS.4m.fd' },
  { code: '/usr/share/edk2-ovmf/x64/OVMF_CODE.fd', vars: '/usr/share/edk2-ovmf/x64/OVMF_VARS.fd' },
];

export function findOvmf(tools: Toolbox, exists: (path: string) => boolean = existsSync): Ovmf | undefined {
  return CANDIDATES.find((c) => exists(tools.file(c.code)) && exists(tools.file(c.vars)));
}
