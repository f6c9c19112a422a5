/** `boxes publish` options: checked as a whole, every problem in one line, before anything is read. */
import { z } from 'zod';
import { UsageError } from '../system/errors.js';
import { optionProblems } from '../system/option-problems.js';
import { REGISTRY, type RegistryOptions } from './registry.js';
import { holdsSecret, redactSecrets } from '../system/redact.js';

export interface RawPublishOptions {
  outputDir: string;
  registry?: string;
  boxes?: string;
  gitlabPackage?: string;
  boxName?: string;
  baseUrl?: string;
  signBy?: string;
  sigstoreKey?: string;
  signPassphraseFile?: string;
  authfile?: string;
  registriesD?: string;
  tlsVerify?: boolean;
  includeExecutor?: boolean;
  unverified?: boolean;
  json?: boolean;
}

export interface PublishOptions {
  outputDir: string;
  registry?: RegistryOptions;
  boxes?: { kind: 'directory'; dir: string; baseUrl?: string; boxName?: string } | { kind: 'gitlab'; projectApi: string; pkg: string; boxName?: string };
  includeExecutor: boolean;
  unverified: boolean;
  json: boolean;
}

const url = /^https?:\/\/\S+$/;

const schema = z
  .object({
    outputDir: z.string().min(1),
    registry: z
      .string()
      .regex(REGISTRY, { error: (i) => `--registry '${String(i.input)}' is not docker://HOST[:PORT]/NAME (no tag: boxes pushes each archive under its own tags)` })
      .optional(),
    boxes: z.string().min(1).optional(),
    gitlabPackage: z
      .string()
      .regex(/^[\w.-]+$/, { error: '--gitlab-package takes a package name (letters, digits, ._-)' })
      .optional(),
    boxName: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+$/, { error: (i) => `--box-name '${String(i.input)}' must look like org/name` })
      .optional(),
    baseUrl: z
      .string()
      .regex(/^(https?|file):\/\/\S+$/, { error: '--base-url must be an http://, https:// or file:// URL' })
      .optional(),
    signBy: z.string().min(1).optional(),
    sigstoreKey: z.string().min(1).optional(),
    signPassphraseFile: z.string().min(1).optional(),
    authfile: z.string().min(1).optional(),
    registriesD: z.string().min(1).optional(),
  })
  .loose();

export function parsePublishOptions(raw: RawPublishOptions): PublishOptions {
  const r = schema.safeParse(raw);
  const problems = r.success ? [] : optionProblems(r.error);
  if (raw.boxes !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(raw.boxes) && !url.test(raw.boxes))
    problems.push(`--boxes: ${redactSecrets(raw.boxes)} is neither a directory nor a GitLab project API URL (https://HOST/api/v4/projects/ID)`);
  if (!raw.registry && !raw.boxes) problems.push('say where to publish: --registry docker://HOST/NAME (containers) and/or --boxes DIR|URL (disk images and Vagrant boxes)');
  const gitlab = raw.boxes !== undefined && url.test(raw.boxes);
  if (gitlab && !raw.gitlabPackage) problems.push('--boxes URL is a GitLab project API URL (https://HOST/api/v4/projects/ID): say the generic package with --gitlab-package NAME');
  if (!gitlab && raw.gitlabPackage) problems.push('--gitlab-package needs --boxes https://HOST/api/v4/projects/ID');
  if (gitlab && raw.baseUrl) problems.push('--base-url is for --boxes DIR; GitLab serves its package files from their own URLs');
  if (gitlab && holdsSecret(raw.boxes!))
    problems.push(`--boxes ${redactSecrets(raw.boxes!)} carries a credential: put the token in CI_JOB_TOKEN or GITLAB_TOKEN, never in the URL (it would reach logs)`);
  if (!raw.registry && (raw.signBy || raw.sigstoreKey || raw.authfile || raw.registriesD))
    problems.push('--sign-by, --sigstore-key, --authfile and --registries-d go with --registry');
  if (raw.signBy && raw.sigstoreKey) problems.push('sign with --sign-by or --sigstore-key, not both');
  if (problems.length > 0 || !r.success) throw new UsageError(problems.join('; '));
  const o = r.data;
  return {
    outputDir: o.outputDir,
    registry: o.registry
      ? {
          registry: o.registry,
          signBy: o.signBy,
          sigstoreKey: o.sigstoreKey,
          passphraseFile: o.signPassphraseFile,
          authfile: o.authfile,
          registriesD: o.registriesD,
          tlsVerify: raw.tlsVerify !== false,
        }
      : undefined,
    boxes:
      o.boxes === undefined
        ? undefined
        : gitlab
          ? { kind: 'gitlab', projectApi: o.boxes, pkg: o.gitlabPackage!, boxName: o.boxName }
          : { kind: 'directory', dir: o.boxes, baseUrl: o.baseUrl, boxName: o.boxName },
    includeExecutor: Boolean(raw.includeExecutor),
    unverified: Boolean(raw.unverified),
    json: Boolean(raw.json),
  };
}
