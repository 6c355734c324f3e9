// Per-transport framing, both directions, as seen by the server. Decoders read from a
// ByteQueue and return one frame, null for "wait for more bytes", or throw FrameError.
import { randomBytes } from 'node:crypto';
import { crc32 } from '../tl/crc32.ts';
import type { ByteQueue } from './byte-queue.ts';
import type { TransportKind } from './kinds.ts';

export class FrameError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FrameError';
  }
}

export interface Frame {
  payload: Uint8Array;
  quickAck: boolean;
}

export interface FrameCodec {
  readonly kind: TransportKind;
  decode(q: ByteQueue): Frame | null;
  encode(payload: Uint8Array): Uint8Array;
  /** The bare 4-byte quick-ack answer, or null where the transport has none (full). */
  quickAck(token: number): Uint8Array | null;
}

function checkSize(len: number, max: number): void {
  if (len === 0) throw new FrameError('empty frame');
  if (len > max) throw new FrameError(`frame of ${len} bytes exceeds the ${max}-byte limit`);
}

const le32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};

/** Abridged: length/4 in one byte (< 0x7f) or 0x7f + 3 bytes LE; MSB of the first byte = quick ack. */
export class AbridgedCodec implements FrameCodec {
  readonly kind = 'abridged' as const;
  constructor(private readonly maxFrameBytes: number) {}

  decode(q: ByteQueue): Frame | null {
    if (q.length < 1) return null;
    const b0 = q.at(0);
    const quickAck = (b0 & 0x80) !== 0;
    let words = b0 & 0x7f;
    let head = 1;
    if (words === 0x7f) {
      if (q.length < 4) return null;
      words = q.at(1) | (q.at(2) << 8) | (q.at(3) << 16);
      head = 4;
    }
    const len = words * 4;
    checkSize(len, this.maxFrameBytes);
    if (q.length < head + len) return null;
    q.skip(head);
    return { payload: q.take(len), quickAck };
  }

  encode(payload: Uint8Array): Uint8Array {
    if (payload.length % 4 !== 0) throw new RangeError('abridged payloads must be a multiple of 4 bytes');
    const words = payload.length / 4;
    const head = words < 0x7f ? 1 : 4;
    const out = new Uint8Array(head + payload.length);
    if (head === 1) out[0] = words;
    else {
      out[0] = 0x7f;
      out[1] = words & 0xff;
      out[2] = (words >>> 8) & 0xff;
      out[3] = (words >>> 16) & 0xff;
    }
    out.set(payload, head);
    return out;
  }

  /** Abridged sends the token big-endian ("bswap"), so its first byte has the MSB set. */
  quickAck(token: number): Uint8Array {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, (token | 0x80000000) >>> 0, false);
    return b;
  }
}

/**
 * Intermediate: 4-byte LE length (MSB = quick ack) + payload. Padded intermediate adds 0..15
 * random bytes when sending and drops the length % 4 tail when receiving (the MTProto layer
 * below ignores trailing bytes past its own lengths).
 */
export class IntermediateCodec implements FrameCodec {
  readonly kind: 'intermediate' | 'padded';
  constructor(private readonly maxFrameBytes: number, padded: boolean) {
    this.kind = padded ? 'padded' : 'intermediate';
  }

  decode(q: ByteQueue): Frame | null {
    if (q.length < 4) return null;
    const v = q.uint32LE(0);
    const quickAck = v >>> 31 === 1;
    const len = v & 0x7fffffff;
    checkSize(len, this.maxFrameBytes + (this.kind === 'padded' ? 15 : 0));
    if (q.length < 4 + len) return null;
    q.skip(4);
    const data = q.take(len);
    if (this.kind === 'padded') {
      const payload = data.subarray(0, len - (len % 4));
      if (payload.length === 0) throw new FrameError('empty frame');
      return { payload, quickAck };
    }
    return { payload: data, quickAck };
  }

  encode(payload: Uint8Array): Uint8Array {
    const pad = this.kind === 'padded' ? randomBytes(1)[0]! % 16 : 0;
    const out = new Uint8Array(4 + payload.length + pad);
    out.set(le32(payload.length + pad), 0);
    out.set(payload, 4);
    if (pad) out.set(randomBytes(pad), 4 + payload.length);
    return out;
  }

  quickAck(token: number): Uint8Array {
    return le32((token | 0x80000000) >>> 0);
  }
}

/** Full (TCP): total length LE, seq_no LE (per direction, from 0), payload, CRC32 of all before it. */
export class FullCodec implements FrameCodec {
  readonly kind = 'full' as const;
  private recvSeq = 0;
  private sendSeq = 0;
  constructor(private readonly maxFrameBytes: number) {}

  decode(q: ByteQueue): Frame | null {
    if (q.length < 4) return null;
    const total = q.uint32LE(0);
    if (total > 0x7fffffff) throw new FrameError('negative full-transport length');
    if (total < 12) throw new FrameError(total === 12 ? 'empty frame' : `full-transport length ${total} is too short`);
    if (total % 4 !== 0) throw new FrameError(`full-transport length ${total} is not a multiple of 4`);
    checkSize(total - 12, this.maxFrameBytes);
    if (q.length < total) return null;
    const frame = q.peek(total);
    const expected = crc32(frame.subarray(0, total - 4));
    const got = (frame[total - 4]! | (frame[total - 3]! << 8) | (frame[total - 2]! << 16) | (frame[total - 1]! << 24)) >>> 0;
    if (expected !== got) throw new FrameError('bad CRC32 in full-transport frame');
    const seq = q.uint32LE(4) | 0;
    if (seq !== this.recvSeq) throw new FrameError(`full-transport seq ${seq}, expected ${this.recvSeq}`);
    this.recvSeq = (this.recvSeq + 1) | 0;
    q.skip(8);
    const payload = q.take(total - 12);
    q.skip(4);
    return { payload, quickAck: false };
  }

  encode(payload: Uint8Array): Uint8Array {
    const total = payload.length + 12;
    const out = new Uint8Array(total);
    const v = new DataView(out.buffer);
    v.setUint32(0, total, true);
    v.setInt32(4, this.sendSeq, true);
    this.sendSeq = (this.sendSeq + 1) | 0;
    out.set(payload, 8);
    v.setUint32(total - 4, crc32(out.subarray(0, total - 4)), true);
    return out;
  }

  quickAck(): null {
    return null;
  }
}

export function createFrameCodec(kind: TransportKind, maxFrameBytes: number): FrameCodec {
  switch (kind) {
    case 'abridged': return new AbridgedCodec(maxFrameBytes);
    case 'intermediate': return new IntermediateCodec(maxFrameBytes, false);
    case 'padded': return new IntermediateCodec(maxFrameBytes, true);
    case 'full': return new FullCodec(maxFrameBytes);
  }
}
