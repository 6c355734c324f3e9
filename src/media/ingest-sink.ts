import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { MediaError, MediaErrorCode } from './errors.ts';
import { sniff, SNIFF_BYTES } from './sniff.ts';
import type { TypePolicy } from './type-policy.ts';

export interface IngestSinkOptions {
  /** The open temp file the bytes go to; the sink writes and fsyncs it, the caller closes it. */
  readonly file: FileHandle;
  readonly maxBytes: number;
  readonly declaredMime: string | undefined;
  readonly declaredSize: number | undefined;
  readonly typePolicy: TypePolicy;
}

/** Gathered chunks are written with one writev of at most this many bytes' worth of chunks. */
const HIGH_WATER_MARK = 1024 * 1024;

/**
 * Where every put's bytes end up: one stream stage that checks and writes. It counts the bytes
 * against the limit (failing the moment it is crossed, not at the end), hashes them, holds back
 * only the first SNIFF_BYTES until the type is decided (so a refused type never reaches the
 * disk), writes what it has gathered with writev, and fsyncs before it finishes, so what the
 * store links into place is on disk. Memory is bounded by the head plus the stream buffer.
 */
export class IngestSink extends Writable {
  private readonly hash: Hash = createHash('sha256');
  private received = 0;
  private head: Buffer[] | undefined = [];
  private headBytes = 0;
  private decidedMime: string | undefined;

  constructor(private readonly options: IngestSinkOptions) {
    super({ highWaterMark: HIGH_WATER_MARK });
  }

  get size(): number {
    return this.received;
  }

  /** The stored type; defined once the sink has finished. */
  get mime(): string {
    if (this.decidedMime === undefined) throw new Error('IngestSink: type read before the sink finished');
    return this.decidedMime;
  }

  /** Hex SHA-256 of everything written; call once, after the sink has finished. */
  digest(): string {
    return this.hash.digest('hex');
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _writev(chunks: readonly { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const out: Buffer[] = [];
    for (const { chunk } of chunks) {
      this.received += chunk.length;
      if (this.received > this.options.maxBytes) {
        callback(tooLarge(this.options.maxBytes));
        return;
      }
      this.hash.update(chunk);
      if (this.head === undefined) {
        out.push(chunk);
        continue;
      }
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes >= SNIFF_BYTES) {
        const err = this.decideType();
        if (err) {
          callback(err);
          return;
        }
        out.push(...this.releaseHead());
      }
    }
    this.writeAll(out).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const finish = async (): Promise<void> => {
      if (this.head !== undefined) {
        const err = this.decideType();
        if (err) throw err;
        await this.writeAll(this.releaseHead());
      }
      const { declaredSize } = this.options;
      if (declaredSize !== undefined && declaredSize !== this.received) {
        throw new MediaError(MediaErrorCode.SizeMismatch, `received ${this.received} bytes, ${declaredSize} were declared`);
      }
      await this.options.file.sync();
    };
    finish().then(() => callback(), callback);
  }

  private decideType(): Error | undefined {
    const head = Buffer.concat(this.head ?? []);
    try {
      this.decidedMime = this.options.typePolicy.decide(this.options.declaredMime, sniff(head.subarray(0, SNIFF_BYTES)));
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  private releaseHead(): Buffer[] {
    const head = this.head ?? [];
    this.head = undefined;
    return head;
  }

  /** writev until every byte is written (a regular file rarely writes short, but may). */
  private async writeAll(buffers: Buffer[]): Promise<void> {
    let pending = buffers.filter((b) => b.length > 0);
    while (pending.length > 0) {
      const { bytesWritten } = await this.options.file.writev(pending);
      let skip = bytesWritten;
      const rest: Buffer[] = [];
      for (const b of pending) {
        if (skip >= b.length) skip -= b.length;
        else {
          rest.push(skip > 0 ? b.subarray(skip) : b);
          skip = 0;
        }
      }
      pending = rest;
    }
  }
}

export function tooLarge(maxBytes: number): MediaError {
  return new MediaError(MediaErrorCode.TooLarge, `larger than the limit of ${maxBytes} bytes`);
}
