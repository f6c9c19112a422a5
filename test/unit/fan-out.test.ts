import { describe, expect, it } from 'vitest';
import { BuildError, InterruptedError } from '../../src/system/errors.js';
import { fanOut } from '../../src/image/fan-out.js';
import { listrReporter } from '../../src/image/reporter.js';

const silent = listrReporter('silent');

/** Waits `ms`, or rejects with an interruption as the runner does when the signal aborts. */
const work = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new InterruptedError('interrupted; stopped'));
    });
  });

describe('fanning the matrix out', () => {
  it('returns results in plan order whatever order they finish in, and overlaps up to the jobs', async () => {
    let running = 0;
    let most = 0;
    const besides: boolean[] = [];
    const results = await fanOut([{ title: 'a' }, { title: 'b' }, { title: 'c' }], 2, silent, async (i, run) => {
      besides.push(run.beside);
      most = Math.max(most, ++running);
      await work([30, 5, 5][i]!, run.signal);
      running--;
      return `result ${i}`;
    });
    expect(results).toEqual(['result 0', 'result 1', 'result 2']);
    expect(most).toBe(2);
    expect(besides).toEqual([true, true, true]);
  });

  it('runs alone, and says so, with one job or one item', async () => {
    const besides: boolean[] = [];
    await fanOut([{ title: 'a' }, { title: 'b' }], 1, silent, async (_i, run) => void besides.push(run.beside));
    await fanOut([{ title: 'a' }], 4, silent, async (_i, run) => void besides.push(run.beside));
    expect(besides).toEqual([false, false, false]);
  });

  it('stops the others when one fails, and reports that failure, not their interruption', async () => {
    const stopped: number[] = [];
    const run = fanOut([{ title: 'slow' }, { title: 'broken' }, { title: 'queued' }], 2, silent, async (i, r) => {
      if (i === 1) {
        await work(10, r.signal);
        throw new BuildError('mkosi build of broken exited with 1');
      }
      try {
        await work(10_000, r.signal);
      } catch (error) {
        stopped.push(i);
        throw error;
      }
    });
    await expect(run).rejects.toThrow('mkosi build of broken exited with 1');
    // The queued one never started: it was refused its turn.
    expect(stopped).toEqual([0]);
  });

  it('is interrupted as a whole when the caller aborts (Ctrl-C)', async () => {
    const ctrlC = new AbortController();
    setTimeout(() => ctrlC.abort(), 20);
    const run = fanOut([{ title: 'a' }, { title: 'b', waitKey: 'k' }, { title: 'c', waitKey: 'k' }], 2, silent, (_i, r) => work(10_000, r.signal), ctrlC.signal);
    await expect(run).rejects.toBeInstanceOf(InterruptedError);
  });

  it('starts an item that shares a key only after the first with that key succeeded', async () => {
    const order: string[] = [];
    await fanOut([{ title: 'vm', waitKey: 'k' }, { title: 'other' }, { title: 'vm2', waitKey: 'k' }], 3, silent, async (i, r) => {
      order.push(`start ${i}`);
      await work([20, 40, 1][i]!, r.signal);
      order.push(`end ${i}`);
    });
    expect(order.indexOf('start 2')).toBeGreaterThan(order.indexOf('end 0'));
    expect(order.slice(0, 2)).toEqual(['start 0', 'start 1']);
  });
});
