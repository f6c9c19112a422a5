/** SIGINT/SIGTERM abort one controller; every child and cleanup step listens to its signal. */
import { InterruptedError } from './errors.js';

export function interruptController(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\nboxes: ${name} received, stopping (children get SIGTERM, temporary files are removed)\n`);
    // Whoever stops on the signal throws its reason: an interruption, exit 130.
    controller.abort(new InterruptedError(`interrupted by ${name}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
