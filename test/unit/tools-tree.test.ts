import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KEEP_TOOLS_TREES, pruneToolsTrees, toolsTreeKey } from '../../src/image/tools-tree.js';

describe('tools trees in the cache', () => {
  it('keeps the most recently used trees and a tree being built, and removes the rest', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tools-'));
    const ages = { 'debian-trixie-aaaaaaaaaaaa': 4, 'debian-trixie-bbbbbbbbbbbb': 1, 'debian-trixie-cccccccccccc': 3, 'debian-trixie-dddddddddddd': 2 };
    for (const [name, days] of Object.entries(ages)) {
      mkdirSync(join(root, name, 'usr/bin'), { recursive: true });
      const t = new Date(Date.now() - days * 86_400_000);
      utimesSync(join(root, name), t, t);
    }
    mkdirSync(join(root, '.building-x'));
    const removed = await pruneToolsTrees(root, async (dir) => rmSync(dir, { recursive: true }));
    expect(KEEP_TOOLS_TREES).toBe(2);
    expect(removed.map((p) => p.split('/').at(-1)).sort()).toEqual(['debian-trixie-aaaaaaaaaaaa', 'debian-trixie-cccccccccccc']);
    expect(readdirSync(root).sort()).toEqual(['.building-x', 'debian-trixie-bbbbbbbbbbbb', 'debian-trixie-dddddddddddd']);
    expect(existsSync(join(root, 'debian-trixie-bbbbbbbbbbbb/usr/bin'))).toBe(true);
  });

  it('gives another package list another tree, whatever its order', () => {
    const spec = { distribution: 'debian', release: 'trixie', packages: ['qemu-utils', 'skopeo'] };
    expect(toolsTreeKey({ ...spec, packages: ['skopeo', 'qemu-utils'] }, '25.3')).toBe(toolsTreeKey(spec, '25.3'));
    expect(toolsTreeKey({ ...spec, packages: ['qemu-utils'] }, '25.3')).not.toBe(toolsTreeKey(spec, '25.3'));
    expect(toolsTreeKey(spec, '25.3')).toMatch(/^debian-trixie-[0-9a-f]{12}$/);
  });
});
