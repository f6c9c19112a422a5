// `--keyring-anchor DIR`: checked before anything slow, passed to mkosi as a mount over the tree's
// own anchor, and kept in the record so that `boxes reproduce` mounts it again.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkKeyringAnchor } from '../../src/image/keyring-anchor.js';
import { KEYRING_ANCHOR_DIR, mkosiBuildArgs } from '../../src/image/mkosi-args.js';
import { parseBuildOptions } from '../../src/plan/options.js';
import { UsageError } from '../../src/system/errors.js';

const paths = { treeDir: '/t', outputDir: '/o', cacheDir: '/c', packageCacheDir: '/p', workspaceDir: '/w', toolsTree: '/tools' };
const arch = (extra: Record<string, string> = {}) =>
  parseBuildOptions({ profile: 'container', distribution: 'arch', sourceDateEpoch: '1763856000', ...extra }, { now: new Date() });

describe('--keyring-anchor', () => {
  it("mounts the anchor over the tree's own, the tree itself staying the first build source", () => {
    const options = arch({ keyringAnchor: '/srv/anchor' });
    const args = mkosiBuildArgs(options, options.targets[0]!, paths, 'abc');
    expect(args).toContain(`--build-sources=/t,/srv/anchor:${KEYRING_ANCHOR_DIR}`);
    expect(KEYRING_ANCHOR_DIR).toBe('mkosi.profiles/container/keyring-anchor');
  });

  it('leaves mkosi its default build sources without one', () => {
    const options = arch();
    const args = mkosiBuildArgs(options, options.targets[0]!, paths, 'abc');
    expect(args.some((a) => a.startsWith('--build-sources'))).toBe(false);
  });

  it('accepts a directory with what scripts/keyring-anchor.sh writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'anchor-'));
    writeFileSync(join(dir, 'anchor.asc'), 'x');
    mkdirSync(join(dir, 'certifications'));
    await expect(checkKeyringAnchor(dir)).resolves.toBeUndefined();
  });

  it.each([
    ['a missing directory', (d: string) => join(d, 'gone'), /--keyring-anchor: .*gone does not exist$/],
    ['a file', (d: string) => (writeFileSync(join(d, 'file'), 'x'), join(d, 'file')), /--keyring-anchor: .*file is a file, not a directory$/],
    ['a partial anchor', (d: string) => (mkdirSync(join(d, 'part')), writeFileSync(join(d, 'part/anchor.asc'), 'x'), join(d, 'part')), /part has no certifications\/$/],
    [
      'certifications that are a file',
      (d: string) => (mkdirSync(join(d, 'odd')), writeFileSync(join(d, 'odd/anchor.asc'), 'x'), writeFileSync(join(d, 'odd/certifications'), 'x'), join(d, 'odd')),
      /odd has no certifications\/$/,
    ],
  ])('refuses %s with a usage error naming what is missing', async (_what, make, message) => {
    const dir = make(mkdtempSync(join(tmpdir(), 'anchor-')));
    const error = await checkKeyringAnchor(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(message);
  });
});
