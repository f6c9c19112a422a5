/**
 * Tasks run at once, none left behind: the first failure aborts the others' signal (their children
 * get SIGTERM), every task is waited for before this returns, and the failure reported is the one
 * that happened by itself, not an interruption it caused.
 */
import { InterruptedError } from './errors.js';

export type Task<T> = (signal: AbortSignal) => Promise<T>;

export async function sideBySide<A, B>(tasks: [Task<A>, Task<B>], signal?: AbortSignal): Promise<[A, B]> {
  const stop = new AbortController();
  const inner = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const started = tasks.map((task) =>
    task(inner).catch((error: unknown) => {
      stop.abort();
      throw error;
    }),
  );
  return settledResults(await Promise.allSettled(started)) as [A, B];
}

/**
 * The values of tasks that were stopped together when one failed: every value, or the failure that
 * happened by itself (the others' interruptions were its consequence).
 */
export function settledResults<T>(settled: readonly PromiseSettledResult<T>[]): T[] {
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length > 0) throw failures.find((e) => !(e instanceof InterruptedError)) ?? failures[0];
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
