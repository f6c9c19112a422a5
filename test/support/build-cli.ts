// Vitest global setup: the CLI tests run dist/cli.js, so compile it once before any of them.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export default function setup(): void {
  const root = resolve(import.meta.dirname, '../..');
  const r = spawnSync('npx', ['tsc', '-p', root], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
}
