// The server end of one MTProto connection's byte stream: detects the transport from the
// first bytes, removes obfuscation, cuts frames (across any chunking) and frames replies.
// Every protocol violation becomes one onError(reason) call, after which the transport is
// inert; nothing thrown by parsing escapes feed(). The caller closes the socket.
import { ByteQueue } from './byte-queue.ts';
import { createFrameCodec, FrameError, type FrameCodec } from './codecs.ts';
import { detectTransport } from './detect.ts';
import type { TransportKind } from './kinds.ts';
import type { CtrStream } from './obfuscated2.ts';

export type { TransportKind } from './kinds.ts';

export interface ServerTransportOptions {
  /** Largest accepted payload (default 1 MiB). */
  maxFrameBytes?: number;
  write: (bytes: Uint8Array) => void;
  onPayload: (data: Uint8Array, quickAck: boolean) => void;
  /** Called once on a protocol violation; the caller closes the socket. */
  onError: (reason: string) => void;
  /** 'websocket' accepts obfuscated2 only (default 'tcp'). */
  mode?: 'tcp' | 'websocket';
}

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export class ServerTransport {
  private readonly opts: ServerTransportOptions;
  private readonly maxFrameBytes: number;
  private readonly queue = new ByteQueue();
  private codec: FrameCodec | undefined;
  private decryptor: CtrStream | undefined;
  private encryptor: CtrStream | undefined;
  private failed = false;
  private dispatching = false;

  constructor(opts: ServerTransportOptions) {
    this.opts = opts;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  get kind(): TransportKind | undefined {
    return this.codec?.kind;
  }

  get obfuscated(): boolean {
    return this.decryptor !== undefined;
  }

  /** True once an error was reported or close() was called. */
  get closed(): boolean {
    return this.failed;
  }

  /** Stops processing input and output (e.g. when the socket closed first). */
  close(): void {
    this.failed = true;
  }

  feed(chunk: Uint8Array): void {
    if (this.failed || chunk.length === 0) return;
    try {
      this.queue.push(this.decryptor ? this.decryptor.update(chunk) : chunk);
      if (!this.codec && !this.detect()) return;
      this.drain();
    } catch (e) {
      this.fail(e instanceof FrameError ? e.message : `transport error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  send(payload: Uint8Array): void {
    if (this.failed || !this.codec) return;
    this.write(this.codec.encode(payload));
  }

  /** Quick ACK for a frame that asked for one; a no-op on the full transport, which has none. */
  sendQuickAck(token: number): void {
    if (this.failed || !this.codec) return;
    const b = this.codec.quickAck(token);
    if (b) this.write(b);
  }

  /** Transport-level error (-404 no auth key, -429 flood, ...): the int32 LE code as a packet. */
  sendTransportError(code: number): void {
    if (this.failed || !this.codec) return;
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, code, true);
    this.write(this.codec.encode(b));
  }

  private write(bytes: Uint8Array): void {
    this.opts.write(this.encryptor ? this.encryptor.update(bytes) : bytes);
  }

  /** Returns true once the transport is known (header consumed). */
  private detect(): boolean {
    const d = detectTransport(this.queue.peek(Math.min(this.queue.length, 64)), this.opts.mode ?? 'tcp');
    switch (d.status) {
      case 'need-more':
        return false;
      case 'reject':
        throw new FrameError(d.reason);
      case 'plain':
        this.queue.skip(d.headerBytes);
        this.codec = createFrameCodec(d.kind, this.maxFrameBytes);
        return true;
      case 'obfuscated': {
        this.queue.skip(d.headerBytes);
        this.decryptor = d.obfuscation.decryptor;
        this.encryptor = d.obfuscation.encryptor;
        // Bytes that arrived after the header are still ciphertext.
        const rest = this.queue.takeAll();
        if (rest.length) this.queue.push(this.decryptor.update(rest));
        this.codec = createFrameCodec(d.kind, this.maxFrameBytes);
        return true;
      }
    }
  }

  private drain(): void {
    // onPayload may re-enter feed() (synchronous test doubles); the outer loop drains for it.
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      const codec = this.codec!;
      while (!this.failed) {
        const frame = codec.decode(this.queue);
        if (!frame) break;
        this.opts.onPayload(frame.payload, frame.quickAck);
      }
    } finally {
      this.dispatching = false;
    }
  }

  private fail(reason: string): void {
    if (this.failed) return;
    this.failed = true;
    this.opts.onError(reason);
  }
}
