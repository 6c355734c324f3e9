// TL schema parser and codec: round trips of every mtproto.tl constructor, published byte
// layouts, gramjs cross-checks, and hostile input that may only end in TlDecodeError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { TlCodec, rawObject, type TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { TlDecodeError, TlEncodeError } from '../../src/connectors/mtproto/tl/errors.ts';
import { computeConstructorId, parseTlSchema, mergeSchemas } from '../../src/connectors/mtproto/tl/schema.ts';
import { mtprotoSchema, mtprotoSchemaText } from '../../src/connectors/mtproto/tl/mtproto-schema.ts';
import { TlReader } from '../../src/connectors/mtproto/tl/reader.ts';
import { TlWriter } from '../../src/connectors/mtproto/tl/writer.ts';
import { crc32, crc32Portable } from '../../src/connectors/mtproto/tl/crc32.ts';
import { SPECIAL, normalize, tlArbitraries } from './tl-arbitrary.ts';
import { hex, loadVectors, toHex } from './vectors.ts';

const schema = mtprotoSchema();
const codec = new TlCodec(schema);
const V = loadVectors();

const isDecodeError = (e: unknown) => e instanceof TlDecodeError && typeof e.code === 'string';

function onlyDecodeErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    assert.ok(isDecodeError(e), `expected TlDecodeError, got ${String(e)}`);
  }
}

test('mtproto.tl has every service constructor the handshake and sessions need', () => {
  const want = [
    'resPQ', 'p_q_inner_data', 'p_q_inner_data_dc', 'p_q_inner_data_temp', 'p_q_inner_data_temp_dc',
    'server_DH_params_ok', 'server_DH_params_fail', 'server_DH_inner_data', 'client_DH_inner_data',
    'dh_gen_ok', 'dh_gen_retry', 'dh_gen_fail', 'req_pq', 'req_pq_multi', 'req_DH_params', 'set_client_DH_params',
    'rsa_public_key', 'msgs_ack', 'bad_msg_notification', 'bad_server_salt', 'msgs_state_req', 'msgs_state_info',
    'msgs_all_info', 'msg_detailed_info', 'msg_new_detailed_info', 'msg_resend_req', 'rpc_result', 'rpc_error',
    'rpc_answer_unknown', 'rpc_answer_dropped_running', 'rpc_answer_dropped', 'future_salt', 'future_salts',
    'get_future_salts', 'pong', 'ping', 'ping_delay_disconnect', 'destroy_session', 'destroy_session_ok',
    'destroy_session_none', 'new_session_created', 'msg_container', 'message', 'msg_copy', 'gzip_packed',
    'http_wait', 'destroy_auth_key', 'destroy_auth_key_ok', 'destroy_auth_key_none', 'destroy_auth_key_fail',
  ];
  for (const n of want) assert.ok(codec.has(n), n);
  assert.equal(schema.byName.get('req_pq_multi')!.isFunction, true);
  assert.equal(schema.byName.get('resPQ')!.isFunction, false);
});

