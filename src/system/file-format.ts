/** What a file is, by its first bytes rather than its name: qcow2, a raw GPT disk, gzip or tar. */
import { open } from 'node:fs/promises';
import { UsageError } from './errors.js';
import { isMissingOrDenied } from './expected.js';

export type FileFormat = 'qcow2' | 'raw' | 'gzip' | 'tar';

export async function sniffFormat(path: string): Promise<FileFormat | undefined> {
  const fh = await open(path, 'r').catch((error: unknown) => {
    if (!isMissingOrDenied(error)) throw error;
    throw new UsageError(`cannot read ${path}`, 'check the path');
  });
  try {
    const head = Buffer.alloc(520);
    const { bytesRead } = await fh.read(head, 0, 520, 0);
    if (bytesRead >= 4 && head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2';
    if (bytesRead >= 520 && head.subarray(512, 520).toString('latin1') === 'EFI PART') return 'raw';
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
    if (bytesRead >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
    return undefined;
  } finally {
    await fh.close();
  }
}
