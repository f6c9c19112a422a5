/**
 * The one way boxes starts child processes: logs the exact command line, tees output to a log
 * file, stops the child with SIGTERM on abort (SIGKILL only after a grace period), and turns
 * failures into typed errors that carry a re-runnable command and the log's last lines.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { execa } from 'execa';
import { ChildFailed, InterruptedError, PrerequisiteError } from './errors.js';
import { redactSecrets } from './redact.js';
import type { Toolbox } from './toolbox.js';

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Append the child's stdout and stderr to this file. */
  logFile?: string;
  /** Also echo the child's output to our stderr. */
  echo?: boolean;
  /** Echo line by line, each line behind this prefix (children whose output interleaves). */
  echoPrefix?: string;
  signal?: AbortSignal;
  /** How long a child may take to exit after SIGTERM before it gets SIGKILL. */
  graceMs?: number;
  /** Say what failed in the user's words, e.g. "mkosi build of container". */
  what?: string;
  /** Called with each line of output, e.g. to show progress. */
  onLine?: (line: string) => void;
  /** The child reads this file as its stdin (default: none). */
  stdinFile?: string;
  /** The child writes straight to our stdout and stderr, as it goes (a CI job's output). */
  passthrough?: boolean;
  /** Takes the child's stdout as bytes as they come (a stream too large to keep); `stdout` is then empty. */
  onStdout?: (chunk: Buffer) => void;
  /**
   * The child's umask, whatever boxes' own is: a process-wide umask would hide the caller's from
   * everything boxes writes itself (and `boxes verify` varies the caller's).
   */
  umask?: number;
  /** Run the program from this toolbox (the tools tree's sandbox); default: the host's PATH. */
  tools?: Toolbox;
}

/** argv under a shell that sets the umask and execs it: Node cannot give a child a umask of its own. */
export function withUmask(argv: readonly string[], umask: number): string[] {
  return ['sh', '-c', `umask ${octal(umask)} && exec "$@"`, 'sh', ...argv];
}

export interface RunResult {
  stdout: string;
  tail: string[];
}

const TAIL = 25;

const octal = (mode: number) => mode.toString(8).padStart(4, '0');

