import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { clientMsgId, connectAndAuth, containerBody, SpecConnection, SpecSession, specHandshake, HandshakeRejected, codec, type HandshakeTamper } from './spec-client.ts';
import { isBadMsg, metricValue, pinned, readySession, startServer, type Running } from './harness.ts';

let srv: Running;
before(async () => { srv = await startServer({ handshakeTimeoutMs: 2000 }); });
after(async () => { await srv.stop(); });

/** After any abuse the same server must still serve a brand-new client. */
async function assertHealthy(): Promise<void> {
  const s = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
  try {
    assert.equal(await s.ping(), true, 'fresh client gets pong');
  } finally {
    s.conn.close();
  }
}

const session = (): Promise<SpecSession> => readySession(srv);


test('tampered msg_key: connection closed without an answer', async () => {
  const s = await session();
  s.send({ _: 'ping', ping_id: 1n }, true, { tamperMsgKey: true });
  const r = await s.until(() => true, 2000);
  assert.equal(r.found, undefined);
  assert.equal(r.end, 'closed');
  await assertHealthy();
});

test('unknown auth_key_id: transport error -404', async () => {
  const s = await session();
  s.auth.authKeyId.set(randomBytes(8));
  s.send({ _: 'ping', ping_id: 2n });
  const f = await s.conn.next(2000);
  assert.deepEqual(f, { kind: 'error', code: -404 });
  assert.equal(await s.conn.waitClosed(), true);
  await assertHealthy();
});

test('replayed msg_id is ignored (no second answer), the session goes on', async () => {
  const s = await session();
  try {
    const { payload, msgId } = s.build(codec.encode({ _: 'ping', ping_id: 77n }));
    s.conn.send(payload);
    const first = await s.until((m) => m.obj._ === 'pong' && m.obj['msg_id'] === msgId);
    assert.ok(first.found);
    s.conn.send(payload);
    const again = await s.until((m) => m.obj._ === 'pong' && m.obj['msg_id'] === msgId, 700);
    assert.equal(again.found, undefined, 'no pong for the replay');
    assert.equal(await s.ping(), true);
  } finally {
    s.conn.close();
  }
});

test('msg_id too old (16), too new (17), not divisible by 4 (18)', async () => {
  const s = await session();
  try {
    const now = BigInt(Math.floor(Date.now() / 1000));
    const cases: Array<[bigint, number]> = [[(now - 400n) << 32n, 16], [(now + 90n) << 32n, 17], [(now << 32n) | 1n, 18]];
    for (const [msgId, code] of cases) {
      s.send({ _: 'ping', ping_id: 5n }, true, { msgId });
      const r = await s.until(isBadMsg(code, msgId));
      assert.ok(r.found, `code ${code}`);
    }
    assert.equal(await s.ping(), true);
  } finally {
    s.conn.close();
  }
});

test('seq_no parity: even for a content-related message (35), odd for a container (34); msgs_ack either way (mtcute numbers it odd)', async () => {
  const s = await session();
  try {
    const a = s.send({ _: 'ping', ping_id: 9n }, true, { seqNo: 100 });
    assert.ok((await s.until(isBadMsg(35, a))).found);
    const b = s.send({ _: 'msgs_ack', msg_ids: [1n] }, false, { seqNo: 101 });
    const odd = s.build(containerBody([{ msgId: clientMsgId(), seqNo: 103, body: codec.encode({ _: 'ping', ping_id: 11n }) }]), false, { seqNo: 103 });
    s.conn.send(odd.payload);
    const r = await s.until(isBadMsg(34, odd.msgId));
    assert.ok(r.found, 'the odd container is refused (34)');
    assert.ok(!r.seen.some((m) => m.obj._ === 'bad_msg_notification' && m.obj['bad_msg_id'] === b), 'the odd msgs_ack is taken');
    // ...and counted: the session's seqno is now 101 (a ping numbered below it would be 32).
    s.send({ _: 'ping', ping_id: 12n }, true, { seqNo: 105 });
    assert.ok((await s.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 12n)).found);
  } finally {
    s.conn.close();
  }
});

test('wrong salt answers bad_server_salt with the valid salt, which then works', async () => {
  const s = await session();
  try {
    const id = s.send({ _: 'ping', ping_id: 3n }, true, { salt: 12345n });
    const r = await s.until((m) => m.obj._ === 'bad_server_salt' && m.obj['bad_msg_id'] === id);
    assert.ok(r.found);
    assert.equal(r.found.obj['error_code'], 48);
    assert.equal(await s.ping(), true);
  } finally {
    s.conn.close();
  }
});

