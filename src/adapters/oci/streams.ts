/**
 * The stages a layer streams through: a digest counter, zstd decompression (Node 20's zlib has
 * none), and a sink that feeds node-tar's parser and fails with it.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import type * as tar from 'tar';

/** Counts and hashes what flows through. */
export class Digest extends Transform {
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

class Zstd extends Transform {
  private readonly decoder = new Decompress((data) => this.push(Buffer.from(data)));
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }
  override _flush(done: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      done();
    } catch (error) {
      done(error as Error);
    }
  }
}

/**
 * Feeds a tar parser as the pipeline's last stage. node-tar's parser stops draining once it has
 * failed, which a pipeline would wait on forever; this stage fails with it instead.
 */
export class TarSink extends Writable {
  constructor(private readonly parser: tar.Parser) {
    super();
    const stop = (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error)));
    parser.on('error', stop);
    parser.on('warn', (_code: string, message: unknown) => stop(message instanceof Error ? message : new Error(String(message))));
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    try {
      this.parser.write(chunk);
      done();
    } catch (error) {
      done(error as Error);
    }
  }
  override _final(done: (error?: Error | null) => void): void {
    this.parser.once('end', () => done());
    this.parser.end();
  }
}

export const decompressor = (compression: 'gzip' | 'zstd' | 'none') =>
  compression === 'gzip' ? createGunzip() : compression === 'zstd' ? new Zstd() : new Transform({ transform: (c, _e, done) => done(null, c) });
