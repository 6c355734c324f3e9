// Growable little-endian TL writer. Doubles its buffer when full, so writing a message is
// amortised O(size) with a handful of allocations.
import { TlEncodeError } from './errors.ts';

const utf8 = new TextEncoder();

export class TlWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer);
  }

  get length(): number {
    return this.len;
  }

  // Callers must take the offset from reserve() before touching this.buf/this.view:
  // reserve() may swap both for bigger ones.
  private reserve(n: number): number {
    const need = this.len + n;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.len;
    this.len = need;
    return at;
  }

  /** Accepts signed or unsigned 32-bit values; writes the same 32 bits. */
  int32(n: number): void {
    if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) throw new TlEncodeError(`not a 32-bit int: ${n}`);
    const at = this.reserve(4);
    this.view.setUint32(at, n >>> 0, true);
  }

  uint32(n: number): void {
    this.int32(n);
  }

  /** Accepts signed or unsigned 64-bit values; writes the same 64 bits. */
  int64(n: bigint): void {
    if (typeof n !== 'bigint' || n < -(1n << 63n) || n >= 1n << 64n) throw new TlEncodeError(`not a 64-bit long: ${String(n)}`);
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt.asUintN(64, n), true);
  }

  double(n: number): void {
    if (typeof n !== 'number') throw new TlEncodeError('not a double');
    const at = this.reserve(8);
    this.view.setFloat64(at, n, true);
  }

  raw(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }

  fixed(b: Uint8Array, n: 16 | 32): void {
    if (!(b instanceof Uint8Array) || b.length !== n) throw new TlEncodeError(`int${n * 8} needs exactly ${n} bytes`);
    this.raw(b);
  }

  int128(b: Uint8Array): void {
    this.fixed(b, 16);
  }

  int256(b: Uint8Array): void {
    this.fixed(b, 32);
  }

  bytes(b: Uint8Array): void {
    if (!(b instanceof Uint8Array)) throw new TlEncodeError('bytes value must be a Uint8Array');
    const n = b.length;
    if (n > 0xffffff) throw new TlEncodeError(`bytes too long: ${n}`);
    let head: number;
    if (n <= 253) {
      const at = this.reserve(1);
      this.buf[at] = n;
      head = 1;
    } else {
      const at = this.reserve(4);
      this.buf[at] = 254;
      this.buf[at + 1] = n & 0xff;
      this.buf[at + 2] = (n >>> 8) & 0xff;
      this.buf[at + 3] = (n >>> 16) & 0xff;
      head = 4;
    }
    this.raw(b);
    const pad = (4 - ((head + n) % 4)) % 4;
    const padAt = this.reserve(pad);
    this.buf.fill(0, padAt, this.len);
  }

  string(s: string): void {
    if (typeof s !== 'string') throw new TlEncodeError('string value must be a string');
    this.bytes(utf8.encode(s));
  }

  /** Overwrites 4 bytes written earlier (length fields known only after the body). */
  patchInt32(at: number, n: number): void {
    this.view.setUint32(at, n >>> 0, true);
  }

  /** The written bytes (a view of the internal buffer; copy if the writer is reused). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}
