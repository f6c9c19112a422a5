/** The serial console's log, as people read it when a boot fails. */
import { readFile } from 'node:fs/promises';
import { ifMissing } from '../system/expected.js';

export async function serialTail(path: string, lines = 30): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(ifMissing(''));
  // Terminal control sequences from firmware and GRUB make the tail unreadable.
  return text
    .replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '')
    .replace(/[^\x20-\x7e\n\t]/g, '')
    .split('\n')
    .filter((l) => l.trim())
    .slice(-lines);
}
