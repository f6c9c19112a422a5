// Secrets inside URLs never reach output, logs or records: the runner's command lines and log,
// build records, and `boxes reproduce` asking for the credentials again.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBuildOptions } from '../../src/plan/options.js';
import { reproduceArgs } from '../../src/record/record.js';
import { recordOf } from '../support/records.js';
import { UsageError } from '../../src/system/errors.js';
import { holdsSecret, redactSecrets } from '../../src/system/redact.js';
import { commandLine, run } from '../../src/system/runner.js';
import { mirrorFor } from '../../src/verify/reproduce.js';

describe('redactSecrets', () => {
  it.each([
    ['https://user:pa55@mirror.example/archlinux', 'https://user:***@mirror.example/archlinux'],
    ['--mirror=http://a:b@h/x', '--mirror=http://a:***@h/x'],
    ['https://gitlab.example/api?private_token=abc&x=1', 'https://gitlab.example/api?private_token=***&x=1'],
    ['https://mirror.example/debian', 'https://mirror.example/debian'],
    ['file:///srv/repo', 'file:///srv/repo'],
    ['user@host:path', 'user@host:path'],
  ])('%s -> %s', (input, shown) => {
    expect(redactSecrets(input)).toBe(shown);
    expect(holdsSecret(input)).toBe(input !== shown);
  });
});

describe('the runner shows and logs no secret', () => {
  it('redacts the command line, the log and the tail it reports', async () => {
    const argv = ['sh', '-c', 'echo fetching https://u:topsecret@mirror.example/x; exit 3', '--mirror=https://u:topsecret@mirror.example/x'];
    expect(commandLine(argv)).not.toContain('topsecret');
    const log = join(mkdtempSync(join(tmpdir(), 'boxes-redact-')), 'log');
    const error = (await run(argv, { logFile: log, what: 'the test' }).then(
      () => new Error('the command was meant to fail'),
      (e: unknown) => e,
    )) as Error & { hint?: string; logTail?: string[] };
    expect(readFileSync(log, 'utf8')).toContain('https://u:***@mirror.example/x');
    expect(readFileSync(log, 'utf8')).not.toContain('topsecret');
    expect(`${error.message} ${error.hint} ${(error.logTail ?? []).join(' ')}`).not.toContain('topsecret');
  });
});

describe('records keep no mirror credentials', () => {
  const options = parseBuildOptions(
    { profile: 'container', distribution: 'arch', mirror: 'https://u:topsecret@mirror.example/arch', sourceDateEpoch: '1763856000' },
    { now: new Date() },
  );
  const record = recordOf(options, { name: 'x.tar', sha256: 'a'.repeat(64) });

  it('shows them as ***', () => {
    expect(JSON.stringify(record)).not.toContain('topsecret');
    expect(record.image.mirror).toBe('https://u:***@mirror.example/arch');
    expect(reproduceArgs(options, options.targets[0]!, 'seed')).toContain('https://u:***@mirror.example/arch');
  });

  it('boxes reproduce asks for the mirror again, and takes only the same one', () => {
    expect(() => mirrorFor(record.image.mirror, undefined)).toThrow(UsageError);
    expect(() => mirrorFor(record.image.mirror, undefined)).toThrow(/had credentials, which records never keep/);
    expect(mirrorFor(record.image.mirror, 'https://u:other@mirror.example/arch')).toBe('https://u:other@mirror.example/arch');
    expect(() => mirrorFor(record.image.mirror, 'https://u:x@elsewhere.example/arch')).toThrow(/is not the record's mirror/);
    expect(mirrorFor('https://mirror.example/debian', undefined)).toBe('https://mirror.example/debian');
    expect(mirrorFor(null, undefined)).toBeUndefined();
  });
});
