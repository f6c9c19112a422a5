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

/** SIGINT or SIGTERM arrived; children were stopped and temporary files removed. Exit 130. */
export class InterruptedError extends BoxesError {}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return 2;
  if (error instanceof InterruptedError) return 130;
  return 1;
}

/** One line for the user: what is wrong, then what to do. */
export function formatError(error: unknown): string {
  if (error instanceof BoxesError) {
    const lines = [`boxes: ${error.message}${error.hint ? ` (${error.hint})` : ''}`];
    if (error instanceof BuildError && error.logTail.length > 0) {
      lines.push('--- last lines of the log ---', ...error.logTail);
    }
    return lines.join('\n');
  }
  return `boxes: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
}

/** A host tool or setting boxes needs is missing. Exit 2: the fix is on the user's side. */
export class PrerequisiteError extends UsageError {}
