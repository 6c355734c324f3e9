// Growable little-endian TL writer. Doubles its buffer when full, so writing a message is
// amortised O(size) with a handful of allocations. The buffer is a Buffer so strings are written
// into it directly (TextEncoder.encode allocates an array per string: most of an answer's
// encoding time went there); what leaves (finish, copy) is a plain Uint8Array.
import { TlEncodeError } from './errors.ts';

const MIN_INT64 = -(1n << 63n);
const MAX_UINT64 = 1n << 64n;

export class TlWriter {
  private buf: Buffer;
  private view: DataView;
  private len = 0;

  constructor(initialCapacity = 256) {
    this.buf = Buffer.alloc(Math.max(16, initialCapacity));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Empties the writer, keeping its buffer (a writer reused for many messages). */
  reset(): void {
    this.len = 0;
  }

  get length(): number {
    return this.len;
  }

  /** Bytes the buffer holds (written or not). */
  get capacity(): number {
    return this.buf.length;
  }

  // Callers must take the offset from reserve() before touching this.buf/this.view:
  // reserve() may swap both for bigger ones.
  private reserve(n: number): number {
    const need = this.len + n;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = Buffer.alloc(cap);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
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
    if (typeof n !== 'bigint' || n < MIN_INT64 || n >= MAX_UINT64) throw new TlEncodeError(`not a 64-bit long: ${String(n)}`);
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
    const at = this.#header(b.length);
    this.buf.set(b, at);
    this.#pad(b.length);
  }

  string(s: string): void {
    if (typeof s !== 'string') throw new TlEncodeError('string value must be a string');
    const n = Buffer.byteLength(s, 'utf8');
    const at = this.#header(n);
    this.buf.write(s, at, n, 'utf8');
    this.#pad(n);
  }

  /** The length prefix of a bytes/string field, and room for its n bytes after it; returns where they go. */
  #header(n: number): number {
    if (n > 0xffffff) throw new TlEncodeError(`bytes too long: ${n}`);
    if (n <= 253) {
      const at = this.reserve(1 + n);
      this.buf[at] = n;
      return at + 1;
    }
    const at = this.reserve(4 + n);
    this.buf[at] = 254;
    this.buf[at + 1] = n & 0xff;
    this.buf[at + 2] = (n >>> 8) & 0xff;
    this.buf[at + 3] = (n >>> 16) & 0xff;
    return at + 4;
  }

  /** Zero padding to a multiple of 4 after a bytes/string field of n bytes. */
  #pad(n: number): void {
    const head = n <= 253 ? 1 : 4;
    const pad = (4 - ((head + n) % 4)) % 4;
    const padAt = this.reserve(pad);
    this.buf.fill(0, padAt, this.len);
  }

  /** Overwrites 4 bytes written earlier (length fields known only after the body). */
  patchInt32(at: number, n: number): void {
    this.view.setUint32(at, n >>> 0, true);
  }

  /** The written bytes (a view of the internal buffer; copy if the writer is reused). */
  finish(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.len);
  }

  /** A copy of the written bytes, of their exact size (the writer may then be reused). */
  copy(): Uint8Array {
    const out = new Uint8Array(this.len);
    out.set(this.buf.subarray(0, this.len));
    return out;
  }
}