test('computed constructor ids match every explicit id in mtproto.tl (CRC32 of the normalized line)', () => {
  const lines = mtprotoSchemaText().split('\n').filter((l) => /^[\w.]+#[0-9a-f]+ /.test(l));
  assert.ok(lines.length > 40);
  for (const l of lines) {
    const id = parseInt(/#([0-9a-f]+)/.exec(l)![1]!, 16);
    if (l.startsWith('msg_container#')) continue; // its published id predates the %Message notation
    assert.equal(computeConstructorId(l.replace(/#[0-9a-f]+/, '')).toString(16), id.toString(16), l);
  }
  assert.equal(schema.byName.get('message')!.id, 0x5bb8e511);
  assert.equal(schema.byName.get('message')!.computedId, true);
});

test('crc32: native and portable agree', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => assert.equal(crc32(b), crc32Portable(b))));
  assert.equal(crc32('The quick brown fox jumps over the lazy dog'), 0x414fa339);
});

test('schema parser: flags, true flags, generics, nested vectors, comments, bare types', () => {
  const s = parseTlSchema(`
    // a comment line
    int ? = Int;
    vector {t:Type} # [ t ] = Vector t;
    boolFalse#bc799737 = Bool;
    point#11111111 x:int y:int = Point; // trailing comment
    thing#22222222 flags:# silent:flags.0?true title:flags.1?string pts:flags.2?Vector<int> flags2:# p:flags2.5?Point m:Vector<Vector<long>> raw:vector<%Point> bare:point = Thing;
    ---functions---
    invokeWithLayer#da9b0d0d {X:Type} layer:int query:!X = X;
    getThing n:int = Thing;
  `);
  const thing = s.byName.get('thing')!;
  assert.equal(thing.params.length, 9);
  assert.deepEqual(thing.params[1], { name: 'silent', type: { kind: 'primitive', name: 'true' }, flag: { field: 'flags', bit: 0 } });
  assert.equal(s.byName.get('invokeWithLayer')!.params.length, 2);
  assert.deepEqual(s.byName.get('invokeWithLayer')!.params[1]!.type, { kind: 'object' });
  assert.equal(s.byName.get('getThing')!.id, computeConstructorId('getThing n:int = Thing;'));
  assert.equal(s.byName.has('int'), false);
  assert.equal(s.byName.has('boolFalse'), true);
  // The classic published example: a true flag does not take part in the id.
  assert.equal(computeConstructorId('messages.sendMessage flags:# no_webpage:flags.1?true peer:InputPeer = Updates'),
    computeConstructorId('messages.sendMessage flags:# peer:InputPeer = Updates'));
  assert.throws(() => parseTlSchema('bad#1 a:flags.0?int = Bad;'), /not declared/);

  const c = new TlCodec(mergeSchemas(s, schema));
  const arb = tlArbitraries(c.schema);
  fc.assert(fc.property(arb.ctor(thing, 2), (obj) => {
    const bytes = c.encode(obj);
    const back = c.decode(bytes);
    assert.deepEqual(normalize(back), normalize({ silent: false, ...obj }));
  }), { numRuns: 200 });
  // flags are derived from the fields present
  const enc = c.encode({ _: 'thing', silent: true, pts: [1], m: [], raw: [], bare: { _: 'point', x: 1, y: 2 } });
  assert.equal(new DataView(enc.buffer, enc.byteOffset).getUint32(4, true), 0b101);
  // generic query: an unknown inner object in tail position stays raw
  const q = c.encode({ _: 'invokeWithLayer', layer: 170, query: rawObject(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)) });
  assert.deepEqual(c.decode(q), { _: 'invokeWithLayer', layer: 170, query: { _: 'raw', bytes: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) } });
});

test('round-trip of every mtproto.tl constructor with generated values', () => {
  const arb = tlArbitraries(schema);
  let checked = 0;
  for (const c of schema.constructors) {
    if (SPECIAL.has(c.name)) continue;
    fc.assert(fc.property(arb.ctor(c, 2), (obj) => {
      if (c.name === 'message') {
        // bare only: msg_container carries it
        const w = new TlWriter();
        codec.encodeBare(w, obj);
        const back = codec.decode(codec.encode({ _: 'msg_container', messages: [obj] }));
        assert.deepEqual(normalize(back), normalize({ _: 'msg_container', messages: [obj] }));
        return;
      }
      const bytes = codec.encode(obj);
      assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true), c.id);
      assert.equal(bytes.length % 4, 0);
      assert.deepEqual(normalize(codec.decode(bytes)), normalize(obj), c.name);
    }), { numRuns: 40 });
    checked++;
  }
  assert.ok(checked >= 50, `checked ${checked}`);
});