test('bad padding and inconsistent length: clean close', async () => {
  for (const o of [{ paddingBytes: 4 }, { paddingBytes: 1040 }, { lengthField: 4096 }, { lengthField: 6 }]) {
    const s = await session();
    s.send({ _: 'ping', ping_id: 4n }, true, o);
    const r = await s.until(() => true, 2000);
    assert.equal(r.found, undefined, JSON.stringify(o));
    assert.equal(r.end, 'closed', JSON.stringify(o));
  }
  await assertHealthy();
});

test('service messages: get_future_salts, msgs_state_req, destroy_session, unknown method -> rpc_error', async () => {
  const s = await session();
  try {
    const fs = s.send({ _: 'get_future_salts', num: 3 });
    const salts = await s.until((m) => m.obj._ === 'future_salts' && m.obj['req_msg_id'] === fs);
    assert.equal((salts.found?.obj['salts'] as unknown[]).length, 3);
    const st = s.send({ _: 'msgs_state_req', msg_ids: [fs, 4n] });
    const info = await s.until((m) => m.obj._ === 'msgs_state_info' && m.obj['req_msg_id'] === st);
    const bytes = info.found?.obj['info'] as Uint8Array;
    assert.equal(bytes[0]! & 4, 4, 'known message: received');
    assert.equal(bytes[1], 1, 'ancient id: unknown');
    const ds = s.send({ _: 'destroy_session', session_id: 999n });
    const dr = await s.until((m) => m.obj._ === 'rpc_result' && m.obj['req_msg_id'] === ds);
    assert.equal((dr.found?.obj['result'] as { _: string })._, 'destroy_session_none');
    const { payload, msgId } = s.build(Uint8Array.from([0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0]));
    s.conn.send(payload);
    const rr = await s.until((m) => m.obj._ === 'rpc_result' && m.obj['req_msg_id'] === msgId);
    const err = rr.found?.obj['result'] as { _: string; error_code: number };
    assert.equal(err._, 'rpc_error');
    assert.equal(err.error_code, 400);
  } finally {
    s.conn.close();
  }
});

test('truncated frames and garbage: close or -404, never a crash', async () => {
  const inputs: Uint8Array[] = [
    Uint8Array.of(0xee, 0xee, 0xee, 0xee, 0x10, 0, 0, 0, 1, 2, 3),
    Uint8Array.of(0xee, 0xee, 0xee, 0xee, 0xff, 0xff, 0xff, 0x7f),
    new Uint8Array(randomBytes(300)),
    Uint8Array.of(0xef, 0x02, 0, 0, 0, 0, 0, 0, 0, 0),
    Uint8Array.of(0xef, 0x05, ...randomBytes(20)),
  ];
  for (const bytes of inputs) {
    const c = await SpecConnection.connect(srv.port, 'intermediate');
    // Replace the framing tag the helper sent: write raw bytes on a fresh socket instead.
    c.close();
    const raw = await SpecConnection.connect(srv.port, 'abridged');
    raw.writeRaw(bytes);
    raw.socket.end();
    await raw.waitClosed(3000);
    raw.close();
  }
  await assertHealthy();
});

test('bad handshake inputs all get the same answer: -404 then close', async () => {
  const tampers: HandshakeTamper[] = [
    { nonce: true }, { serverNonce: true }, { fingerprint: true }, { pq: true },
    { gB: 'one' }, { gB: 'p-minus-1' }, { gB: 'small' }, { dhHash: true },
  ];
  for (const tamper of tampers) {
    const c = await SpecConnection.connect(srv.port, 'intermediate');
    try {
      await assert.rejects(specHandshake(c, pinned(srv.rsaKey), { tamper }), (err: unknown) => {
        assert.ok(err instanceof HandshakeRejected, JSON.stringify(tamper));
        assert.deepEqual(err.frame, { kind: 'error', code: -404 }, JSON.stringify(tamper));
        return true;
      });
      assert.equal(await c.waitClosed(), true);
    } finally {
      c.close();
    }
  }
  const failed = await metricValue(srv.registry, 'switchboard_mtproto_handshakes_failed_total');
  assert.ok(failed >= tampers.length);
  await assertHealthy();
});

test('property: random byte streams into a live connection never crash the server', async () => {
  await fc.assert(fc.asyncProperty(
    fc.constantFrom<'abridged' | 'intermediate' | 'padded'>('abridged', 'intermediate', 'padded'),
    fc.array(fc.uint8Array({ minLength: 0, maxLength: 600 }), { minLength: 1, maxLength: 5 }),
    async (framing, chunks) => {
      const c = await SpecConnection.connect(srv.port, framing);
      for (const ch of chunks) c.writeRaw(ch);
      await new Promise((r) => setTimeout(r, 20));
      c.close();
    },
  ), { numRuns: 60 });
  await assertHealthy();
});
