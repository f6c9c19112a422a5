// libvirtd for the executor tests. Nothing starts it on these machines: the suite starts virtlogd
// and libvirtd if they are not running and stops exactly what it started. Storage for the jobs'
// overlays is a transient directory pool in the suite's work directory; no network is defined or
// started (the jobs use QEMU user networking on 127.0.0.1).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CONNECT = 'qemu:///system';

const running = (name: string) => spawnSync('pgrep', ['-x', name]).status === 0;
const virsh = (...args: string[]) => execFileSync('virsh', ['--connect', CONNECT, '--quiet', ...args], { encoding: 'utf8' });

export function startLibvirt(): () => void {
  const started: string[] = [];
  for (const [daemon, pidFile] of [
    ['virtlogd', '/run/virtlogd.pid'],
    ['libvirtd', '/run/libvirtd.pid'],
  ] as const) {
    if (running(daemon)) continue;
    execFileSync(daemon, ['-d']);
    started.push(pidFile);
  }
  for (let i = 0; i < 60; i++) {
    if (spawnSync('virsh', ['--connect', CONNECT, 'version'], { encoding: 'utf8' }).status === 0) break;
    execFileSync('sleep', ['0.5']);
  }
  virsh('version');
  return () => {
    for (const pidFile of started.reverse()) {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      try {
        process.kill(pid, 'SIGTERM');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        continue;
      }
      for (let i = 0; i < 40 && spawnSync('kill', ['-0', String(pid)]).status === 0; i++) execFileSync('sleep', ['0.25']);
    }
  };
}

/** A transient directory pool; destroying it leaves the directory and whatever is in it. */
export function createPool(name: string, dir: string): () => void {
  const target = join(dir, name);
  mkdirSync(target, { recursive: true, mode: 0o711 });
  virsh('pool-create-as', name, 'dir', '--target', target);
  return () => void spawnSync('virsh', ['--connect', CONNECT, 'pool-destroy', name]);
}

export const domains = () =>
  virsh('list', '--all', '--name')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
export const volumes = (pool: string) =>
  virsh('vol-list', '--pool', pool)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0]!)
    .filter(Boolean);
