/**
 * Which image builds may run side by side. Targets that share an install cache key wait for the
 * first of them (it installs the package set and caches it; the others copy it), every other pair
 * may overlap, and at most `jobs` run at once. A free slot goes to the earliest ready target in plan
 * order, so a sequential build (`jobs` 1) keeps the plan's order exactly.
 */
import { InterruptedError } from '../system/errors.js';

export interface Slot {
  /** Marks the target finished, however it ended: its slot is free and the targets waiting on it may start. */
  release(): void;
}

export interface Scheduler {
  /** Resolves when target `index` may start; rejects once `signal` aborts. */
  turn(index: number, signal?: AbortSignal): Promise<Slot>;
  /** The target this one waits for, if any (its index), for the progress line. */
  waitsFor(index: number): number | undefined;
}

/** The target each target waits for: the first earlier one with the same key (none when the key is undefined). */
export function leaders(keys: readonly (string | undefined)[]): (number | undefined)[] {
  return keys.map((key, i) => {
    if (key === undefined) return undefined;
    const first = keys.indexOf(key);
    return first === i ? undefined : first;
  });
}

export function scheduler(keys: readonly (string | undefined)[], jobs: number): Scheduler {
  if (!Number.isInteger(jobs) || jobs < 1) throw new RangeError(`jobs must be a positive integer, not ${jobs}`);
  const leaderOf = leaders(keys);
  const state: ('idle' | 'waiting' | 'running' | 'done')[] = keys.map(() => 'idle');
  const grant: (((slot: Slot) => void) | undefined)[] = keys.map(() => undefined);
  let running = 0;

  // A leader that failed fails the build, which aborts every waiting target; should the caller go
  // on regardless, the target installs its packages itself rather than wait forever.
  const ready = (i: number) => {
    const leader = leaderOf[i];
    return leader === undefined || state[leader] === 'done';
  };
  const dispatch = () => {
    for (let i = 0; i < keys.length && running < jobs; i++) {
      if (state[i] !== 'waiting' || !ready(i)) continue;
      state[i] = 'running';
      running++;
      const start = grant[i]!;
      grant[i] = undefined;
      start(slotFor(i));
    }
  };
  const slotFor = (i: number): Slot => {
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        state[i] = 'done';
        running--;
        dispatch();
      },
    };
  };

  return {
    waitsFor: (i) => leaderOf[i],
    turn(index, signal) {
      if (state[index] !== 'idle') throw new Error(`target ${index} asked for its turn twice`);
      return new Promise<Slot>((resolve, reject) => {
        if (signal?.aborted) return reject(new InterruptedError('interrupted before this image started'));
        const onAbort = () => {
          if (state[index] !== 'waiting') return;
          state[index] = 'done';
          grant[index] = undefined;
          reject(new InterruptedError('interrupted before this image started'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        state[index] = 'waiting';
        grant[index] = (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        };
        dispatch();
      });
    },
  };
}
