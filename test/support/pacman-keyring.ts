// What a pacman keyring trusts, read with GnuPG, and the keyring `pacman-key --init && pacman-key
// --populate` makes of the same keyring files: the reference the image's keyring must equal.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One key of a keyring: its validity (GnuPG's letter) and whether it is disabled. */
export interface KeyState {
  validity: string;
  disabled: boolean;
}

function gpg(home: string, epoch: string, args: string[]): string {
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--faked-system-time', `${epoch}!`, '--no-auto-check-trustdb', '--with-colons', ...args], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} in ${home} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Every primary key of the keyring in `home` (a copy is read, so nothing is written there). */
export function keyStates(home: string, epoch: string, scratch: string): Map<string, KeyState> {
  const copy = join(scratch, `read-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  cpSync(home, copy, { recursive: true, filter: (src) => !/\/S\.[^/]*$/.test(src) });
  const states = new Map<string, KeyState>();
  let pending: KeyState | undefined;
  for (const line of gpg(copy, epoch, ['--list-keys']).split('\n')) {
    const f = line.split(':');
    if (f[0] === 'pub') pending = { validity: f[1]!, disabled: (f[11] ?? '').includes('D') };
    else if (f[0] === 'fpr' && pending) {
      states.set(f[9]!, pending);
      pending = undefined;
    }
  }
  stopAgent(copy);
  rmSync(copy, { recursive: true, force: true });
  return states;
}

/** Fingerprints of the keys GnuPG holds fully or ultimately valid: what pacman accepts. */
export function trusted(states: Map<string, KeyState>): string[] {
  return [...states]
    .filter(([, s]) => s.validity === 'f' || s.validity === 'u')
    .map(([fpr]) => fpr)
    .sort();
}

/**
 * What pacman acts on, key by key, without the keyring's root (the key of ultimate validity:
 * pacman-key's local key or boxes' anchor): whether the key is valid (full or ultimate) and
 * whether it is disabled. (GnuPG versions differ in the letter of a key that is not valid, `-` or
 * `q`; both mean pacman refuses it.)
 */
export function trustSummary(states: Map<string, KeyState>): Record<string, { valid: boolean; disabled: boolean }> {
  return Object.fromEntries(
    [...states]
      .filter(([, s]) => s.validity !== 'u')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([fpr, s]) => [fpr, { valid: s.validity === 'f', disabled: s.disabled }]),
  );
}

/**
 * `pacman-key --init && pacman-key --populate` on the keyring files in `keyrings` (NAME.gpg,
 * NAME-trusted, NAME-revoked), with GnuPG's clock at `epoch` (gpg.conf's faked-system-time, which
 * every gpg pacman-key runs reads). The host's pacman-key, told where the files are. Returns the
 * keyring's directory.
 */
export function populateReference(keyrings: string, epoch: string, dir: string): string {
  mkdirSync(join(dir, 'gnupg'), { recursive: true });
  const script = join(dir, 'pacman-key');
  const original = readFileSync(spawnSync('sh', ['-c', 'command -v pacman-key'], { encoding: 'utf8' }).stdout.trim(), 'utf8');
  const patched = original.replace(/^(\s*local KEYRING_IMPORT_DIR=).*$/m, `$1'${keyrings}'`);
  if (patched === original) throw new Error('pacman-key has no KEYRING_IMPORT_DIR line to point at the fixture keyring');
  writeFileSync(script, patched, { mode: 0o755 });
  const home = join(dir, 'gnupg');
  writeFileSync(join(home, 'gpg.conf'), `faked-system-time ${epoch}!\n`);
  for (const step of ['--init', '--populate']) {
    const r = spawnSync('bash', [script, '--gpgdir', home, step], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`pacman-key ${step} exited ${r.status}: ${r.stdout}${r.stderr}`);
  }
  stopAgent(home);
  return home;
}

export function stopAgent(home: string): void {
  spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
}

/** The fingerprint of the first key in an armored or binary key file. */
export function fingerprintOf(file: string): string {
  const r = spawnSync('gpg', ['--batch', '--with-colons', '--show-keys', file], { encoding: 'utf8' });
  const fpr = r.stdout
    .split('\n')
    .find((l) => l.startsWith('fpr:'))
    ?.split(':')[9];
  if (!fpr) throw new Error(`no key in ${file}: ${r.stderr}`);
  return fpr;
}
