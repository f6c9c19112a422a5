/**
 * The boxes program run in the test's own process through `main()`, as the binary runs it, with
 * its stdout and stderr captured: for commands that start no build, no process per case.
 */
import { vi } from 'vitest';
import { main } from '../../src/cli.js';

export interface Ran {
  status: number;
  stdout: string;
  stderr: string;
}

/** One run at a time: the capture replaces this process's stdout and stderr while it lasts. */
export async function boxesInProcess(args: string[]): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    return { status: await main(args), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
