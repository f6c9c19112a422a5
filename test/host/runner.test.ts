// The runner with real child processes: whole lines per stream, the umask a child is given, a
// missing program told apart from a failed one.
import { describe, expect, it } from 'vitest';
import { commandLine, run } from '../../src/system/runner.js';
import { ChildFailed, PrerequisiteError } from '../../src/system/errors.js';

describe('runner lines', () => {
  it('hands over whole lines, per stream, when a line arrives in pieces', async () => {
    const lines: string[] = [];
    const script = 'printf "‣  Copying ca"; sleep 0.3; printf "ched trees\\nnext"; sleep 0.3; printf "err line\\n" >&2; sleep 0.3; printf " line"';
    await run(['sh', '-c', script], { onLine: (l) => lines.push(l) });
    expect(lines).toEqual(['‣  Copying cached trees', 'err line', 'next line']);
  });

  it("gives a child the umask it is told, whatever boxes' own is, and says so in the command line", async () => {
    const callers = process.umask(0o077);
    try {
      expect((await run(['sh', '-c', 'umask'], { umask: 0o022 })).stdout.trim()).toBe('0022');
      expect((await run(['sh', '-c', 'umask'])).stdout.trim()).toBe('0077');
      expect(process.umask()).toBe(0o077);
    } finally {
      process.umask(callers);
    }
    expect(commandLine(['mkosi', 'build'], { A: '1' }, 0o022)).toBe('umask 0022 && A=1 mkosi build');
    // A program that is not there is still a missing prerequisite, not a failed run.
    await expect(run(['boxes-no-such-program'], { umask: 0o022 })).rejects.toBeInstanceOf(PrerequisiteError);
    await expect(run(['sh', '-c', 'exit 127'], { umask: 0o022 })).rejects.toBeInstanceOf(ChildFailed);
  });
});
