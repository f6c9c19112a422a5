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
}

export interface Reporter {
  phase<T>(title: string, run: (io: PhaseIo) => Promise<T>): Promise<T>;
}

export function listrReporter(renderer: RendererChoice): Reporter {
  return {
    async phase<T>(title: string, run: (io: PhaseIo) => Promise<T>): Promise<T> {
      let result: { value: T } | undefined;
      await new Listr<unknown, RendererChoice, 'verbose'>(
        [
          {
            title,
            task: async (_ctx, task) => {
              result = { value: await run({ say: (line) => (task.output = line), retitle: (text) => (task.title = text) }) };
            },
          },
        ],
        {
          renderer,
          fallbackRenderer: 'verbose',
          rendererOptions: { timer: PRESET_TIMER },
          fallbackRendererOptions: { timer: PRESET_TIMER },
          exitOnError: true,
          registerSignalListeners: false,
          collectErrors: false,
        },
      ).run();
      // exitOnError: a phase that failed has thrown by now.
      return result!.value;
    },
  };
}
