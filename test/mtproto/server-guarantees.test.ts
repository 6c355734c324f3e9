/**
 * Guarantees docs/mtproto.md and the server code promise that no other test checks: the frame
 * flood limit, maxPendingHandshakes, ping_delay_disconnect, server msg_id parity and order, the
 * WebSocket upgrade's 404/400, and the salt schedule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { codec, concat, connectAndAuth, SpecConnection, specHandshake, HandshakeRejected, type Frame } from './spec-client.ts';
import { listenForUpgrades, pinned, readySession, startServer } from './harness.ts';
import { decryptPayload } from '../../src/connectors/mtproto/crypto/mtproto2.ts';
import { SaltSchedule } from '../../src/connectors/mtproto/session/salts.ts';

test('flood: more frames than the burst get transport error -429 and a close; a fresh client is still served', async () => {
  const srv = await startServer({ framesPerSecond: 5, frameBurst: 5 });
  try {
    // Handshake (3 frames) + one ping: 4 of the burst of 5.
    const s = await readySession(srv);
    // 30 pings in one write: the bucket runs dry long before they are all read.
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 30; i++) frames.push(s.conn.frame(s.build(codec.encode({ _: 'ping', ping_id: BigInt(i + 1) }), true).payload));
    s.conn.writeRaw(concat(...frames));
    let error: Frame | undefined;
    for (;;) {
      const f = await s.conn.next(5000);
      assert.notEqual(f, 'timeout', 'the flood is answered (error + close), not ignored');
      if (f === 'closed' || f === 'timeout') break;
      if (f.kind === 'error') error = f;
    }
    assert.deepEqual(error, { kind: 'error', code: -429 }, 'transport error -429 before the close');
    assert.equal(s.conn.closed, true);

    const fresh = await readySession(srv);
    assert.equal(await fresh.ping(), true, 'a fresh client is served');
    fresh.conn.close();
  } finally {
    await srv.stop();
  }
});

test('maxPendingHandshakes: 1 → a second concurrent handshake gets -404 + close; the first still completes', async () => {
  const srv = await startServer({ maxPendingHandshakes: 1 });
  try {
    // Connection A: let req_pq_multi through, hold every later frame until B was refused.
    const a = await SpecConnection.connect(srv.port, 'intermediate');
    const origSend = a.send.bind(a);
    let sends = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let markPending!: () => void;
    const aPending = new Promise<void>((r) => { markPending = r; });
    a.send = (payload: Uint8Array, quickAck = false): void => {
      if (++sends === 1) { origSend(payload, quickAck); return; }
      // The client only sends req_DH_params after it received resPQ: A's handshake is pending.
      markPending();
      void gate.then(() => origSend(payload, quickAck));
    };
    const aDone = specHandshake(a, pinned(srv.rsaKey));
    await aPending;

    const b = await SpecConnection.connect(srv.port, 'intermediate');
    await assert.rejects(specHandshake(b, pinned(srv.rsaKey)), (err: unknown) => {
      assert.ok(err instanceof HandshakeRejected);
      assert.deepEqual(err.frame, { kind: 'error', code: -404 });
      return true;
    });
    assert.equal(await b.waitClosed(3000), true, 'refused handshake connection is closed');

    release();
    const auth = await aDone;
    assert.equal(auth.authKey.length, 256, 'the first handshake completes');

    // Its slot is free again: a new handshake is admitted.
    const c = await connectAndAuth(srv.port, pinned(srv.rsaKey));
    c.conn.close();
    a.close();
  } finally {
    await srv.stop();
  }
});

test('ping_delay_disconnect: pong, then the server closes ~disconnect_delay later unless re-armed', async () => {
  const srv = await startServer();
  try {
    // Two sessions armed with 1 s, `rearmed` first; then `rearmed` is re-armed with 10 s. When the
    // other one is closed by its timer, the first 1 s timer of `rearmed` is due too (it was armed
    // earlier): `rearmed` still being open then shows the re-arm replaced it. No guessed sleep.
    const rearmed = await readySession(srv);
    const once = await readySession(srv);
    rearmed.send({ _: 'ping_delay_disconnect', ping_id: 11n, disconnect_delay: 1 });
    assert.ok((await rearmed.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 11n)).found, 'pong for the first');
    const t0 = Date.now();
    once.send({ _: 'ping_delay_disconnect', ping_id: 42n, disconnect_delay: 1 });
    assert.ok((await once.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 42n)).found, 'pong');
    rearmed.send({ _: 'ping_delay_disconnect', ping_id: 12n, disconnect_delay: 10 });
    assert.ok((await rearmed.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 12n)).found, 'pong for the re-arm');

    // Not re-armed: closed about 1 s later.
    assert.equal(await once.conn.waitClosed(5000), true, 'closed by the server');
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 800 && elapsed < 5000, `closed after ${elapsed} ms`);

    assert.equal(rearmed.conn.closed, false, 're-armed timer replaced the 1 s one');
    assert.equal(await rearmed.ping(), true, 'still served');
    rearmed.conn.close();
  } finally {
    await srv.stop();
  }
});

test('server msg_ids: 1 mod 4 for responses, 3 mod 4 otherwise, strictly increasing in send order', async () => {
  const srv = await startServer();
  try {
    const s = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
    const RESPONSES = new Set(['pong', 'rpc_result', 'future_salts', 'msgs_state_info', 'bad_msg_notification']);
    const NOT_RESPONSES = new Set(['new_session_created', 'msg_container']);
    const ids: Array<{ msgId: bigint; type: string }> = [];
    const seen = new Set<string>();

    /** One frame: ids of the messages inside a container (in order), then the container's own. */
    const readFrame = async (): Promise<void> => {
      const f = await s.conn.next(3000);
      assert.ok(typeof f === 'object' && f.kind === 'payload', `expected a payload, got ${JSON.stringify(f)}`);
      const plain = decryptPayload(s.auth.authKey, f.data.subarray(8, 24), f.data.subarray(24), 8);
      assert.ok(plain, 'server frame decrypts');
      const b = Buffer.from(plain);
      const topId = b.readBigInt64LE(16);
      const body = b.subarray(32, 32 + b.readInt32LE(28));
      const typeOf = (x: Buffer): string => {
        const ctor = x.readUInt32LE(0);
        if (ctor === 0xf35c6d01) return 'rpc_result';
        if (ctor === 0x73f1f8dc) return 'msg_container';
        return codec.decode(new Uint8Array(x))._;
      };
      if (body.readUInt32LE(0) === 0x73f1f8dc) {
        const n = body.readInt32LE(4);
        let o = 8;
        for (let i = 0; i < n; i++) {
          const len = body.readInt32LE(o + 12);
          const inner = body.subarray(o + 16, o + 16 + len);
          const type = typeOf(inner);
          if (type === 'new_session_created') s.salt = codec.decode(new Uint8Array(inner))['server_salt'] as bigint;
          ids.push({ msgId: body.readBigInt64LE(o), type });
          o += 16 + len;
        }
      }
      const type = typeOf(body);
      if (type === 'new_session_created') s.salt = codec.decode(new Uint8Array(body))['server_salt'] as bigint;
      ids.push({ msgId: topId, type });
    };

    // new_session_created + pong (+ ack) in the first frame.
    s.send({ _: 'ping', ping_id: 1n });
    await readFrame();
    s.send({ _: 'get_future_salts', num: 2 });
    await readFrame();
    s.send({ _: 'msgs_state_req', msg_ids: [1n << 40n] });
    await readFrame();
    s.send({ _: 'ping_delay_disconnect', ping_id: 2n, disconnect_delay: 60 });
    await readFrame();
    // A non-service call: rpc_result (rpc_error INPUT_METHOD_INVALID from the default handler).
    s.conn.send(s.build(Uint8Array.of(0x78, 0x56, 0x34, 0x12), true).payload);
    await readFrame();
    // A content message with an even seqno: bad_msg_notification 34.
    s.send({ _: 'ping', ping_id: 3n }, true, { seqNo: 1000 });
    await readFrame();
    s.conn.close();

    for (const { type } of ids) seen.add(type);
    for (const want of ['new_session_created', 'pong', 'future_salts', 'msgs_state_info', 'rpc_result', 'bad_msg_notification']) {
      assert.ok(seen.has(want), `saw ${want} (got ${[...seen].join(', ')})`);
    }
    let last = 0n;
    for (const { msgId, type } of ids) {
      const tail = msgId & 3n;
      assert.ok(tail === 1n || tail === 3n, `${type} msg_id ${msgId} is odd`);
      if (RESPONSES.has(type)) assert.equal(tail, 1n, `${type} is a response: 1 mod 4`);
      if (NOT_RESPONSES.has(type)) assert.equal(tail, 3n, `${type} is not a response: 3 mod 4`);
      assert.ok(msgId > last, `${type} msg_id ${msgId} > previous ${last}`);
      last = msgId;
    }
    // Ids track real time (unixtime in the high 32 bits).
    assert.ok(Math.abs(Number(last >> 32n) - Date.now() / 1000) < 30);
  } finally {
    await srv.stop();
  }
});

