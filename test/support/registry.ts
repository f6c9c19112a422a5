// A throwaway OCI registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1 for the publish
// tests, and a throwaway GnuPG key with a registries.d that keeps simple signatures in a local
// lookaside directory. The test that starts the registry stops it.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface Registry {
  /** HOST:PORT */
  host: string;
  stop: () => Promise<void>;
}

export async function startRegistry(dir: string): Promise<Registry> {
  const port = await freePort();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const host = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const up = await fetch(`http://${host}/v2/`).then(
      (r) => r.ok,
      (error: unknown) => {
        // Not listening yet: fetch's network failure.
        if (error instanceof TypeError) return false;
        throw error;
      },
    );
    if (up) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`docker-registry did not start on ${host} (apt-get install docker-registry)`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface SigningSetup {
  gnupgHome: string;
  fingerprint: string;
  publicKey: string;
  registriesD: string;
}

/** A passphrase-less signing key and a registries.d that stores signatures under `dir/lookaside`. */
export function signingSetup(dir: string, host: string, name = 'boxes test'): SigningSetup {
  const gnupgHome = join(dir, 'gnupg');
  mkdirSync(gnupgHome, { recursive: true, mode: 0o700 });
  const gpg = (...args: string[]) => execFileSync('gpg', ['--homedir', gnupgHome, '--batch', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  gpg('--passphrase', '', '--quick-gen-key', `${name} <test@boxes.invalid>`, 'ed25519', 'sign', 'never');
  const fingerprint = gpg('--with-colons', '--list-secret-keys')
    .split('\n')
    .find((l) => l.startsWith('fpr:'))!
    .split(':')[9]!;
  const publicKey = join(dir, 'signing-key.asc');
  writeFileSync(publicKey, gpg('--armor', '--export', fingerprint));
  const registriesD = join(dir, 'registries.d');
  mkdirSync(registriesD, { recursive: true });
  writeFileSync(join(registriesD, 'local.yaml'), `docker:\n  ${host}:\n    lookaside: file://${join(dir, 'lookaside')}\n`);
  return { gnupgHome, fingerprint, publicKey, registriesD };
}

/** A containers policy that accepts images from this registry only with a signature by this key. */
export function policyRequiring(dir: string, host: string, publicKey: string): string {
  const path = join(dir, `policy-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { [host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: publicKey }] } } }));
  return path;
}
