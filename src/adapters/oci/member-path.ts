/**
 * One canonical path per archive member: `./etc/./ssh//key`, `etc/ssh/key/` and `usr/../etc/ssh/key`
 * all name `etc/ssh/key`. A name that climbs out of the root is refused: no tool that unpacks the
 * archive should be trusted to handle it, and no rule could say where it lands.
 */
import { UsageError } from '../../system/errors.js';

/** Relative to the root, no leading or trailing slash; '' is the root itself. */
export function canonicalPath(name: string, where: string): string {
  if (name.includes('\0')) throw new UsageError(`${where}: a member name holds a NUL byte`, 'the archive is malformed; rebuild it');
  const parts: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length === 0) throw new UsageError(`${where}: member ${JSON.stringify(name)} leaves the root`, 'an artifact must not name files outside its root; rebuild it');
      parts.pop();
    } else parts.push(segment);
  }
  return parts.join('/');
}
