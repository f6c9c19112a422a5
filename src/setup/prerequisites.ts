/** `boxes setup [--check]`: what the host has, what it lacks, and the command that installs it. */
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { findMkosi, PINNED, provisionMkosi } from '../adapters/mkosi.js';
import { DISK_TOOLS } from '../audit/tools.js';
import { findVagrantInsecureKey } from '../vagrant/insecure-key.js';
import { findOvmf } from '../vm/firmware.js';
import { TEST_TOOLS } from '../vm/tools.js';
import { findTool, onPath } from '../system/which.js';
import { BoxesError, PrerequisiteError } from '../system/errors.js';
import { describeBuildMode } from '../rootless/build-mode.js';
import { detectBuildMode } from '../rootless/namespace.js';
import { ifMissing, ifMissingOrDenied } from '../system/expected.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  /** Needed only by some commands; a missing one does not fail `boxes setup`. */
  optional?: boolean;
}

async function version(cmd: string, args: string[]): Promise<string | undefined> {
  const r = await execa(cmd, args, { reject: false, timeout: 20_000 });
  return r.failed ? undefined : `${String(r.stdout)}${String(r.stderr)}`.trim().split('\n')[0];
}

export function pythonOk(text: string | undefined): boolean {
  const m = /Python (\d+)\.(\d+)/.exec(text ?? '');
  return Boolean(m && (Number(m[1]) > 3 || (Number(m[1]) === 3 && Number(m[2]) >= 9)));
}

export async function hostChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  const py = await version('python3', ['--version']);
  checks.push({ name: 'python3 >= 3.9', ok: pythonOk(py), detail: py ?? 'not found', fix: 'apt-get install python3' });
  const userns = await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(ifMissing('0'));
  const clone = await readFile('/proc/sys/kernel/unprivileged_userns_clone', 'utf8').catch(ifMissing('1'));
  const nsOk = Number(userns) > 0 && clone.trim() !== '0';
  checks.push({
    name: 'user namespaces',
    ok: nsOk,
    detail: `max_user_namespaces=${userns.trim()}`,
    fix: 'sysctl user.max_user_namespaces=10000 kernel.unprivileged_userns_clone=1',
  });
  checks.push(await buildModeCheck());
  // The default tools tree is Debian trixie, bootstrapped with the host's apt and dpkg.
  for (const [tool, pkg] of [
    ['apt-get', 'apt'],
    ['dpkg', 'dpkg'],
    ['dpkg-deb', 'dpkg'],
  ] as const) {
    const v = await version(tool, ['--version']);
    checks.push({ name: tool, ok: v !== undefined, detail: v ?? 'not found', fix: `install ${pkg} (the tools tree is bootstrapped with it)` });
  }
  const keyring = await readFile('/usr/share/keyrings/debian-archive-keyring.gpg').then(() => true, ifMissingOrDenied(false));
  checks.push({ name: 'debian-archive-keyring', ok: keyring, detail: keyring ? 'present' : 'missing', fix: 'apt-get install debian-archive-keyring' });
  const mkosi = await findMkosi().catch((error: unknown) => {
    // A BOXES_MKOSI that does not run: reported as not found, with the fix below.
    if (error instanceof PrerequisiteError) return undefined;
    throw error;
  });
  checks.push({
    name: 'mkosi >= 25',
    ok: mkosi !== undefined,
    detail: mkosi ? `${mkosi.version} (${mkosi.source})` : 'not provisioned',
    fix: `boxes setup (downloads mkosi ${PINNED.version}, sha256-checked)`,
  });
  for (const [tool, pkg] of [...TEST_TOOLS, ['sshpass', 'sshpass'], ['genisoimage', 'genisoimage']] as const) {
    const ok = await onPath(tool);
    checks.push({ name: `${tool} (boxes test)`, ok, detail: ok ? 'present' : 'not found', fix: `apt-get install ${pkg}`, optional: true });
  }
  const ovmf = findOvmf();
  checks.push({ name: 'OVMF (boxes test)', ok: ovmf !== undefined, detail: ovmf?.code ?? 'not found', fix: 'apt-get install ovmf', optional: true });
  for (const [tool, pkg] of Object.entries(DISK_TOOLS)) {
    const path = await findTool(tool);
    checks.push({ name: `${tool} (disk builds, audit)`, ok: path !== undefined, detail: path ?? 'not found', fix: `apt-get install ${pkg}`, optional: true });
  }
  const key = await findVagrantInsecureKey();
  checks.push({
    name: 'Vagrant key (boxes test)',
    ok: key !== undefined,
    detail: key ?? 'not found',
    fix: 'apt-get install vagrant, or set BOXES_VAGRANT_KEY (needed to test Vagrant boxes)',
    optional: true,
  });
  return checks;
}

/** Which way this user's builds run mkosi, and why; a refusal carries its fix. */
async function buildModeCheck(): Promise<Check> {
  try {
    return { name: 'build mode', ok: true, detail: describeBuildMode(await detectBuildMode({ singleUid: false })) };
  } catch (error) {
    if (!(error instanceof BoxesError)) throw error;
    return { name: 'build mode', ok: false, detail: `builds refused: ${error.message}`, fix: error.hint };
  }
}

export async function setup(check: boolean): Promise<Check[]> {
  if (!check) await provisionMkosi();
  return hostChecks();
}

export function formatChecks(checks: Check[]): string {
  return checks
    .map((c) => `${c.ok ? 'ok     ' : c.optional ? 'missing' : 'MISSING'} ${c.name.padEnd(32)} ${c.detail}${c.ok || !c.fix ? '' : `\n        fix: ${c.fix}`}`)
    .join('\n');
}
