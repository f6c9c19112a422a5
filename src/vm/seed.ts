/** The NoCloud seed for cloud-init boots: user-data, meta-data, and the ISO (volume `cidata`). */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../system/runner.js';
import { onPath } from '../system/which.js';
import type { Toolbox } from '../system/toolbox.js';

export interface SeedInput {
  instanceId: string;
  user: string;
  password: string;
  authorizedKey: string;
  /** runcmd touches this file, proving user-data scripts ran. */
  marker: string;
}

export function userData(s: SeedInput): string {
  // JSON is valid YAML: no quoting rules to get wrong for keys and passwords.
  const config = {
    users: [
      {
        name: s.user,
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: false,
        plain_text_passwd: s.password,
        ssh_authorized_keys: [s.authorizedKey.trim()],
      },
    ],
    ssh_pwauth: true,
    runcmd: [['touch', s.marker]],
  };
  return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}

export function metaData(s: Pick<SeedInput, 'instanceId'>): string {
  return `instance-id: ${s.instanceId}\nlocal-hostname: boxes-test\n`;
}

/** genisoimage (a host that has it), else xorriso in mkisofs mode (the tools tree's). */
export function isoCommand(tool: 'genisoimage' | 'xorriso', output: string, dir: string): string[] {
  const args = ['-output', output, '-volid', 'cidata', '-joliet', '-rock', join(dir, 'user-data'), join(dir, 'meta-data')];
  return tool === 'genisoimage' ? ['genisoimage', '-quiet', ...args] : ['xorriso', '-as', 'mkisofs', ...args];
}

export async function writeSeedIso(dir: string, input: SeedInput, tools: Toolbox, signal?: AbortSignal): Promise<string> {
  const tool = tools.source === 'host' && (await onPath('genisoimage')) ? 'genisoimage' : 'xorriso';
  await writeFile(join(dir, 'user-data'), userData(input));
  await writeFile(join(dir, 'meta-data'), metaData(input));
  const iso = join(dir, 'seed.iso');
  await run(isoCommand(tool, iso, dir), { tools, signal, what: 'making the cloud-init seed ISO' });
  return iso;
}
