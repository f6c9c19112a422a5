/** Where the host keeps OVMF (UEFI firmware for QEMU): Debian's and Arch's paths. */
import { existsSync } from 'node:fs';

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

export function findOvmf(exists: (path: string) => boolean = existsSync): Ovmf | undefined {
  return CANDIDATES.find((c) => exists(c.code) && exists(c.vars));
}
