/**
 * The matrix fanned out: one task per target, side by side up to `jobs` at once (schedule.ts says
 * which may overlap). The first failure stops the others (their signal aborts: SIGTERM to their
 * mkosi) and is the one reported; Ctrl-C stops them all. Results come back in plan order,
 * whatever order the tasks finished in.
 */
import { InterruptedError } from '../system/errors.js';
import type { PhaseIo, Reporter } from './reporter.js';
import { scheduler } from './schedule.js';
import { settledResults } from '../system/side-by-side.js';

export interface FanOutItem {
  title: string;
  /** Items with the same key wait for the first of them (it fills the cache they share); none waits without one. */
  waitKey?: string;
}

/** One item's work, given its turn: `beside` says whether others may run at the same time. */
export type Work<T> = (index: number, run: { signal: AbortSignal; beside: boolean; io: PhaseIo }) => Promise<T>;

export async function fanOut<T>(items: readonly FanOutItem[], jobs: number, reporter: Reporter, work: Work<T>, signal?: AbortSignal): Promise<T[]> {
  const at = Math.max(1, Math.min(jobs, items.length));
  const turns = scheduler(
    items.map((i) => i.waitKey),
    at,
  );
  const stop = new AbortController();
  const inner = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const settled = await reporter.concurrently(
    items.map((item, i) => ({
      title: item.title,
      run: async (io: PhaseIo) => {
        const leader = turns.waitsFor(i);
        if (at > 1) io.say(leader === undefined ? 'waiting for a free slot' : `waiting for ${items[leader]!.title}, whose package set it copies`);
        // An interrupted item shows as skipped, saying why; the run reports the failure that caused it.
        let started = false;
        const skipped = (error: unknown) => {
          if (error instanceof InterruptedError) io.skip(`${item.title}: ${started ? 'stopped' : 'not started'}, ${signal?.aborted ? 'interrupted' : 'another image failed'}`);
          return error;
        };
        const slot = await turns.turn(i, inner).catch((error: unknown) => {
          throw skipped(error);
        });
        started = true;
        try {
          io.say('running');
          return await work(i, { signal: inner, beside: at > 1, io });
        } catch (error) {
          stop.abort();
          throw skipped(error);
        } finally {
          slot.release();
        }
      },
    })),
  );
  // The run failed where a task failed by itself; the others were stopped because of it.
  return settledResults(settled);
}
