import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../../src/system/errors.js';
import { leaders, scheduler } from '../../src/image/schedule.js';
import { describeSchedule, waitKey } from '../../src/image/target-plan.js';
import { describeArtifact } from '../../src/artifact/artifact.js';

/** Runs every target as the build does: ask for a turn, work for `ms[i]` milliseconds, release. */
async function trace(keys: (string | undefined)[], jobs: number, ms: number[]) {
  const turns = scheduler(keys, jobs);
  const events: string[] = [];
  let running = 0;
  let most = 0;
  await Promise.all(
    keys.map(async (_k, i) => {
      const slot = await turns.turn(i);
      running++;
      most = Math.max(most, running);
      events.push(`start ${i}`);
      await new Promise((r) => setTimeout(r, ms[i]));
      running--;
      events.push(`end ${i}`);
      slot.release();
    }),
  );
  return { events, most };
}

describe('the build schedule', () => {
  it('makes each target wait for the first earlier target with its install cache key', () => {
    expect(leaders(['c', 'c', 'c', 'vm', 'vm', undefined, 'vm', undefined])).toEqual([undefined, 0, 0, undefined, 3, undefined, 3, undefined]);
  });

  it('with one job keeps the plan order exactly', async () => {
    const { events, most } = await trace(['a', 'a', 'b', undefined], 1, [5, 1, 1, 1]);
    expect(most).toBe(1);
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  it('runs the first of each package set side by side, and the rest only after their leader', async () => {
    // --all's shape: three container variants, then five VM images.
    const keys = ['c', 'c', 'c', 'vm', 'vm', 'vm', 'vm', 'vm'];
    const { events, most } = await trace(keys, 2, [30, 5, 5, 40, 5, 5, 5, 5]);
    expect(most).toBe(2);
    expect(events.slice(0, 2)).toEqual(['start 0', 'start 3']);
    for (const [i, leader] of leaders(keys).entries()) if (leader !== undefined) expect(events.indexOf(`start ${i}`)).toBeGreaterThan(events.indexOf(`end ${leader}`));
  });

  it('never runs more than the jobs allow, and a free slot goes to the earliest ready target', async () => {
    const { events, most } = await trace([undefined, undefined, undefined, undefined, undefined], 3, [20, 5, 5, 5, 5]);
    expect(most).toBe(3);
    expect(events.slice(0, 3)).toEqual(['start 0', 'start 1', 'start 2']);
    expect(events.indexOf('start 3')).toBeLessThan(events.indexOf('start 4'));
  });

  it('starts a target once its leader is done, however the leader ended', async () => {
    const { events } = await trace(['a', 'a'], 2, [5, 1]);
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
  });

  it('rejects a waiting target with an interruption when the build stops', async () => {
    const turns = scheduler(['a', 'a'], 2);
    const stop = new AbortController();
    const first = await turns.turn(0, stop.signal);
    const second = turns.turn(1, stop.signal);
    stop.abort();
    await expect(second).rejects.toBeInstanceOf(InterruptedError);
    first.release();
    await expect(scheduler(['x'], 1).turn(0, stop.signal)).rejects.toBeInstanceOf(InterruptedError);
  });

  it('refuses a job count that is not a positive integer', () => {
    expect(() => scheduler([], 0)).toThrow(RangeError);
    expect(() => scheduler([], 1.5)).toThrow(RangeError);
  });

  it('says how the plan runs', () => {
    const target = (profile: string, variant?: 'base' | 'base-devel') => ({
      profile,
      variant,
      artifact: describeArtifact({ profile, variant, distribution: 'debian', release: 'trixie', architecture: 'x86-64', version: '1' }),
    });
    const plans = [
      { target: target('container', 'base'), shareKey: 'c', cached: false },
      { target: target('container', 'base-devel'), shareKey: 'c', cached: false },
      { target: target('basic'), shareKey: 'vm', cached: true },
      { target: target('cloud-init'), shareKey: 'vm', cached: true },
      { target: target('libvirt-executor'), shareKey: 'vm', cached: true },
    ];
    expect(describeSchedule(plans, 2)).toBe("5 images, 2 at a time; package sets: container (base)'s shared by 1 more, basic's shared by 2 more (cached)");
    expect(describeSchedule(plans.slice(2, 3), 4)).toBe('1 image, one at a time');
    // A cached set is only read: its targets wait for nobody; a set still to install has a leader.
    expect(plans.map(waitKey)).toEqual(['c', 'c', undefined, undefined, undefined]);
  });
});
