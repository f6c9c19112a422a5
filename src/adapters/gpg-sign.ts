/** `--sign KEYID`: GnuPG detached signatures (`<artifact>.sig`), like arch-boxes publishes. */
import { BuildError, PrerequisiteError } from '../system/errors.js';
import { run } from '../system/runner.js';

export const signatureName = (artifact: string) => `${artifact}.sig`;

/** Before anything slow: the key must be a secret key in the user's keyring. */
export async function checkSigningKey(keyId: string, signal?: AbortSignal): Promise<void> {
  try {
    await run(['gpg', '--batch', '--list-secret-keys', '--', keyId], { signal, what: 'gpg --list-secret-keys' });
  } catch (error) {
    if (error instanceof PrerequisiteError) throw new PrerequisiteError('--sign needs gpg, which is not installed', 'apt-get install gnupg');
    if (error instanceof BuildError) throw new PrerequisiteError(`cannot sign with ${keyId}: no such secret key in the GnuPG keyring`, `check \`gpg --list-secret-keys ${keyId}\``);
    throw error;
  }
}

/** Writes `<path>.sig`, a binary detached signature. */
export async function signFile(keyId: string, path: string, signal?: AbortSignal): Promise<string> {
  const sig = signatureName(path);
  await run(['gpg', '--batch', '--yes', '--local-user', keyId, '--detach-sign', '--output', sig, '--', path], { signal, what: `gpg --detach-sign ${path}` });
  return sig;
}
