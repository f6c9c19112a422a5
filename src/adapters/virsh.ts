/** libvirt through virsh, via the one process runner: every call is logged and classified. */
import { run } from '../system/runner.js';

export interface Libvirt {
  connect: string;
  signal?: AbortSignal;
}

export async function virsh(l: Libvirt, args: string[], what?: string): Promise<string> {
  return (await run(['virsh', '--connect', l.connect, '--quiet', ...args], { signal: l.signal, what: what ?? `virsh ${args[0]}`, graceMs: 30_000 })).stdout;
}

const names = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

export async function domainNames(l: Libvirt): Promise<string[]> {
  return names(await virsh(l, ['list', '--all', '--name']));
}

export async function volumeNames(l: Libvirt, pool: string): Promise<string[]> {
  // `vol-list` prints "name path" rows.
  return names(await virsh(l, ['vol-list', '--pool', pool])).map((row) => row.split(/\s+/)[0]!);
}

export async function domainState(l: Libvirt, name: string): Promise<string> {
  return (await virsh(l, ['domstate', name])).trim();
}
