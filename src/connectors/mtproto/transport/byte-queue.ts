// Receive buffer for a byte stream cut into arbitrary chunks. Appends copy into one growing
// buffer (compacted instead of grown when the consumed prefix is large), so a frame that
// arrives in many small chunks costs amortised O(frame size), not O(chunks * size).
export class ByteQueue {
  private buf = new Uint8Array(4096);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      const need = live + chunk.length;
      if (need <= this.buf.length / 2 || (need <= this.buf.length && this.start > 0)) {
        this.buf.copyWithin(0, this.start, this.end);
      } else {
        let cap = this.buf.length * 2;
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
    this.start += n;
    if (this.start === this.end) this.start = this.end = 0;
    return out;
  }

  skip(n: number): void {
    this.start += n;
    if (this.start === this.end) this.start = this.end = 0;
  }

  takeAll(): Uint8Array {
    return this.take(this.length);
  }
}
