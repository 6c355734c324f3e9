// Transport detection, framing and obfuscation, fed like a real socket would: random
// chunk splits, quick-ack bits, corrupt frames, garbage. A client side is written here
// independently of the server codecs, and gramjs's own packet codecs are used as a reference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { ServerTransport } from '../../src/connectors/mtproto/transport/server-transport.ts';
import { ByteQueue } from '../../src/connectors/mtproto/transport/byte-queue.ts';
import { detectTransport } from '../../src/connectors/mtproto/transport/detect.ts';
import { createClientObfuscation, isValidClientInitPrefix, type CtrStream } from '../../src/connectors/mtproto/transport/obfuscated2.ts';
import { crc32Portable } from '../../src/connectors/mtproto/tl/crc32.ts';
import type { TransportKind } from '../../src/connectors/mtproto/transport/kinds.ts';

const crc = (b: Uint8Array): number => crc32Portable(b);
const u32le = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };

/** Independent client-side framing. */
class TestClient {
  private seqOut = 0;
  private seqIn = 0;
  private inbox = Buffer.alloc(0);
  private enc: CtrStream | undefined;
  private dec: CtrStream | undefined;
  readonly opening: Uint8Array;

  constructor(readonly kind: TransportKind, obfuscated: boolean) {
    if (obfuscated) {
      assert.notEqual(kind, 'full');
      const o = createClientObfuscation(kind as Exclude<TransportKind, 'full'>);
      this.enc = o.encryptor;
      this.dec = o.decryptor;
      this.opening = o.header;
    } else {
      this.opening = kind === 'abridged' ? Uint8Array.of(0xef) : kind === 'intermediate' ? u32le(0xeeeeeeee) : kind === 'padded' ? u32le(0xdddddddd) : new Uint8Array(0);
    }
  }

  frame(payload: Uint8Array, quickAck = false): Uint8Array {
    let out: Buffer;
    switch (this.kind) {
      case 'abridged': {
        const w = payload.length / 4;
        const head = w < 127 ? Buffer.from([w | (quickAck ? 0x80 : 0)]) : Buffer.from([0x7f | (quickAck ? 0x80 : 0), w & 0xff, (w >> 8) & 0xff, (w >> 16) & 0xff]);
        out = Buffer.concat([head, payload]);
        break;
      }
      case 'intermediate':
        out = Buffer.concat([u32le(payload.length | (quickAck ? 0x80000000 : 0)), payload]);
        break;
      case 'padded': {
        const pad = randomBytes(randomBytes(1)[0]! % 16);
        out = Buffer.concat([u32le((payload.length + pad.length) | (quickAck ? 0x80000000 : 0)), payload, pad]);
        break;
      }
      case 'full': {
        const body = Buffer.concat([u32le(payload.length + 12), u32le(this.seqOut++), payload]);
        out = Buffer.concat([body, u32le(crc(body))]);
        break;
      }
    }
    return this.enc ? this.enc.update(out) : out;
  }

  /** Parses what the server wrote; returns whole payloads. */
  receive(bytes: Uint8Array): Uint8Array[] {
    this.inbox = Buffer.concat([this.inbox, this.dec ? this.dec.update(bytes) : bytes]);
    const out: Uint8Array[] = [];
    for (;;) {
      const b = this.inbox;
      let head: number, len: number;
      if (this.kind === 'abridged') {
        if (b.length < 1) break;
        if (b[0]! < 0x7f) { head = 1; len = b[0]! * 4; } else { if (b.length < 4) break; head = 4; len = (b[1]! | (b[2]! << 8) | (b[3]! << 16)) * 4; }
      } else if (this.kind === 'full') {
        if (b.length < 4) break;
        head = 8; len = b.readUInt32LE(0) - 12;
        if (b.length < len + 12) break;
        assert.equal(b.readInt32LE(4), this.seqIn++);
        assert.equal(b.readUInt32LE(len + 8), crc(b.subarray(0, len + 8)));
        out.push(Uint8Array.from(b.subarray(8, 8 + len)));
        this.inbox = b.subarray(len + 12);
        continue;
      } else {
        if (b.length < 4) break;
        head = 4; len = b.readUInt32LE(0);
      }
      if (b.length < head + len) break;
      let p = Uint8Array.from(b.subarray(head, head + len));
      if (this.kind === 'padded') p = p.subarray(0, p.length - (p.length % 4));
      out.push(p);
      this.inbox = b.subarray(head + len);
    }
    return out;
  }
}

