/** The few error kinds boxes raises; `exitCodeFor` is the one place that maps them to exit codes. */

export class BoxesError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags, unknown names, unwritable paths: the user can fix the command line. Exit 2. */
export class UsageError extends BoxesError {}

/** A child process or a build step failed. Exit 1. */
export class BuildError extends BoxesError {
  constructor(
    message: string,
    hint?: string,
    readonly logTail: string[] = [],
  ) {
    super(message, hint);
  }
}

/** A child process exited non-zero or was killed: its exit code, for callers that map it. */
export class ChildFailed extends BuildError {
  constructor(
    message: string,
    hint: string | undefined,
    logTail: string[],
    readonly exitCode: number | undefined,
  ) {
    super(message, hint, logTail);
  }
}

/** A failure with lines that explain it, printed under its message. Exit 1. */
export class DetailedError extends BoxesError {
  constructor(
    message: string,
    hint: string | undefined,
    readonly details: readonly string[],
  ) {
    super(message, hint);
  }
}

/** SIGINT or SIGTERM arrived; children were stopped and temporary files removed. Exit 130. */
export class InterruptedError extends BoxesError {}

/** A CI job's own script failed under `boxes executor run`: GitLab's BUILD_FAILURE_EXIT_CODE. */
export class JobFailed extends BoxesError {
  constructor(
    message: string,
    readonly scriptExitCode: number,
  ) {
    super(message);
  }
}

/** `boxes executor` could not do its own part (libvirt, the VM, SSH): GitLab's SYSTEM_FAILURE_EXIT_CODE. */
export class ExecutorFailed extends BuildError {}

/** `boxes publish` will not publish these bytes: unproven, or not what the build wrote. Exit 3. */
export class PublishRefused extends BoxesError {}

/** GitLab Runner names the codes for its custom executor in the environment. */
function runnerCode(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 && n < 256 ? n : 1;
}

export function exitCodeFor(error: unknown, env: NodeJS.ProcessEnv = process.env): number {
  if (error instanceof JobFailed) return runnerCode(env.BUILD_FAILURE_EXIT_CODE);
  if (error instanceof ExecutorFailed) return runnerCode(env.SYSTEM_FAILURE_EXIT_CODE);
  if (error instanceof UsageError) return 2;
  if (error instanceof PublishRefused) return 3;
  if (error instanceof InterruptedError) return 130;
  return 1;
}

/** Control bytes from arguments or files shown as escapes: a message never drives the terminal. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One line for the user: what is wrong, then what to do. */
export function formatError(error: unknown): string {
  if (error instanceof BoxesError) {
    const lines = [printable(`boxes: ${error.message}${error.hint ? ` (${error.hint})` : ''}`)];
    if (error instanceof DetailedError) lines.push(...error.details.map((d) => printable(`  ${d}`)));
    if (error instanceof BuildError && error.logTail.length > 0) {
      lines.push('--- last lines of the log ---', ...error.logTail);
    }
    return lines.join('\n');
  }
  return `boxes: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

/** A host tool or setting boxes needs is missing. Exit 2: the fix is on the user's side. */
export class PrerequisiteError extends UsageError {}