test('known byte layouts: req_pq_multi, resPQ cross-checked with gramjs, vectors p_q_inner_data_dc / client_DH_inner_data', () => {
  const nonce = new Uint8Array(16).map((_, i) => i + 1);
  assert.equal(toHex(codec.encode({ _: 'req_pq_multi', nonce })), 'f18e7ebe' + toHex(nonce));

  const require = createRequire(import.meta.url);
  const { Api } = require('telegram/tl/index.js') as { Api: Record<string, new (a: Record<string, unknown>) => { getBytes(): Buffer }> };
  const H = require('telegram/Helpers.js') as { readBigIntFromBuffer(b: Buffer, little: boolean, signed: boolean): unknown };
  const sn = new Uint8Array(16).fill(0xab);
  const fp = Buffer.from('85fd64de851d9dd0', 'hex');
  const gram = new Api['ResPQ']!({
    nonce: H.readBigIntFromBuffer(Buffer.from(nonce), true, true),
    serverNonce: H.readBigIntFromBuffer(Buffer.from(sn), true, true),
    pq: Buffer.from('17ed48941a08f981', 'hex'),
    serverPublicKeyFingerprints: [H.readBigIntFromBuffer(fp, true, true)],
  }).getBytes();
  const ours = codec.encode({
    _: 'resPQ', nonce, server_nonce: sn, pq: hex('17ed48941a08f981'),
    server_public_key_fingerprints: [fp.readBigInt64LE(0)],
  });
  assert.equal(toHex(ours), gram.toString('hex'));

  const S = V.mtproto_auth_key_sample;
  const pqInner = codec.decode(hex(S.pqInnerData));
  assert.equal(pqInner._, 'p_q_inner_data_dc');
  assert.equal(toHex(pqInner['nonce'] as Uint8Array), S.nonce);
  assert.equal(toHex(pqInner['new_nonce'] as Uint8Array), S.newNonce);
  assert.equal(BigInt('0x' + toHex(pqInner['pq'] as Uint8Array)), BigInt(S.pq!));
  assert.equal(BigInt('0x' + toHex(pqInner['p'] as Uint8Array)), BigInt(S.p!));
  assert.equal(pqInner['dc'], 2);
  assert.equal(toHex(codec.encode(pqInner)), S.pqInnerData);

  const cdh = codec.decode(hex(S.clientDhInnerData));
  assert.equal(cdh._, 'client_DH_inner_data');
  assert.equal(cdh['retry_id'], 0n);
  assert.equal(toHex(codec.encode(cdh)), S.clientDhInnerData);

  const answer = hex(S.answerWithHash);
  const { value, consumed } = codec.decodeFront(answer.subarray(20));
  assert.equal(value._, 'server_DH_inner_data');
  assert.equal(value['g'], 3);
  assert.equal(toHex(value['dh_prime'] as Uint8Array), S.dhPrime);
  assert.equal(consumed, 564);
  assert.equal(toHex(codec.encode(value)), toHex(answer.subarray(20, 20 + consumed)));
});

test('grammers vector: decrypted server packet is a msg_container with new_session_created and pong', () => {
  const plain = hex(V.mtproto2_grammers.decExpected);
  const len = new DataView(plain.buffer).getInt32(28, true);
  const body = codec.decode(plain.subarray(32, 32 + len));
  assert.equal(body._, 'msg_container');
  const msgs = body['messages'] as TlObject[];
  assert.deepEqual(msgs.map((m) => (m['body'] as TlObject)._), ['new_session_created', 'pong']);
  assert.equal(toHex(codec.encode(body)), toHex(plain.subarray(32, 32 + len)));
});

test('rpc_result: known results decode, unknown results stay raw and re-encode verbatim', () => {
  const pong = { _: 'pong', msg_id: 5n, ping_id: -7n };
  assert.deepEqual(codec.decode(codec.encode({ _: 'rpc_result', req_msg_id: 1n, result: pong })), { _: 'rpc_result', req_msg_id: 1n, result: pong });
  const unknown = Uint8Array.of(0x15, 0xc4, 0xb5, 0x1c, 0, 0, 0, 0); // an empty Vector
  const enc = codec.encode({ _: 'rpc_result', req_msg_id: 2n, result: rawObject(unknown) });
  const dec = codec.decode(enc);
  assert.deepEqual(dec, { _: 'rpc_result', req_msg_id: 2n, result: { _: 'raw', bytes: unknown } });
  assert.deepEqual(codec.encode(dec), enc);
  // container bodies with unknown constructors are raw too
  const body = Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4);
  const cont = codec.decode(codec.encode({ _: 'msg_container', messages: [{ _: 'message', msg_id: 9n, seqno: 1, body: rawObject(body) }] }));
  assert.deepEqual((cont['messages'] as TlObject[])[0], { _: 'message', msg_id: 9n, seqno: 1, bytes: 8, body: { _: 'raw', bytes: body } });
});