function harness(opts: { maxFrameBytes?: number; mode?: 'tcp' | 'websocket' } = {}) {
  const got: { data: Uint8Array; qa: boolean }[] = [];
  const errors: string[] = [];
  const written: Uint8Array[] = [];
  const t = new ServerTransport({
    ...opts,
    write: (b) => written.push(Uint8Array.from(b)),
    onPayload: (data, qa) => got.push({ data: Uint8Array.from(data), qa }),
    onError: (r) => errors.push(r),
  });
  return { t, got, errors, written };
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const pts = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...pts, bytes.length]) { out.push(bytes.subarray(prev, p)); prev = p; }
  return out;
}

const payloadArb = fc.integer({ min: 1, max: 700 }).chain((w) => fc.uint8Array({ minLength: w * 4, maxLength: w * 4 }));
const KINDS: TransportKind[] = ['abridged', 'intermediate', 'padded', 'full'];

test('detection: markers, full (zero seq), HTTP/TLS rejected, need-more, websocket needs obfuscation', () => {
  assert.deepEqual(detectTransport(Uint8Array.of(0xef)), { status: 'plain', kind: 'abridged', headerBytes: 1 });
  assert.deepEqual(detectTransport(u32le(0xeeeeeeee)), { status: 'plain', kind: 'intermediate', headerBytes: 4 });
  assert.deepEqual(detectTransport(u32le(0xdddddddd)), { status: 'plain', kind: 'padded', headerBytes: 4 });
  assert.deepEqual(detectTransport(Buffer.concat([u32le(40), u32le(0)])), { status: 'plain', kind: 'full', headerBytes: 0 });
  assert.equal(detectTransport(Buffer.from('POST / HTTP/1.1')).status, 'reject');
  assert.equal(detectTransport(Buffer.from('GET / HTTP/1.1')).status, 'reject');
  assert.equal(detectTransport(Uint8Array.of(0x16, 0x03, 0x01, 0x02, 0, 0, 0, 0)).status, 'reject');
  assert.equal(detectTransport(Uint8Array.of(0xee, 0xee)).status, 'need-more');
  assert.equal(detectTransport(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9)).status, 'need-more');
  assert.equal(detectTransport(randomBytes(64).fill(1, 0, 8)).status, 'reject'); // random 64 bytes: bad tag
  assert.equal(detectTransport(Uint8Array.of(0xef), 'websocket').status, 'reject');
  assert.equal(detectTransport(Buffer.concat([u32le(40), u32le(0)]), 'websocket').status, 'reject');
  for (const kind of ['abridged', 'intermediate', 'padded'] as const) {
    const { header } = createClientObfuscation(kind, -3);
    assert.ok(isValidClientInitPrefix(header));
    const d = detectTransport(header, 'websocket');
    assert.equal(d.status, 'obfuscated');
    if (d.status === 'obfuscated') { assert.equal(d.kind, kind); assert.equal(d.obfuscation.dcId, -3); }
  }
});

test('every transport (plain and obfuscated2) round-trips payload sequences in random chunk splits', () => {
  const cases: [TransportKind, boolean][] = [...KINDS.map((k): [TransportKind, boolean] => [k, false]), ['abridged', true], ['intermediate', true], ['padded', true]];
  for (const [kind, obf] of cases) {
    fc.assert(fc.property(fc.array(fc.tuple(payloadArb, fc.boolean()), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), fc.array(payloadArb, { maxLength: 4 }),
      (msgs, cuts, replies) => {
        const client = new TestClient(kind, obf);
        const h = harness();
        const quickAckable = kind !== 'full';
        const stream = Buffer.concat([client.opening, ...msgs.map(([p, qa]) => client.frame(p, qa && quickAckable))]);
        for (const chunk of splitAt(stream, cuts)) h.t.feed(chunk);
        assert.deepEqual(h.errors, []);
        assert.equal(h.t.kind, kind);
        assert.equal(h.t.obfuscated, obf);
        if (kind === 'padded') {
          // Padding of 4/8/12 bytes is indistinguishable from payload at this layer; the MTProto
          // layer above trims (encrypted data to a multiple of 16, plain messages by their length).
          h.got.forEach((g, i) => {
            const p = msgs[i]![0];
            assert.deepEqual(g.data.subarray(0, p.length), p);
            assert.ok(g.data.length - p.length <= 12 && (g.data.length - p.length) % 4 === 0);
          });
          assert.equal(h.got.length, msgs.length);
        } else {
          assert.deepEqual(h.got.map((g) => g.data), msgs.map(([p]) => p));
        }
        assert.deepEqual(h.got.map((g) => g.qa), msgs.map(([, qa]) => qa && quickAckable));
        for (const r of replies) h.t.send(r);
        const back = client.receive(Buffer.concat(h.written));
        if (kind === 'padded') back.forEach((b, i) => assert.deepEqual(b.subarray(0, replies[i]!.length), replies[i]));
        else assert.deepEqual(back, replies);
        assert.equal(back.length, replies.length);
      }), { numRuns: 40 });
  }
});

