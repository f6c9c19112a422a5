// The runner with real child processes: whole lines per stream, the umask a child is given, a
// missing program told apart from a failed one.
import { describe, expect, it } from 'vitest';
import { commandLine, run } from '../../src/system/runner.js';
import { ChildFailed, PrerequisiteError } from '../../src/system/errors.js';
import { treeToolbox } from '../../src/system/toolbox.js';

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

describe('runner with a toolbox', () => {
  // A stand-in for mkosi's sandbox: it runs what follows its `--` with sh, as sandbox.py execs it.
  const standIn = treeToolbox('/var/empty/tools', ['sh', '-c', 'shift; [ -x "/var/empty/tools/usr/bin/$1" ] || exit 127; exec "$@"', 'sandbox']);

  it('runs the program behind the sandbox prefix, and logs the whole command line', async () => {
    const tools = treeToolbox('/', ['sh', '-c', 'shift; exec "$@"', 'sandbox']);
    const r = await run(['echo', 'from the tree'], { tools });
    expect(r.stdout).toBe('from the tree\n');
    expect(commandLine(tools.wrap(['echo', 'x']))).toBe('sh -c \'shift; exec "$@"\' sandbox -- echo x');
  });

  it('names a program the tree lacks as a missing prerequisite with the fix, not a failed run', async () => {
    const error = await run(['qemu-img', '--version'], { tools: standIn }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PrerequisiteError);
    expect((error as PrerequisiteError).message).toBe('qemu-img is not in the tools tree /var/empty/tools');
    expect((error as PrerequisiteError).hint).toMatch(/ToolsTreePackages= in mkosi\.conf/);
    // A program of the tree that fails, even with 127 and output, is a failed run.
    const tree = treeToolbox('/', ['sh', '-c', 'shift; exec "$@"', 'sandbox']);
    await expect(run(['sh', '-c', 'echo broken >&2; exit 127'], { tools: tree })).rejects.toBeInstanceOf(ChildFailed);
  });
});