test('gzip_packed is inflated transparently; bombs and garbage are TlDecodeErrors', () => {
  const inner = codec.encode({ _: 'rpc_error', error_code: 420, error_message: 'FLOOD_WAIT_3' });
  const packed = codec.encode({ _: 'gzip_packed', packed_data: gzipSync(inner) });
  assert.deepEqual(codec.decode(packed), { _: 'rpc_error', error_code: 420, error_message: 'FLOOD_WAIT_3' });
  const inResult = codec.encode({ _: 'rpc_result', req_msg_id: 3n, result: rawObject(packed) });
  assert.deepEqual(codec.decode(inResult)['result'], { _: 'rpc_error', error_code: 420, error_message: 'FLOOD_WAIT_3' });

  const bomb = gzipSync(new Uint8Array(20 * 1024 * 1024));
  assert.ok(bomb.length < 100_000);
  assert.throws(() => codec.decode(codec.encode({ _: 'gzip_packed', packed_data: bomb })), (e) => e instanceof TlDecodeError && e.code === 'gzip-too-large');
  const small = new TlCodec(schema, { maxInflatedBytes: 1024 });
  assert.throws(() => small.decode(codec.encode({ _: 'gzip_packed', packed_data: gzipSync(new Uint8Array(2048)) })), (e) => e instanceof TlDecodeError && e.code === 'gzip-too-large');
  assert.throws(() => codec.decode(codec.encode({ _: 'gzip_packed', packed_data: Uint8Array.of(1, 2, 3) })), (e) => e instanceof TlDecodeError && e.code === 'gzip-invalid');
});

test('hostile input: unknown ids, bad lengths, absurd vectors, deep nesting, trailing bytes', () => {
  const code = (f: () => unknown) => { try { f(); } catch (e) { assert.ok(e instanceof TlDecodeError); return e.code; } return 'none'; };
  assert.equal(code(() => codec.decode(Uint8Array.of(1, 2, 3, 4))), 'unknown-constructor');
  assert.match(String((() => { try { codec.decode(Uint8Array.of(0xef, 0xbe, 0xad, 0xde)); } catch (e) { return e; } })()), /0xdeadbeef/);
  assert.equal(code(() => codec.decode(Uint8Array.of(1, 2))), 'truncated');
  assert.equal(code(() => codec.decode(new Uint8Array(0))), 'truncated');
  // msgs_ack with 2^31-1 claimed elements
  const w = new TlWriter(); w.uint32(0x62d6b459); w.uint32(0x1cb5c415); w.int32(0x7fffffff); w.int64(1n);
  assert.equal(code(() => codec.decode(w.finish())), 'vector-length');
  // rpc_error whose string claims 0xfffff bytes
  const w2 = new TlWriter(); w2.uint32(0x2144ca19); w2.int32(400); w2.raw(Uint8Array.of(254, 0xff, 0xff, 0x0f)); w2.raw(new Uint8Array(8));
  assert.equal(code(() => codec.decode(w2.finish())), 'bytes-length');
  // 100 nested rpc_results
  let nested: TlObject = { _: 'pong', msg_id: 1n, ping_id: 1n };
  for (let i = 0; i < 100; i++) nested = { _: 'rpc_result', req_msg_id: BigInt(i), result: nested };
  assert.equal(code(() => codec.decode(codec.encode(nested))), 'too-deep');
  // trailing bytes after a whole object
  const ping = codec.encode({ _: 'ping', ping_id: 1n });
  assert.equal(code(() => codec.decode(Uint8Array.from([...ping, 0, 0, 0, 0]))), 'trailing-bytes');
  assert.equal(codec.decodeFront(Uint8Array.from([...ping, 0, 0, 0, 0])).consumed, ping.length);
  // wrong type in a boxed slot: msg_copy expects a Message
  const w3 = new TlWriter(); w3.uint32(0xe06046b2); w3.raw(ping);
  assert.equal(code(() => codec.decode(w3.finish())), 'unexpected-constructor');
  // container message claiming more bytes than there are
  const w4 = new TlWriter(); w4.uint32(0x73f1f8dc); w4.int32(1); w4.int64(1n); w4.int32(1); w4.int32(1000); w4.raw(ping);
  assert.equal(code(() => codec.decode(w4.finish())), 'length-mismatch');
  // bad Bool: not in mtproto.tl, so use a tiny schema
  const b = new TlCodec(parseTlSchema('flag#01010101 v:Bool = Flag;'));
  assert.equal(code(() => b.decode(Uint8Array.of(1, 1, 1, 1, 9, 9, 9, 9))), 'bad-bool');
  assert.deepEqual(b.decode(b.encode({ _: 'flag', v: true })), { _: 'flag', v: true });
});

