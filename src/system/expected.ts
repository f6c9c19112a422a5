/**
 * The failures boxes expects and turns into a value, each by name; anything else is rethrown. A
 * `.catch` in boxes takes one of these, so a failure it did not foresee is never silence.
 */
import { ChildFailed } from './errors.js';

/** A system call's error code (ENOENT, EXDEV, ...), if the error carries one. */
export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** The path is not there (ENOENT), or a component of it is a file (ENOTDIR). */
export function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `.catch(ifMissing(x))`: x when the path is not there. */
export const ifMissing =
  <T>(value: T) =>
  (error: unknown): T => {
    if (isMissing(error)) return value;
    throw error;
  };

/** The path is not there, or may not be used (EACCES, EPERM, EROFS). */
export function isMissingOrDenied(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return isMissing(error) || code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

/** `.catch(ifMissingOrDenied(x))`: x when the path is missing or may not be used. */
export const ifMissingOrDenied =
  <T>(value: T) =>
  (error: unknown): T => {
    if (isMissingOrDenied(error)) return value;
    throw error;
  };

/** `.catch(ifChildFailed(x))`: x when the program ran and exited non-zero (or was killed); a missing program or an interruption still throws. */
export const ifChildFailed =
  <T>(value: T) =>
  (error: unknown): T => {
    if (error instanceof ChildFailed) return value;
    throw error;
  };

/** JSON text, or `bad(reason)` thrown when it is not JSON. */
export function parseJson(text: string, bad: (reason: string) => Error): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    if (error instanceof SyntaxError) throw bad(error.message);
    throw error;
  }
}

/** fetch could not reach the server or read its answer (TypeError "fetch failed"), or its own timeout ran out. */
export function isNetworkFailure(error: unknown): boolean {
  return error instanceof TypeError || (error instanceof DOMException && error.name === 'TimeoutError');
}

/** `.catch(ifNetworkFailure(x))`: x when the network failed. */
export const ifNetworkFailure =
  <T>(value: T) =>
  (error: unknown): T => {
    if (isNetworkFailure(error)) return value;
    throw error;
  };
