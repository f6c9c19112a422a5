/**
 * One way every command words a bad option: `--name: what is wrong`, the option spelled as the
 * user typed it, so the line says which option to fix whichever schema found the problem.
 */
import type { z } from 'zod';

const flag = (key: PropertyKey) => `--${String(key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Each issue as one phrase; an issue whose message already names its option is kept as it is. */
export function optionProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const key = issue.path[0];
    if (key === undefined) return issue.message;
    const name = flag(key);
    return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`;
  });
}
