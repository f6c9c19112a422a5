/**
 * Splits the stdout of one debugfs run of `cat <inode>` commands back into files. debugfs echoes
 * each command (`debugfs: cat <12>`) before the file's bytes, and each file is exactly as long as
 * its listing said, so the stream is framed without trusting anything inside a file. A header
 * that is not the one expected (debugfs failed on a file and printed nothing) or a stream that
 * ends early means the files cannot be read whole: a UsageError, never a partial scan.
 */
import { UsageError } from '../system/errors.js';

export interface CatFile {
  inode: number;
  size: number;
  path: string;
}

export const catCommand = (inode: number) => `cat <${inode}>`;

export class CatFrames {
  private index = 0;
  /** Bytes of the current file's header still to match, or undefined while in its content. */
  private header: Buffer | undefined;
  private remaining = 0;

  constructor(
    private readonly files: readonly CatFile[],
    private readonly onData: (file: number, chunk: Buffer) => void,
    private readonly onEnd: (file: number) => void,
    private readonly where: string,
  ) {
    this.next();
  }

  private next(): void {
    const file = this.files[this.index];
    this.header = file ? Buffer.from(`debugfs: ${catCommand(file.inode)}\n`) : undefined;
  }

  private broken(): UsageError {
    const file = this.files[this.index];
    return new UsageError(`${this.where}: debugfs could not read ${file ? `/${file.path}` : 'the files'} whole`, 'the filesystem is damaged; rebuild the image');
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.index >= this.files.length) throw this.broken();
      if (this.header) {
        const take = Math.min(this.header.length, chunk.length - at);
        if (!chunk.subarray(at, at + take).equals(this.header.subarray(0, take))) throw this.broken();
        at += take;
        this.header = take === this.header.length ? undefined : this.header.subarray(take);
        if (this.header === undefined) this.remaining = this.files[this.index]!.size;
      } else {
        const take = Math.min(this.remaining, chunk.length - at);
        if (take > 0) this.onData(this.index, chunk.subarray(at, at + take));
        at += take;
        this.remaining -= take;
      }
      this.settle();
    }
    this.settle();
  }

  /** Ends every file whose header is read and whose bytes are all there (an empty file ends at once). */
  private settle(): void {
    while (this.index < this.files.length && this.header === undefined && this.remaining === 0) {
      this.onEnd(this.index);
      this.index++;
      this.next();
    }
  }

  /** After the stream ended: every file must have been read whole. */
  finish(): void {
    if (this.index < this.files.length) throw this.broken();
  }
}
