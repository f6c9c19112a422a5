/**
 * GitLab's generic package registry: one PUT per file, authenticated with the CI job's token (or a
 * personal token from GITLAB_TOKEN), retried on network errors and 5xx/429 answers. Tokens come only
 * from the environment and never appear in messages.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuildError, UsageError } from '../system/errors.js';
import { ifNetworkFailure } from '../system/expected.js';

export function authHeader(env: NodeJS.ProcessEnv): Record<string, string> {
  if (env.CI_JOB_TOKEN) return { 'JOB-TOKEN': env.CI_JOB_TOKEN };
  if (env.GITLAB_TOKEN) return { 'PRIVATE-TOKEN': env.GITLAB_TOKEN };
  throw new UsageError(
    'publishing to GitLab needs a token: run in a CI job (CI_JOB_TOKEN) or set GITLAB_TOKEN',
    'a token with the api scope, or the job token of a project that may write packages',
  );
}

/** `<project API URL>/packages/generic/<package>/<version>/<file>` */
export function packageFileUrl(projectApi: string, pkg: string, version: string, file: string): string {
  return `${projectApi.replace(/\/+$/, '')}/packages/generic/${encodeURIComponent(pkg)}/${encodeURIComponent(version)}/${encodeURIComponent(file)}`;
}

export interface HttpIo {
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Wait before retry n (0-based); tests shorten it. */
  backoffMs?: (attempt: number) => number;
  attempts?: number;
}

const retryable = (status: number) => status >= 500 || status === 429;

async function request(url: string, init: () => Promise<RequestInit>, io: HttpIo, what: string): Promise<Response> {
  const attempts = io.attempts ?? 4;
  let last = '';
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(io.backoffMs?.(attempt - 1) ?? 2000 * 2 ** (attempt - 1), undefined, { signal: io.signal });
    try {
      const response = await fetch(url, { ...(await init()), signal: io.signal });
      if (response.ok || response.status === 404 || !retryable(response.status)) return response;
      last = `HTTP ${response.status}`;
      await response.body?.cancel();
    } catch (error) {
      if (io.signal?.aborted) throw error;
      last = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    }
  }
  throw new BuildError(`${what} failed ${attempts} times: ${last}`, 'check the GitLab URL and that it is reachable');
}

async function failure(response: Response, what: string): Promise<never> {
  const body = (await response.text().catch(ifNetworkFailure(''))).slice(0, 200).replace(/\s+/g, ' ');
  throw new BuildError(
    `${what}: HTTP ${response.status}${body ? ` ${body}` : ''}`,
    response.status === 401 || response.status === 403 ? 'the token may not write packages of this project' : undefined,
  );
}

export async function uploadFile(url: string, path: string, io: HttpIo = {}): Promise<void> {
  const headers = authHeader(io.env ?? process.env);
  const { size } = await stat(path);
  const what = `upload of ${url.split('/').at(-1)}`;
  const response = await request(
    url,
    async () => ({
      method: 'PUT',
      headers: { ...headers, 'content-length': String(size), 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(createReadStream(path)) as ReadableStream,
      duplex: 'half',
    }),
    io,
    what,
  );
  if (!response.ok) await failure(response, what);
  await response.body?.cancel();
}

/** The published file's response, or undefined when there is none (404). */
async function download(url: string, io: HttpIo): Promise<Response | undefined> {
  const headers = authHeader(io.env ?? process.env);
  const what = `download of ${url.split('/').at(-1)}`;
  const response = await request(url, async () => ({ headers }), io, what);
  if (response.status === 404) return undefined;
  if (!response.ok) await failure(response, what);
  return response;
}

/** The sha256 of the file published at `url`, streamed, or undefined when there is none (404). */
export async function downloadSha256(url: string, io: HttpIo = {}): Promise<string | undefined> {
  const response = await download(url, io);
  if (!response) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of response.body ?? []) hash.update(chunk as Uint8Array);
  return hash.digest('hex');
}

/** The file's text, or undefined when there is none yet (404). */
export async function downloadText(url: string, io: HttpIo = {}): Promise<string | undefined> {
  return (await download(url, io))?.text();
}

export async function uploadText(url: string, text: string, io: HttpIo = {}): Promise<void> {
  const headers = authHeader(io.env ?? process.env);
  const what = `upload of ${url.split('/').at(-1)}`;
  const response = await request(url, async () => ({ method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: text }), io, what);
  if (!response.ok) await failure(response, what);
  await response.body?.cancel();
}