export function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The command as a shell line to re-run it: the umask it gets, its environment, its argv. */
export function commandLine(argv: readonly string[], env: Record<string, string | undefined> = {}, umask?: number): string {
  const vars = Object.entries(env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${quote(v!)}`);
  // Shown and logged, never the secrets inside URLs (see redact.ts); the child gets the real argv.
  return (umask === undefined ? '' : `umask ${octal(umask)} && `) + redactSecrets([...vars, ...argv.map(quote)].join(' '));
}

/** Known failure patterns in child output -> a sentence the user can act on. */
export function classifyFailure(lines: readonly string[]): string | undefined {
  const text = lines.join('\n');
  if (/Could not resolve|Temporary failure resolving|Failed to fetch|Could not connect|failed retrieving file|Connection refused|Couldn't resolve host/i.test(text))
    return 'a package mirror could not be reached; check --mirror and the network';
  if (/Unable to locate package|target not found|has no installation candidate|Package '.*' has no/i.test(text))
    return 'a requested package does not exist in the configured repositories';
  if (/No space left on device/i.test(text)) return 'the disk is full';
  return undefined;
}

export async function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const program = argv[0];
  if (!program) throw new Error('run: empty command');
  const inner = options.tools ? options.tools.wrap(argv) : argv;
  const [file = program, ...args] = options.umask === undefined ? inner : withUmask(inner, options.umask);
  const shown = commandLine(inner, options.env, options.umask);
  let log: WriteStream | undefined;
  if (options.logFile) {
    log = createWriteStream(options.logFile, { flags: 'a' });
    log.write(`$ ${shown}\n`);
  }
  const tail: string[] = [];
  const takeLine = (line: string) => {
    if (line === '') return;
    tail.push(redactSecrets(line));
    if (tail.length > TAIL) tail.shift();
    if (options.echo && options.echoPrefix !== undefined) process.stderr.write(`${options.echoPrefix}${redactSecrets(line)}\n`);
    options.onLine?.(line);
  };
  // A chunk may end inside a line: its rest waits for the next chunk of the same stream.
  const lineReader = () => {
    let partial = '';
    return {
      take: (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        lines.forEach(takeLine);
      },
      flush: () => {
        takeLine(partial);
        partial = '';
      },
    };
  };
  const readers = [lineReader(), lineReader()];
  const child = execa(file, args, {
    env: options.env,
    extendEnv: true,
    cwd: options.cwd,
    stdin: options.stdinFile ? { file: options.stdinFile } : 'ignore',
    ...(options.passthrough ? { stdout: 'inherit' as const, stderr: 'inherit' as const } : {}),
    buffer: { stdout: !options.passthrough && !options.onStdout, stderr: false },
    all: false,
    reject: false,
    cancelSignal: options.signal,
    killSignal: 'SIGTERM',
    forceKillAfterDelay: options.graceMs ?? (Number(process.env.BOXES_KILL_GRACE_MS) || 120_000),
    encoding: 'utf8',
    stripFinalNewline: false,
  });
  if (options.onStdout) child.stdout?.on('data', options.onStdout);
  for (const [i, stream] of [options.onStdout ? undefined : child.stdout, child.stderr].entries()) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      log?.write(redactSecrets(chunk));
      if (options.echo && options.echoPrefix === undefined) process.stderr.write(redactSecrets(chunk));
      readers[i]!.take(chunk);
    });
  }
  const result = await child;
  for (const reader of readers) reader.flush();
  await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
  const what = options.what ?? program;
  if (result.isCanceled || options.signal?.aborted) {
    throw new InterruptedError(`interrupted; ${what} was stopped`);
  }
  // execa reports a missing executable as a spawn failure without an exit code.
  // Under the umask shell, `exec` of a missing program is exit 127 with sh's own message.
  const missing =
    (result.failed && result.exitCode === undefined && !result.signal && /ENOENT/.test(String(result.message))) ||
    (options.umask !== undefined && result.exitCode === 127 && tail.some((l) => l.startsWith('sh: ') && /not found/.test(l)));
  if (missing) {
    throw new PrerequisiteError(`${program} is not installed`, 'run `boxes setup --check`');
  }
  // mkosi's sandbox exits 127, silently, when the program is not in the tree.
  const tree = options.tools?.source;
  if (tree !== undefined && tree !== 'host' && result.exitCode === 127 && tail.length === 0) {
    throw new PrerequisiteError(`${program} is not in the tools tree ${tree}`, 'add its package to ToolsTreePackages= in mkosi.conf, then run `boxes setup`');
  }
  if (result.failed) {
    const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
    const cause = classifyFailure(tail);
    const where = options.logFile ? `; full log: ${options.logFile}` : '';
    throw new ChildFailed(`${what} ${how}${cause ? `: ${cause}` : ''}`, `re-run: ${shown}${where}`, tail, result.exitCode);
  }
  return { stdout: String(result.stdout ?? ''), tail };
}

export interface Started {
  /** Settles when the child exits: resolves on exit 0, rejects like `run` otherwise. */
  exited: Promise<RunResult>;
  /** Whether the child is still running. */
  running: () => boolean;
  /** SIGTERM (SIGKILL after the grace period), then waits; never throws. */
  stop: () => Promise<void>;
}

/** Starts a long-running child (a VM) under the same rules as `run`, and returns at once. */
export function start(argv: readonly string[], options: RunOptions = {}): Started {
  const own = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, own.signal]) : own.signal;
  let alive = true;
  const exited = run(argv, { ...options, signal });
  // Only the end matters here: how it ended reaches whoever awaits `exited`.
  const settled = exited.then(
    () => undefined,
    (_reportedByExited: unknown) => undefined,
  );
  void settled.then(() => (alive = false));
  return {
    exited,
    running: () => alive,
    stop: async () => {
      own.abort();
      await settled;
    },
  };
}
