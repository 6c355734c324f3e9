// Receive buffer for a byte stream cut into arbitrary chunks. Appends copy into one growing
// buffer (compacted instead of grown when the consumed prefix is large), so a frame that
// arrives in many small chunks costs amortised O(frame size), not O(chunks * size).
//
// An idle connection holds no buffer: one is taken when bytes arrive and dropped as soon as
// everything was consumed. Idle connections are most of a server's connections, and a buffer
// kept per connection was 4 KiB of each one's ~12 KiB (bench/mtproto-memory.ts) — and a
// connection that once received a 1 MiB frame kept 2 MiB for the rest of its life.

const EMPTY = new Uint8Array(0);
/** Smallest buffer taken: a typical frame (and its header) fits, small chunks do not regrow it. */
const MIN_CAPACITY = 1024;

export class ByteQueue {
  private buf: Uint8Array = EMPTY;
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** Bytes this queue holds allocated (0 when idle). */
  get capacity(): number {
    return this.buf.length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      const need = live + chunk.length;
      if (need <= this.buf.length / 2 || (need <= this.buf.length && this.start > 0)) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let cap = Math.max(MIN_CAPACITY, this.buf.length * 2);
        while (cap < need) cap *= 2;
        const next = new Uint8Array(cap);
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Byte at offset i of the unread data (caller checks length). */
  at(i: number): number {
    return this.buf[this.start + i]!;
  }

  uint32LE(i: number): number {
    const o = this.start + i;
    return (this.buf[o]! | (this.buf[o + 1]! << 8) | (this.buf[o + 2]! << 16) | (this.buf[o + 3]! << 24)) >>> 0;
  }

  /** A view of the next n unread bytes (valid until the next push). */
  peek(n: number): Uint8Array {
    return this.buf.subarray(this.start, this.start + n);
  }

  /** Copies out and consumes the next n bytes. */
  take(n: number): Uint8Array {
    const out = this.buf.slice(this.start, this.start + n);
    this.consumed(n);
    return out;
  }

  skip(n: number): void {
    this.consumed(n);
  }

  takeAll(): Uint8Array {
    return this.take(this.length);
  }

  private consumed(n: number): void {
    this.start += n;
    if (this.start === this.end) {
      // Drained: give the buffer back (views from peek() keep their own reference).
      this.buf = EMPTY;
      this.start = this.end = 0;
    }
  }
}
