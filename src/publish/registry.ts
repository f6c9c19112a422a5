/**
 * `--registry docker://HOST/NAME`: pushes each container archive under each of its ref names with
 * skopeo (optionally signing it), then reads the manifest back from the registry and checks that
 * its digest is the one the build recorded.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { ociFacts } from '../record/oci-facts.js';
import { BuildError, PrerequisiteError, UsageError } from '../system/errors.js';
import { run } from '../system/runner.js';
import { checkSigningKey } from '../adapters/gpg-sign.js';
import type { Publishable } from './inventory.js';
import { ifMissingOrDenied } from '../system/expected.js';
import type { Toolbox } from '../system/toolbox.js';

export interface RegistryOptions {
  /** docker://HOST[:PORT]/NAME */
  registry: string;
  signBy?: string;
  sigstoreKey?: string;
  passphraseFile?: string;
  authfile?: string;
  registriesD?: string;
  tlsVerify: boolean;
}

export const REGISTRY = /^docker:\/\/[a-z0-9.-]+(:\d+)?\/[a-z0-9]+([._/-][a-z0-9]+)*$/;

/** Under --unverified the tags say so, so that no trusted tag ever names unproven bytes. */
export const tagFor = (ref: string, verified: boolean) => (verified ? ref : `${ref}-unverified`);

/** Before anything is pushed: the signing key must be usable. */
export async function checkSigning(options: RegistryOptions, signal?: AbortSignal): Promise<void> {
  if (options.signBy) await checkSigningKey(options.signBy, signal);
  for (const [flag, file] of [
    ['--sigstore-key', options.sigstoreKey],
    ['--sign-passphrase-file', options.passphraseFile],
  ] as const)
    if (file && !(await access(file).then(() => true, ifMissingOrDenied(false)))) throw new UsageError(`${flag} ${file}: no such readable file`);
}

/**
 * skopeo from the toolbox. The host's /etc/containers/policy.json rules when it has one; a host
 * without containers' configuration gets the policy the tools tree's skopeo package ships.
 */
function skopeo(options: RegistryOptions, tools: Toolbox, args: string[]): string[] {
  const policy = tools.source !== 'host' && !existsSync('/etc/containers/policy.json') ? ['--policy', tools.file('/etc/containers/policy.json')] : [];
  return ['skopeo', ...policy, ...(options.registriesD ? ['--registries.d', options.registriesD] : []), ...args];
}

function copyArgs(options: RegistryOptions, tools: Toolbox, source: string, destination: string): string[] {
  const sign = [
    ...(options.signBy ? ['--sign-by', options.signBy] : []),
    ...(options.sigstoreKey ? ['--sign-by-sigstore-private-key', options.sigstoreKey] : []),
    ...(options.passphraseFile ? ['--sign-passphrase-file', options.passphraseFile] : []),
  ];
  const auth = options.authfile ? ['--src-authfile', options.authfile, '--dest-authfile', options.authfile] : [];
  const tls = [`--src-tls-verify=${options.tlsVerify}`, `--dest-tls-verify=${options.tlsVerify}`];
  // --preserve-digests: skopeo fails rather than recompress or convert, so the pushed digest is the built one.
  return skopeo(options, tools, ['copy', '--preserve-digests', ...tls, ...auth, ...sign, source, destination]);
}

/** The digest of the manifest the registry serves for this reference. */
export async function registryDigest(options: RegistryOptions, tools: Toolbox, reference: string, signal?: AbortSignal): Promise<string> {
  const auth = options.authfile ? ['--authfile', options.authfile] : [];
  const { stdout } = await run(skopeo(options, tools, ['inspect', '--raw', `--tls-verify=${options.tlsVerify}`, ...auth, reference]), {
    tools,
    signal,
    what: `skopeo inspect ${reference}`,
  });
  return `sha256:${createHash('sha256').update(stdout).digest('hex')}`;
}

export interface Pushed {
  artifact: string;
  reference: string;
  digest: string;
}

async function pushOne(options: RegistryOptions, a: Publishable, tools: Toolbox, signal?: AbortSignal): Promise<Pushed[]> {
  const { refs } = await ociFacts(a.path);
  if (refs.length === 0) throw new UsageError(`${a.name} names no tag (no org.opencontainers.image.ref.name in its index.json)`, 'rebuild it with boxes build');
  const pushed: Pushed[] = [];
  for (const [i, ref] of refs.entries()) {
    const reference = `${options.registry}:${tagFor(ref, a.verified)}`;
    // Further tags are copied from the first one in the registry: simple signatures live per
    // manifest digest, and only a copy that carries the first tag's signatures along keeps them.
    const source = i === 0 ? `oci-archive:${a.path}:${ref}` : pushed[0]!.reference;
    try {
      await run(copyArgs(options, tools, source, reference), { tools, signal, what: `skopeo copy ${a.name} to ${reference}` });
    } catch (error) {
      if (error instanceof PrerequisiteError) throw new PrerequisiteError('publishing to a registry needs skopeo, which is not installed', 'apt-get install skopeo');
      if (!(error instanceof BuildError)) throw error;
      throw new BuildError(
        `cannot push ${a.name} to ${reference}: ${error.logTail.at(-1) ?? error.message}`,
        'check that the registry is up and reachable, and --authfile',
        error.logTail,
      );
    }
    const digest = await registryDigest(options, tools, reference, signal);
    if (digest !== a.record.artifact.digest)
      throw new BuildError(
        `${reference} serves manifest ${digest}, but ${a.name} was built as ${a.record.artifact.digest}`,
        'the registry rewrote the image; use a registry that stores OCI manifests as they are',
      );
    pushed.push({ artifact: a.name, reference, digest });
  }
  return pushed;
}

export async function pushContainers(options: RegistryOptions, artifacts: Publishable[], tools: Toolbox, signal?: AbortSignal): Promise<Pushed[]> {
  const pushed: Pushed[] = [];
  for (const a of artifacts) pushed.push(...(await pushOne(options, a, tools, signal)));
  return pushed;
}
