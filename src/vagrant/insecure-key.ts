/**
 * Vagrant's insecure private key, which logs in to a fresh box: taken from the Vagrant installed
 * on this host (Debian's package, HashiCorp's, or a Vagrant home), never shipped with boxes.
 */
import { copyFile, chmod, readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PrerequisiteError } from '../system/errors.js';
import { ifMissingOrDenied } from '../system/expected.js';

/** Where Vagrant keeps the key, most specific first. */
export function keyCandidates(env: NodeJS.ProcessEnv, home: string, gemDirs: string[]): string[] {
  const vagrantHome = env.VAGRANT_HOME ?? join(home, '.vagrant.d');
  return [
    ...(env.BOXES_VAGRANT_KEY ? [env.BOXES_VAGRANT_KEY] : []),
    join(vagrantHome, 'insecure_private_keys/vagrant.key.ed25519'),
    join(vagrantHome, 'insecure_private_keys/vagrant.key.rsa'),
    join(vagrantHome, 'insecure_private_key'),
    ...gemDirs.flatMap((d) => [join(d, 'keys/vagrant.key.ed25519'), join(d, 'keys/vagrant.key.rsa'), join(d, 'keys/vagrant')]),
  ];
}

const GEM_ROOTS = ['/usr/share/rubygems-integration/all/gems', '/opt/vagrant/embedded/gems/gems'];

async function vagrantGemDirs(): Promise<string[]> {
  const dirs: string[] = [];
  for (const root of GEM_ROOTS) {
    const names = await readdir(root).catch(ifMissingOrDenied([] as string[]));
    dirs.push(
      ...names
        .filter((n) => /^vagrant-\d/.test(n))
        .sort()
        .reverse()
        .map((n) => join(root, n)),
    );
  }
  return dirs;
}

/** The first readable private key among the candidates; undefined when no Vagrant is installed. */
export async function findVagrantInsecureKey(): Promise<string | undefined> {
  for (const path of keyCandidates(process.env, homedir(), await vagrantGemDirs())) {
    const text = await readFile(path, 'utf8').catch(ifMissingOrDenied(undefined));
    if (text?.includes('PRIVATE KEY')) return path;
  }
  return undefined;
}

/** Copies the key into DIR with mode 0600 (ssh refuses keys that others can read). */
export async function vagrantInsecureKey(dir: string): Promise<string> {
  const found = await findVagrantInsecureKey();
  if (found) {
    const copy = join(dir, 'vagrant-insecure-key');
    await copyFile(found, copy);
    await chmod(copy, 0o600);
    return copy;
  }
  throw new PrerequisiteError(
    "Vagrant's insecure private key was not found (boxes test logs in to a box with it)",
    'apt-get install vagrant, or set BOXES_VAGRANT_KEY to the key file',
  );
}
