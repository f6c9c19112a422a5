// The failures boxes turns into values are the ones it names; everything else still fails. Each
// case here used to be a `.catch(() => undefined)` that hid whatever went wrong.
import { chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BadJobState, ifBadState, listJobDirs, readState } from '../../src/executor/state.js';
import { ChildFailed, InterruptedError, UsageError } from '../../src/system/errors.js';
import { ifChildFailed, ifMissing, ifMissingOrDenied, isNetworkFailure, parseJson } from '../../src/system/expected.js';

const VM = 'boxes-runner-7-project-42-pipeline-1001-job-90001';

describe('expected failures, by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxes-expected-'));

  it('a missing path is a value; a path that is there but unreadable still fails', async () => {
    expect(await readFile(join(dir, 'gone'), 'utf8').catch(ifMissing('default'))).toBe('default');
    expect(await readFile(join(dir, 'gone/below'), 'utf8').catch(ifMissing('default'))).toBe('default');
    await expect(readFile(dir, 'utf8').catch(ifMissing('default'))).rejects.toMatchObject({ code: 'EISDIR' });
    const locked = join(dir, 'locked');
    writeFileSync(locked, 'x');
    chmodSync(locked, 0);
    // root reads a mode-0 file; an unprivileged user gets EACCES, which ifMissing does not hide.
    if (process.getuid?.() !== 0) {
      await expect(readFile(locked, 'utf8').catch(ifMissing('default'))).rejects.toMatchObject({ code: 'EACCES' });
      expect(await readFile(locked, 'utf8').catch(ifMissingOrDenied('default'))).toBe('default');
    }
  });

  it('a child that exited non-zero is a value; an interruption or a missing program is not', () => {
    expect(ifChildFailed('x')(new ChildFailed('virsh exited with 1', undefined, [], 1))).toBe('x');
    expect(() => ifChildFailed('x')(new InterruptedError('interrupted'))).toThrow(InterruptedError);
    expect(() => ifChildFailed('x')(new Error('spawn virsh ENOENT'))).toThrow(/ENOENT/);
  });

  it('JSON that is not JSON is the caller’s error; nothing else is turned into it', () => {
    expect(parseJson('{"a":1}', () => new UsageError('bad'))).toEqual({ a: 1 });
    expect(() => parseJson('{', (why) => new UsageError(`bad: ${why}`))).toThrow(/^bad: /);
  });

  it('a network failure is fetch’s TypeError or a timeout, not any error', () => {
    expect(isNetworkFailure(new TypeError('fetch failed'))).toBe(true);
    expect(isNetworkFailure(new DOMException('timed out', 'TimeoutError'))).toBe(true);
    expect(isNetworkFailure(new Error('HTTP 500'))).toBe(false);
  });
});

describe("an executor job's state", () => {
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'boxes-state-'));
    mkdirSync(join(dir, VM));
    return dir;
  };

  it('is undefined when prepare never wrote it, and a BadJobState naming the file when it is damaged', async () => {
    const dir = stateDir();
    expect(await readState(join(dir, VM))).toBeUndefined();
    writeFileSync(join(dir, VM, 'job.json'), '{"vm": "x"');
    await expect(readState(join(dir, VM))).rejects.toThrow(/job\.json is not JSON/);
    writeFileSync(join(dir, VM, 'job.json'), JSON.stringify({ vm: VM, created: 'yesterday' }));
    const error = await readState(join(dir, VM)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadJobState);
    expect((error as Error).message).toMatch(/is not a job state: created: .*; connect: /);
    expect(ifBadState(error)).toBeUndefined();
    expect(() => ifBadState(new Error('EIO'))).toThrow('EIO');
  });

  it('of a damaged job still leaves the job to sweep, aged by its directory', async () => {
    const dir = stateDir();
    writeFileSync(join(dir, VM, 'job.json'), 'not json');
    const old = new Date('2026-01-01T00:00:00Z');
    utimesSync(join(dir, VM), old, old);
    expect(await listJobDirs(dir)).toEqual([{ vm: VM, created: old }]);
    expect(await listJobDirs(join(dir, 'no-such-dir'))).toEqual([]);
  });
});
