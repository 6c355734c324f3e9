/**
 * TEMPORARY test-only framing shim (abridged, intermediate, padded intermediate, full; no
 * obfuscation) used while transport/ServerTransport was not yet committed by its owner.
 * Tests pass it as `createTransport`; replace with the real transport when it lands.
 */
import type { FramingOptions, FramingTransport, TransportFactory } from '../../src/connectors/mtproto/connection.ts';
import { crc32 } from '../../src/connectors/mtproto/tl/crc32.ts';

type Kind = 'abridged' | 'intermediate' | 'padded' | 'full';

class ShimTransport implements FramingTransport {
  #o: FramingOptions;
  #kind: Kind | undefined;
  get kind(): Kind | undefined { return this.#kind; }
  #buf = Buffer.alloc(0);
  #dead = false;
  #outSeq = 0;
  #inSeq = 0;

  constructor(o: FramingOptions) { this.#o = o; }

  feed(chunk: Uint8Array): void {
    if (this.#dead) return;
    this.#buf = Buffer.concat([this.#buf, chunk]);
    if (this.#kind === undefined) {
      if (this.#buf.length < 1) return;
      if (this.#buf[0] === 0xef) { this.#kind = 'abridged'; this.#buf = this.#buf.subarray(1); }
      else {
        if (this.#buf.length < 4) return;
        const h = this.#buf.readUInt32LE(0);
        if (h === 0xeeeeeeee) { this.#kind = 'intermediate'; this.#buf = this.#buf.subarray(4); }
        else if (h === 0xdddddddd) { this.#kind = 'padded'; this.#buf = this.#buf.subarray(4); }
        else this.#kind = 'full';
      }
    }
    for (;;) {
      let len: number; let head: number;
      if (this.#kind === 'abridged') {
        if (this.#buf.length < 1) return;
        const b = this.#buf[0]!;
        if (b < 0x7f) { len = b * 4; head = 1; } else { if (this.#buf.length < 4) return; len = this.#buf.readUIntLE(1, 3) * 4; head = 4; }
      } else {
        if (this.#buf.length < 4) return;
        len = this.#buf.readInt32LE(0); head = 4;
        if (this.#kind === 'full') { len -= 4; }
      }
      if (len <= 0 || len > this.#o.maxFrameBytes) { this.#dead = true; this.#o.onError('bad-length'); return; }
      if (this.#buf.length < head + len) return;
      let data: Uint8Array = new Uint8Array(this.#buf.subarray(head, head + len));
      this.#buf = this.#buf.subarray(head + len);
      if (this.#kind === 'full') {
        const whole = Buffer.concat([Buffer.from(this.#buf.subarray(0, 0)), Buffer.alloc(4), Buffer.from(data)]);
        whole.writeInt32LE(len + 4, 0);
        const body = whole.subarray(0, whole.length - 4);
        const crc = whole.readUInt32LE(whole.length - 4);
        if (crc32(body) >>> 0 !== crc || whole.readInt32LE(4) !== this.#inSeq++) { this.#dead = true; this.#o.onError('bad-crc'); return; }
        data = new Uint8Array(whole.subarray(8, whole.length - 4));
      }
      this.#o.onPayload(data, false);
      if (this.#dead) return;
    }
  }

  send(payload: Uint8Array): void {
    const p = Buffer.from(payload);
    if (this.#kind === 'abridged') {
      const n = p.length / 4;
      this.#o.write(Buffer.concat([n < 0x7f ? Buffer.of(n) : Buffer.of(0x7f, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff), p]));
    } else if (this.#kind === 'full') {
      const head = Buffer.alloc(8);
      head.writeInt32LE(p.length + 12, 0);
      head.writeInt32LE(this.#outSeq++, 4);
      const body = Buffer.concat([head, p]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE(crc32(body) >>> 0, 0);
      this.#o.write(Buffer.concat([body, crc]));
    } else {
      const head = Buffer.alloc(4);
      head.writeInt32LE(p.length, 0);
      this.#o.write(Buffer.concat([head, p]));
    }
  }

  sendTransportError(code: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(code, 0);
    this.send(b);
  }
}

export const shimTransport: TransportFactory = (o) => new ShimTransport(o);