test('quick ack: abridged answers big-endian, intermediate little-endian, full has none', () => {
  const token = 0x1234abcd;
  for (const [kind, expect] of [['abridged', '9234abcd'], ['intermediate', 'cdab3492'], ['padded', 'cdab3492']] as const) {
    const c = new TestClient(kind, false);
    const h = harness();
    h.t.feed(c.opening);
    h.t.feed(c.frame(new Uint8Array(8), true));
    assert.equal(h.got[0]!.qa, true);
    h.t.sendQuickAck(token);
    assert.equal(Buffer.from(h.written[0]!).toString('hex'), expect);
  }
  const c = new TestClient('full', false);
  const h = harness();
  h.t.feed(c.frame(new Uint8Array(8)));
  h.t.sendQuickAck(token);
  assert.equal(h.written.length, 0);
});

test('full transport rejects a bad CRC and a wrong seq_no', () => {
  const c = new TestClient('full', false);
  const f = c.frame(new Uint8Array(16).fill(7));
  const bad = Uint8Array.from(f); bad[10]! ^= 1;
  const h1 = harness(); h1.t.feed(bad);
  assert.equal(h1.got.length, 0);
  assert.match(h1.errors[0]!, /CRC/);
  const c2 = new TestClient('full', false);
  const h2 = harness();
  h2.t.feed(c2.frame(new Uint8Array(4)));
  c2.frame(new Uint8Array(4)); // skipped: seq 1 never sent
  h2.t.feed(c2.frame(new Uint8Array(4)));
  assert.equal(h2.got.length, 1);
  assert.match(h2.errors[0]!, /seq 2, expected 1/);
});

test('oversized and zero-length frames end in onError, never an exception; later input is ignored', () => {
  const cases: [TransportKind, Uint8Array][] = [
    ['abridged', Uint8Array.of(0xef, 0x7f, 0xff, 0xff, 0x0f)],
    ['abridged', Uint8Array.of(0xef, 0x00)],
    ['intermediate', Buffer.concat([u32le(0xeeeeeeee), u32le(2 * 1024 * 1024)])],
    ['intermediate', Buffer.concat([u32le(0xeeeeeeee), u32le(0)])],
    ['padded', Buffer.concat([u32le(0xdddddddd), u32le(3), Buffer.from([1, 2, 3])])],
    ['full', Buffer.concat([u32le(64 * 1024 * 1024), u32le(0)])],
    ['full', Buffer.concat([u32le(12), u32le(0), u32le(0)])],
    ['full', Buffer.concat([u32le(0xfffffff0), u32le(0)])],
  ];
  for (const [kind, bytes] of cases) {
    const h = harness();
    assert.doesNotThrow(() => h.t.feed(bytes));
    assert.equal(h.errors.length, 1, `${kind} ${Buffer.from(bytes).toString('hex')}`);
    assert.equal(h.t.closed, true);
    h.t.feed(randomBytes(100));
    h.t.send(new Uint8Array(4));
    assert.equal(h.errors.length, 1);
    assert.equal(h.got.length, 0);
  }
  // a custom limit
  const h = harness({ maxFrameBytes: 64 });
  const c = new TestClient('intermediate', false);
  h.t.feed(c.opening);
  h.t.feed(c.frame(new Uint8Array(64)));
  h.t.feed(c.frame(new Uint8Array(68)));
  assert.equal(h.got.length, 1);
  assert.match(h.errors[0]!, /exceeds/);
});

test('websocket mode: plain transports rejected, obfuscated2 accepted', () => {
  const h = harness({ mode: 'websocket' });
  h.t.feed(Uint8Array.of(0xef, 1, 0, 0, 0, 0));
  assert.match(h.errors[0]!, /obfuscated2 required/);
  const c = new TestClient('intermediate', true);
  const h2 = harness({ mode: 'websocket' });
  h2.t.feed(Buffer.concat([c.opening, c.frame(new Uint8Array(12).fill(5))]));
  assert.deepEqual(h2.errors, []);
  assert.deepEqual(h2.got[0]!.data, new Uint8Array(12).fill(5));
});