test('WebSocket upgrade: wrong path 404, no "binary" subprotocol 400, /apiws + binary opens', async () => {
  const srv = await startServer();
  const addr = await listenForUpgrades(srv);
  const outcome = (path: string, protocols?: string[]): Promise<number | 'open'> => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${addr.port}${path}`, protocols);
    ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    ws.on('open', () => { resolve('open'); ws.close(); });
    ws.on('error', (err) => reject(err));
  });
  try {
    assert.equal(await outcome('/other', ['binary']), 404);
    assert.equal(await outcome('/', ['binary']), 404);
    assert.equal(await outcome('/apiws'), 400);
    assert.equal(await outcome('/apiws', ['text']), 400);
    assert.equal(await outcome('/apiws', ['binary']), 'open');
  } finally {
    await addr.close();
    await srv.stop();
  }
});

test('salts: current valid, previous valid only during the grace, same secret agrees, different secrets differ', () => {
  const key = '0123456789abcdef';
  const secret = new Uint8Array(32).fill(7);
  let nowMs = 0;
  const clock = (): number => nowMs;
  const a = new SaltSchedule({ secret, now: clock });
  const b = new SaltSchedule({ secret: new Uint8Array(secret), now: clock });
  const other = new SaltSchedule({ secret: new Uint8Array(32).fill(8), now: clock });
  assert.equal(a.periodS, 3600);
  assert.equal(a.graceS, 1800);

  const hour = 500_000;
  const start = hour * 3600 * 1000;
  nowMs = start + 10_000;
  const current = a.current(key);
  const previous = a.saltFor(key, hour - 1);
  assert.notEqual(current, previous);
  assert.equal(a.isValid(key, current), true, 'current salt valid');
  assert.equal(a.isValid(key, previous), true, 'previous hour valid at the start of the grace');
  assert.equal(a.isValid(key, a.saltFor(key, hour + 1)), false, 'next hour not yet valid');
  assert.equal(a.isValid(key, a.saltFor(key, hour - 2)), false, 'two hours back never valid');

  nowMs = start + 1799_000;
  assert.equal(a.isValid(key, previous), true, 'previous hour valid just before the grace ends');
  nowMs = start + 1801_000;
  assert.equal(a.isValid(key, previous), false, 'previous hour invalid after the grace');
  assert.equal(a.isValid(key, current), true, 'current salt still valid');
  assert.equal(a.current(key), current, 'same window, same salt');

  nowMs = start + 3600_000 + 5_000;
  assert.notEqual(a.current(key), current, 'a new hour, a new salt');
  assert.equal(a.isValid(key, current), true, 'the old current is now the previous, in its grace');

  // Same secret: the same salts; different secret or key: different salts.
  assert.equal(b.current(key), a.current(key));
  assert.equal(b.isValid(key, a.current(key)), true);
  assert.deepEqual(b.future(key, 3), a.future(key, 3));
  assert.notEqual(other.current(key), a.current(key));
  assert.equal(other.isValid(key, a.current(key)), false, 'another secret does not accept it');
  assert.notEqual(a.current('fedcba9876543210'), a.current(key), 'salts are per auth key');
});
