import { PhaseClock } from '../../src/image/phases.js';

/** A phase clock fed each mkosi log line at its time (ms); afterwards it reads `end` (mkosi exited). */
export function fedClock(lines: readonly (readonly [number, string])[], end: number): PhaseClock {
  let now = 0;
  const clock = new PhaseClock(() => now);
  for (const [at, line] of lines) {
    now = at;
    clock.line(line);
  }
  now = end;
  return clock;
}