test('random garbage never throws: it errors or waits for more', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 6 }), fc.constantFrom<'tcp' | 'websocket'>('tcp', 'websocket'), (chunks, mode) => {
    const h = harness({ mode, maxFrameBytes: 4096 });
    for (const c of chunks) assert.doesNotThrow(() => h.t.feed(c));
    assert.ok(h.errors.length <= 1);
  }), { numRuns: 2000 });
  // garbage after a valid opening, for every transport
  fc.assert(fc.property(fc.constantFrom(...KINDS), fc.boolean(), fc.uint8Array({ maxLength: 300 }), (kind, obf, junk) => {
    const c = new TestClient(kind, obf && kind !== 'full');
    const h = harness({ maxFrameBytes: 4096 });
    assert.doesNotThrow(() => { h.t.feed(c.opening); h.t.feed(junk); });
    assert.ok(h.errors.length <= 1);
  }), { numRuns: 1000 });
});

test('sendTransportError frames the int32 code like a packet', () => {
  const c = new TestClient('abridged', true);
  const h = harness();
  h.t.feed(c.opening);
  h.t.feed(c.frame(new Uint8Array(4)));
  h.t.sendTransportError(-404);
  const [p] = c.receive(Buffer.concat(h.written));
  assert.equal(Buffer.from(p!).readInt32LE(0), -404);
});

test('gramjs packet codecs: its abridged/full frames parse here, ours parse there', async () => {
  const require = createRequire(import.meta.url);
  type Codec = { encodePacket(b: Buffer): Buffer; readPacket(r: { read(n: number): Promise<Buffer>; readExactly(n: number): Promise<Buffer> }): Promise<Buffer> };
  require('telegram/network/index.js'); // loads gramjs's connection modules in their own (circular) order
  const { AbridgedPacketCodec } = require('telegram/network/connection/TCPAbridged.js') as { AbridgedPacketCodec: new (c: unknown) => Codec };
  const { FullPacketCodec } = require('telegram/network/connection/TCPFull.js') as { FullPacketCodec: new (c: unknown) => Codec };
  const reader = (buf: Buffer) => {
    let o = 0;
    const read = async (n: number) => { const b = buf.subarray(o, o + n); o += n; return b; };
    return { read, readExactly: read };
  };
  for (const [kind, Ctor, opening] of [['abridged', AbridgedPacketCodec, Buffer.from([0xef])], ['full', FullPacketCodec, Buffer.alloc(0)]] as const) {
    const gram = new Ctor(null);
    const payloads = [randomBytes(8), randomBytes(1000), randomBytes(508), randomBytes(4)];
    const h = harness();
    h.t.feed(Buffer.concat([opening, ...payloads.map((p) => gram.encodePacket(p))]));
    assert.deepEqual(h.errors, [], kind);
    assert.deepEqual(h.got.map((g) => Buffer.from(g.data)), payloads);
    for (const p of payloads) h.t.send(p);
    const r = reader(Buffer.concat(h.written));
    for (const p of payloads) assert.deepEqual(await gram.readPacket(r), p);
  }
  // the native CRC32 (when present) agrees with the table one
  const nativeCrc = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  if (nativeCrc) assert.equal(nativeCrc(Buffer.from('abc')), crc(Buffer.from('abc')));
});

test('ByteQueue: holds no buffer while idle, across split and whole chunks and after a large frame', () => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 5000 }), (chunks, cut) => {
    const q = new ByteQueue();
    assert.equal(q.capacity, 0);
    const all = Buffer.concat(chunks);
    const out: Uint8Array[] = [];
    for (const c of chunks) {
      q.push(c);
      while (q.length >= cut) out.push(q.take(cut));
    }
    if (q.length > 0) out.push(q.takeAll());
    assert.deepEqual(Buffer.concat(out), all, 'bytes come out as they went in');
    assert.equal(q.capacity, 0, 'drained: the buffer is given back');
  }), { numRuns: 200 });
  const q = new ByteQueue();
  q.push(new Uint8Array(1024 * 1024 + 8));
  assert.ok(q.capacity >= 1024 * 1024);
  q.skip(1024 * 1024 + 8);
  assert.equal(q.capacity, 0, 'a 1 MiB frame is not kept for the life of the connection');
});
