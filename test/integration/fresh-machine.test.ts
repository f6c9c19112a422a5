// The stranger's proof (scripts/fresh-machine.sh): a minimal Debian bookworm root with Node and
// Python and nothing else boxes would need, entered as its own mount, PID and UTS namespaces with an
// empty cache; root and an unprivileged user each install boxes with npm ci, build basic and the
// container side by side in one command and audit both; the user boots basic under UEFI (root's
// disk is the same bytes). No package may be installed in the root, and the rootless builds must
// be the root builds' bytes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../support/cli.js';

interface Summary {
  who: string;
  seconds: Record<string, number>;
  sha256: Record<string, string>;
}

const STEPS = ['npm ci', 'build basic,container', 'audit basic', 'audit container', 'setup --check'];
const BOOT = 'test basic (uefi)';
/** The steps each one runs: the unprivileged user alone boots. */
const stepsOf = (who: string) => (who === 'builder' ? [...STEPS, BOOT] : STEPS);

describe('a fresh machine with only Node and Python', () => {
  let summaries: Summary[];
  let log: string;
  // Its own directory, not the integration suites' scratch: this project runs beside them.
  const dir = mkdtempSync(join('/var/tmp', 'boxes-fresh-'));
  afterAll(() => {
    if (process.env.BOXES_KEEP_SCRATCH === '1') console.log(`fresh machine kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  beforeAll(() => {
    if (process.getuid?.() !== 0) throw new Error('the fresh-machine suite makes a Debian root with mmdebstrap and enters it: run it as root');
    const r = spawnSync(join(root, 'scripts/fresh-machine.sh'), [join(dir, 'machine')], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 60 * 60_000 });
    log = `${r.stdout}\n${r.stderr}`;
    if (r.status !== 0) throw new Error(`scripts/fresh-machine.sh exited ${r.status}\n${log.slice(-6000)}`);
    summaries = JSON.parse(readFileSync(join(dir, 'machine/summary.json'), 'utf8')) as Summary[];
    // The suite's own timings, for the CI log.
    for (const s of summaries)
      console.log(
        `fresh machine, ${s.who}: ${stepsOf(s.who)
          .map((k) => `${k} ${s.seconds[k]} s`)
          .join(', ')}`,
      );
  });

  it('runs every step as root and as the unprivileged user, with no package installed in the root', () => {
    expect(summaries.map((s) => s.who)).toEqual(['root', 'builder']);
    for (const s of summaries) expect(Object.keys(s.seconds).sort()).toEqual(stepsOf(s.who).sort());
    expect(log).not.toMatch(/package set changed/);
  });

  it('boots basic under UEFI rootless, and finds both artifacts clean, as root and rootless', () => {
    expect(log).toMatch(/=== builder: test basic \(uefi\) took \d+s/);
    expect(log).not.toMatch(/=== root: test basic/);
    for (const who of ['root', 'builder']) expect(log).toMatch(new RegExp(`=== ${who}: audit container took \\d+s`));
    expect(log.match(/-basic-[\d.]+\.qcow2: clean \(\d+ entries checked\)/g)).toHaveLength(2);
    expect(log.match(/-container-base-[\d.]+\.tar: clean \(\d+ entries checked\)/g)).toHaveLength(2);
    // setup --check finds nothing missing that a build needs (only optional host services may be).
    expect(log).not.toMatch(/^MISSING /m);
  });

  it('gives the rootless user the bytes root built, for the disk image and the container', () => {
    const [asRoot, asUser] = summaries;
    expect(Object.keys(asRoot!.sha256)).toHaveLength(2);
    expect(asUser!.sha256).toEqual(asRoot!.sha256);
  });
});
