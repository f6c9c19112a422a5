/**
 * Debian's `Packages.xz` indexes, read through the tools tree's `xz` (Node has no xz, and Debian
 * publishes no other compression for every suite: its updates and security suites have no gzip).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadAll } from '../system/download.js';
import { ChildFailed } from '../system/errors.js';
import { isNetworkFailure } from '../system/expected.js';
import { run } from '../system/runner.js';
import type { Toolbox } from '../system/toolbox.js';

/** Called with each package version an index lists. */
export type OnPackage = (name: string, version: string, architecture: string) => void;

/** Reads a Packages index (deb822 stanzas) as its text arrives. */
export function indexReader(onPackage: OnPackage): { push: (text: string) => void; end: () => void } {
  let rest = '';
  let name = '';
  let version = '';
  let architecture = '';
  const flush = () => {
    if (name && version && architecture) onPackage(name, version, architecture);
    name = version = architecture = '';
  };
  const line = (l: string) => {
    if (l === '') flush();
    else if (l.startsWith('Package: ')) name = l.slice(9).trim();
    else if (l.startsWith('Version: ')) version = l.slice(9).trim();
    else if (l.startsWith('Architecture: ')) architecture = l.slice(14).trim();
  };
  return {
    push(text) {
      const lines = (rest + text).split('\n');
      rest = lines.pop()!;
      lines.forEach(line);
    },
    end() {
      if (rest) line(rest);
      rest = '';
      flush();
    },
  };
}

/**
 * Every package version the `Packages.xz` indexes at `urls` list. False when one cannot be read
 * (unreachable, not there, or not xz: a proxy's error page).
 */
export async function readPackagesIndexes(urls: readonly string[], onPackage: OnPackage, tools: Toolbox, signal?: AbortSignal): Promise<boolean> {
  const scratch = await mkdtemp(join(tmpdir(), 'boxes-indexes-'));
  try {
    const indexes = await downloadAll(urls, 120_000, signal);
    if (!indexes) return false;
    for (const [i, index] of indexes.entries()) {
      // The runner gives a child a file as its stdin.
      const file = join(scratch, `${i}.xz`);
      await writeFile(file, index);
      const reader = indexReader(onPackage);
      const decoder = new TextDecoder();
      await run(['xz', '-dc'], { tools, stdinFile: file, signal, what: 'xz -dc (a Packages index)', onStdout: (chunk) => reader.push(decoder.decode(chunk, { stream: true })) });
      reader.push(decoder.decode());
      reader.end();
    }
    return true;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (isNetworkFailure(error) || error instanceof ChildFailed) return false;
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
