// Bounds-checked reader over a region of a buffer. Every read checks the region end first,
// so a short or hostile input ends in TlDecodeError('truncated'), never a RangeError.
import { TlDecodeError } from './errors.ts';

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class TlReader {
  readonly data: Uint8Array;
  readonly end: number;
  pos: number;
  private readonly view: DataView;

  constructor(data: Uint8Array, start = 0, end = data.length) {
    this.data = data;
    this.pos = start;
    this.end = end;
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): number {
    if (n > this.end - this.pos) {
      throw new TlDecodeError('truncated', `need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int32(): number {
    return this.view.getInt32(this.need(4), true);
  }

  uint32(): number {
    return this.view.getUint32(this.need(4), true);
  }

  /** Reads without consuming (constructor ids of optional raw tails). */
  peekUint32(): number {
    if (this.end - this.pos < 4) throw new TlDecodeError('truncated', `need 4 bytes at offset ${this.pos}`);
    return this.view.getUint32(this.pos, true);
  }

  int64(): bigint {
    return this.view.getBigInt64(this.need(8), true);
  }

  double(): number {
    return this.view.getFloat64(this.need(8), true);
  }

  /** A fresh copy, so decoded values never alias the (reused) input buffer. */
  raw(n: number): Uint8Array {
    const at = this.need(n);
    return this.data.slice(at, at + n);
  }

  int128(): Uint8Array {
    return this.raw(16);
  }

  int256(): Uint8Array {
    return this.raw(32);
  }

  bytes(): Uint8Array {
    const first = this.data[this.need(1)]!;
    let len: number;
    let head: number;
    if (first <= 253) {
      len = first;
      head = 1;
    } else if (first === 254) {
      const at = this.need(3);
      len = this.data[at]! | (this.data[at + 1]! << 8) | (this.data[at + 2]! << 16);
      head = 4;
    } else {
      throw new TlDecodeError('bytes-length', `invalid length prefix 0xff at offset ${this.pos - 1}`);
    }
    if (len > this.remaining) {
      throw new TlDecodeError('bytes-length', `bytes of length ${len} but ${this.remaining} left`);
    }
    const out = this.raw(len);
    const pad = (4 - ((head + len) % 4)) % 4;
    this.need(pad);
    return out;
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  /** The rest of the region, consumed. */
  rest(): Uint8Array {
    return this.raw(this.remaining);
  }

  /** A reader over the next n bytes of this region; this reader skips past them. */
  sub(n: number): TlReader {
    const at = this.need(n);
    return new TlReader(this.data, at, at + n);
  }
}