test('property: truncated, mutated and random input only ever throws TlDecodeError', () => {
  const arb = tlArbitraries(schema);
  const objects = fc.oneof(...schema.constructors.filter((c) => !SPECIAL.has(c.name) && c.name !== 'message').map((c) => arb.ctor(c, 2)));
  fc.assert(fc.property(objects, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (obj, cut, pos, flip) => {
    const bytes = codec.encode(obj);
    const truncated = bytes.subarray(0, cut % bytes.length);
    // rpc_result's tail Object owns the rest of the buffer, so a cut inside it is a shorter raw result.
    if (obj._ === 'rpc_result') onlyDecodeErrors(() => codec.decode(truncated));
    else assert.throws(() => codec.decode(truncated), isDecodeError);
    const mutated = Uint8Array.from(bytes);
    mutated[pos % mutated.length]! ^= flip;
    onlyDecodeErrors(() => codec.decode(mutated));
    onlyDecodeErrors(() => codec.decodeFront(mutated));
  }), { numRuns: 1500 });
  const knownIds = [...schema.byId.keys()];
  fc.assert(fc.property(fc.constantFrom(...knownIds), fc.uint8Array({ maxLength: 400 }), (id, tail) => {
    const w = new TlWriter(); w.uint32(id); w.raw(tail);
    onlyDecodeErrors(() => codec.decode(w.finish()));
  }), { numRuns: 2000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (junk) => onlyDecodeErrors(() => codec.decode(junk))), { numRuns: 1000 });
});

test('reader/writer primitives', () => {
  fc.assert(fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.double(), fc.uint8Array({ maxLength: 600 }), fc.string({ unit: 'grapheme' }),
    (i, l, d, b, s) => {
      const w = new TlWriter(4);
      w.int32(i); w.int64(l); w.double(d); w.bytes(b); w.string(s);
      const out = w.finish();
      assert.equal(out.length % 4, 0);
      const r = new TlReader(out);
      assert.equal(r.int32(), i); assert.equal(r.int64(), l); assert.equal(Object.is(r.double(), d), true);
      assert.deepEqual(r.bytes(), b); assert.equal(r.string(), s); assert.equal(r.remaining, 0);
    }));
  const w = new TlWriter(); w.int64((1n << 64n) - 1n); w.int32(0xffffffff);
  const r = new TlReader(w.finish());
  assert.equal(r.int64(), -1n);
  assert.equal(r.uint32(), 0xffffffff);
  assert.throws(() => new TlWriter().int32(2 ** 32), TlEncodeError);
  assert.throws(() => new TlWriter().int64(1n << 64n), TlEncodeError);
  assert.throws(() => codec.encode({ _: 'ping' }), TlEncodeError);
  assert.throws(() => codec.encode({ _: 'no_such_thing' }), TlEncodeError);
  assert.throws(() => codec.encode({ _: 'ping', ping_id: 1 }), TlEncodeError);
});

/** TL `string` as the TL docs define it: UTF-8 bytes with a 1- or 4-byte length, zero-padded to 4. */
function referenceTlString(s: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  const n = bytes.length;
  const head = n <= 253 ? [n] : [254, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff];
  const pad = (4 - ((head.length + n) % 4)) % 4;
  return new Uint8Array([...head, ...bytes, ...new Array<number>(pad).fill(0)]);
}

test('writer strings (written straight into its buffer): the TL layout of their UTF-8, at every length boundary, lone surrogates as U+FFFD', () => {
  const cases = ['', 'a', 'ab', 'abc', 'abcd', 'é', '€', '𝄞', '\ud800', 'x\udc00y', 'a'.repeat(252), 'a'.repeat(253), 'a'.repeat(254), '€'.repeat(84), '€'.repeat(85), 'b'.repeat(70_000)];
  for (const s of cases) {
    const w = new TlWriter(16);
    w.int32(7);
    w.string(s);
    w.int32(9);
    assert.deepEqual(w.finish(), new Uint8Array([7, 0, 0, 0, ...referenceTlString(s), 9, 0, 0, 0]), `length ${s.length}`);
  }
  fc.assert(fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 6 }), (strings) => {
    const w = new TlWriter(16);
    for (const s of strings) w.string(s);
    const expected = strings.flatMap((s) => [...referenceTlString(s)]);
    assert.deepEqual([...w.finish()], expected);
    // A reused writer (the codec's scratch) starts clean; copy() is exact and detached.
    const copy = w.copy();
    w.reset();
    w.string('zz');
    assert.deepEqual([...copy], expected);
    assert.deepEqual([...w.finish()], [...referenceTlString('zz')]);
  }), { numRuns: 300 });
});
