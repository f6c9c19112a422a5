import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../../src/system/errors.js';
import { sideBySide } from '../../src/system/side-by-side.js';

/** A task that runs until its signal aborts, then fails as an interrupted child does. */
const untilAborted = (log: string[]) => (signal: AbortSignal) =>
  new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => {
      // Stopping takes a moment: sideBySide must wait for it.
      setTimeout(() => {
        log.push('stopped');
        reject(new InterruptedError('interrupted; the build was stopped'));
      }, 20);
    }),
  );

describe('sideBySide', () => {
  it('runs both at once and gives both results in order', async () => {
    let running = 0;
    let most = 0;
    const task = (value: string) => async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return value;
    };
    expect(await sideBySide([task('a'), task('b')])).toEqual(['a', 'b']);
    expect(most).toBe(2);
  });

  it('stops the other when one fails, waits for it, and reports the failure, not the interruption it caused', async () => {
    const log: string[] = [];
    const failing = async () => {
      await new Promise((r) => setTimeout(r, 10));
      throw new Error('mkosi exited with 1');
    };
    await expect(sideBySide([untilAborted(log), failing])).rejects.toThrow('mkosi exited with 1');
    expect(log).toEqual(['stopped']);
  });

  it("passes the caller's abort to both", async () => {
    const log: string[] = [];
    const caller = new AbortController();
    const both = sideBySide([untilAborted(log), untilAborted(log)], caller.signal);
    caller.abort();
    await expect(both).rejects.toBeInstanceOf(InterruptedError);
    expect(log).toEqual(['stopped', 'stopped']);
  });
});
