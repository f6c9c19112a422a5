/**
 * Vagrant's insecure private key, which logs in to a fresh box: taken from a Vagrant installation
 * (the tools tree's Debian package, or on the host HashiCorp's or a Vagrant home), never shipped with boxes.
 */
import { copyFile, chmod, readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PrerequisiteError } from '../system/errors.js';
import { ifMissingOrDenied } from '../system/expected.js';
import type { Toolbox } from '../system/toolbox.js';

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

/** Debian since trixie keeps architecture-specific gems in /usr/lib/<triplet>/rubygems-integration/<ruby>/gems. */
async function archGemRoots(tools: Toolbox): Promise<string[]> {
  const roots: string[] = [];
  for (const triplet of (await readdir(tools.file('/usr/lib')).catch(ifMissingOrDenied([] as string[]))).filter((n) => n.endsWith('-linux-gnu'))) {
    const base = tools.file(join('/usr/lib', triplet, 'rubygems-integration'));
    for (const ruby of await readdir(base).catch(ifMissingOrDenied([] as string[]))) roots.push(join(base, ruby, 'gems'));
  }
  return roots;
}

async function vagrantGemDirs(tools: Toolbox): Promise<string[]> {
  const dirs: string[] = [];
  for (const root of [...GEM_ROOTS.map((r) => tools.file(r)), ...(await archGemRoots(tools))]) {
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
export async function findVagrantInsecureKey(tools: Toolbox): Promise<string | undefined> {
  for (const path of keyCandidates(process.env, homedir(), await vagrantGemDirs(tools))) {
    const text = await readFile(path, 'utf8').catch(ifMissingOrDenied(undefined));
    if (text?.includes('PRIVATE KEY')) return path;
  }
  return undefined;
}

/** Copies the key into DIR with mode 0600 (ssh refuses keys that others can read). */
export async function vagrantInsecureKey(dir: string, tools: Toolbox): Promise<string> {
  const found = await findVagrantInsecureKey(tools);
  if (found) {
    const copy = join(dir, 'vagrant-insecure-key');
    await copyFile(found, copy);
    await chmod(copy, 0o600);
    return copy;
  }
  throw new PrerequisiteError(
    "Vagrant's insecure private key was not found (boxes test logs in to a box with it)",
    tools.source === 'host'
      ? 'apt-get install vagrant, or set BOXES_VAGRANT_KEY to the key file'
      : 'add vagrant to ToolsTreePackages= in mkosi.conf and run `boxes setup`, or set BOXES_VAGRANT_KEY to the key file',
  );
}
