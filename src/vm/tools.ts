/**
 * Programs `boxes test` needs, checked before anything boots. The tools tree has them all (mkosi.conf's
 * ToolsTreePackages=); only a host toolbox (BOXES_TOOLS=host) is searched, each missing one named by its package.
 */
import { PrerequisiteError } from '../system/errors.js';
import type { Toolbox } from '../system/toolbox.js';
import { onPath } from '../system/which.js';

export interface ToolNeeds {
  /** OVMF is missing although a UEFI boot was asked for. */
  ovmf: boolean;
  password: boolean;
  seed: boolean;
}

/** Program and the Debian package that has it. */
export const TEST_TOOLS: readonly (readonly [string, string])[] = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['qemu-img', 'qemu-utils'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
];

export async function requireTools(tools: Toolbox, needs: ToolNeeds): Promise<void> {
  if (tools.source !== 'host') {
    if (needs.ovmf) throw new PrerequisiteError(`the tools tree ${tools.source} holds no OVMF firmware`, 'add ovmf to ToolsTreePackages= in mkosi.conf, then run `boxes setup`');
    return;
  }
  const missing: string[] = [];
  const want = [...TEST_TOOLS];
  if (needs.password) want.push(['sshpass', 'sshpass']);
  for (const [tool, pkg] of want) if (!(await onPath(tool))) missing.push(pkg);
  if (needs.seed && !(await onPath('genisoimage')) && !(await onPath('xorriso'))) missing.push('genisoimage');
  if (needs.ovmf) missing.push('ovmf');
  if (missing.length > 0) {
    const pkgs = [...new Set(missing)].join(' ');
    throw new PrerequisiteError(`boxes test needs ${pkgs}`, `apt-get install ${pkgs}`);
  }
}
