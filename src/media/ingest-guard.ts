import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { MediaError, MediaErrorCode } from './errors.ts';
import { sniff, SNIFF_BYTES } from './sniff.ts';
import type { TypePolicy } from './type-policy.ts';

export interface IngestGuardOptions {
  readonly maxBytes: number;
  readonly declaredMime: string | undefined;
  readonly declaredSize: number | undefined;
  readonly typePolicy: TypePolicy;
}

/**
 * The checks every put passes its bytes through on their way to storage, in one pass: counts
 * them against the limit (failing the stream the moment it is crossed, not at the end), hashes
 * them, and holds back only the first SNIFF_BYTES until the type is decided, so a refused type
 * never reaches storage either. Memory use is bounded by the head plus the stream buffers.
 */
export class IngestGuard extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private received = 0;
  private head: Buffer[] | undefined = [];
  private headBytes = 0;
  private decidedMime: string | undefined;

  constructor(private readonly options: IngestGuardOptions) {
    super();
  }

  get size(): number {
    return this.received;
  }

  /** The stored type; defined once the stream has finished. */
  get mime(): string {
    if (this.decidedMime === undefined) throw new Error('IngestGuard: type read before the stream finished');
    return this.decidedMime;
  }

  /** Hex SHA-256 of everything that passed; call once, after the stream has finished. */
  digest(): string {
    return this.hash.digest('hex');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.options.maxBytes) {
      callback(tooLarge(this.options.maxBytes));
      return;
    }
    this.hash.update(chunk);
    if (this.head === undefined) {
      callback(null, chunk);
      return;
    }
    this.head.push(chunk);
    this.headBytes += chunk.length;
    if (this.headBytes < SNIFF_BYTES) {
      callback();
      return;
    }
    callback(this.releaseHead());
  }

  override _flush(callback: TransformCallback): void {
    if (this.head !== undefined) {
      const err = this.releaseHead();
      if (err) {
        callback(err);
        return;
      }
    }
    const { declaredSize } = this.options;
    if (declaredSize !== undefined && declaredSize !== this.received) {
      callback(new MediaError(MediaErrorCode.SizeMismatch, `received ${this.received} bytes, ${declaredSize} were declared`));
      return;
    }
    callback();
  }

  /** Decides the type from the held-back head, then lets the head through. */
  private releaseHead(): Error | undefined {
    const head = Buffer.concat(this.head ?? []);
    this.head = undefined;
    try {
      this.decidedMime = this.options.typePolicy.decide(this.options.declaredMime, sniff(head.subarray(0, SNIFF_BYTES)));
    } catch (err) {
      return err as Error;
    }
    if (head.length > 0) this.push(head);
    return undefined;
  }
}

export function tooLarge(maxBytes: number): MediaError {
  return new MediaError(MediaErrorCode.TooLarge, `larger than the limit of ${maxBytes} bytes`);
}
