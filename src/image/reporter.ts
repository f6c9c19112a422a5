/**
 * How a build reports its phases: each phase has a title, may say a line while it runs and retitle
 * itself with its outcome, and returns its result. listr2 renders it (spinners on a terminal, one
 * line per event in logs, nothing under --json; see renderer.ts); the build never shares state
 * through it.
 */
import { Listr, PRESET_TIMER } from 'listr2';
import type { RendererChoice } from './renderer.js';

export interface PhaseIo {
  /** A line about what the phase is doing now. */
  say(line: string): void;
  /** The phase's title, once its outcome is known. */
  retitle(title: string): void;
  /** Shown as skipped, not failed, when it then throws (stopped because another task failed). */
  skip(reason: string): void;
}

export interface Task<T> {
  title: string;
  run: (io: PhaseIo) => Promise<T>;
}

export interface Reporter {
  phase<T>(title: string, run: (io: PhaseIo) => Promise<T>): Promise<T>;
  /** Every task started at once and shown side by side; each one's outcome, failed ones included. */
  concurrently<T>(tasks: readonly Task<T>[]): Promise<PromiseSettledResult<T>[]>;
}

interface ListrTask {
  output: string | undefined;
  title: string;
  skip(message: string): void;
}

function io(task: ListrTask, onSkip: () => void = () => undefined): PhaseIo {
  return {
    say: (line) => (task.output = line),
    retitle: (text) => (task.title = text),
    skip: (reason) => {
      onSkip();
      task.skip(reason);
    },
  };
}

export function listrReporter(renderer: RendererChoice): Reporter {
  const listrOptions = (exitOnError: boolean, concurrent: boolean) => ({
    renderer,
    fallbackRenderer: 'verbose' as const,
    rendererOptions: { timer: PRESET_TIMER },
    fallbackRendererOptions: { timer: PRESET_TIMER },
    concurrent,
    exitOnError,
    registerSignalListeners: false,
    collectErrors: false as const,
  });
  return {
    async phase<T>(title: string, run: (io: PhaseIo) => Promise<T>): Promise<T> {
      let result: { value: T } | undefined;
      await new Listr<unknown, RendererChoice, 'verbose'>(
        [
          {
            title,
            task: async (_ctx, task) => {
              result = { value: await run(io(task)) };
            },
          },
        ],
        listrOptions(true, false),
      ).run();
      // exitOnError: a phase that failed has thrown by now.
      return result!.value;
    },
    async concurrently<T>(tasks: readonly Task<T>[]): Promise<PromiseSettledResult<T>[]> {
      const settled: PromiseSettledResult<T>[] = [];
      // Each task records its own outcome; listr2 only shows them (it goes on past a failure).
      await new Listr<unknown, RendererChoice, 'verbose'>(
        tasks.map((t, i) => ({
          title: t.title,
          task: async (_ctx, task) => {
            let skipped = false;
            try {
              settled[i] = { status: 'fulfilled', value: await t.run(io(task, () => (skipped = true))) };
            } catch (error) {
              settled[i] = { status: 'rejected', reason: error };
              if (!skipped) throw error;
            }
          },
        })),
        listrOptions(false, true),
      ).run();
      return settled;
    },
  };
}
