import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codec, connectAndAuth } from './spec-client.ts';
import { pinned, startServer } from './harness.ts';
import { decryptPayload, quickAckToken } from '../../src/connectors/mtproto/crypto/mtproto2.ts';

test('quick ack: a frame that asks for one gets the token of its msg_key_large first, then its answer (abridged, intermediate, padded)', async () => {
  const srv = await startServer();
  try {
    for (const framing of ['abridged', 'intermediate', 'padded'] as const) {
      const s = await connectAndAuth(srv.port, pinned(srv.rsaKey), framing);
      try {
        assert.equal(await s.ping(), true, `${framing}: session up`);
        const pingId = 0x1234n;
        const { payload } = s.build(codec.encode({ _: 'ping', ping_id: pingId }), true);
        const plain = decryptPayload(s.auth.authKey, payload.subarray(8, 24), payload.subarray(24), 0);
        assert.ok(plain, 'own frame decrypts');
        const expected = quickAckToken(s.auth.authKey, plain);
        s.conn.send(payload, true);
        const first = await s.conn.next();
        assert.deepEqual(first, { kind: 'quickack', token: expected }, `${framing}: quick ack first`);
        const answer = await s.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === pingId);
        assert.ok(answer.found, `${framing}: then the pong`);

        // No quick ack is promised for a frame that does not ask for one.
        s.send({ _: 'ping', ping_id: 7n });
        const next = await s.conn.next();
        assert.equal(typeof next === 'object' && next.kind, 'payload', `${framing}: no quick ack unasked`);
      } finally {
        s.conn.close();
      }
    }
  } finally {
    await srv.stop();
  }
});

test('quick ack: a tampered frame that asks for one gets no ack, only the close', async () => {
  const srv = await startServer();
  try {
    const s = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
    try {
      const { payload } = s.build(codec.encode({ _: 'ping', ping_id: 1n }), true, { tamperMsgKey: true });
      s.conn.send(payload, true);
      assert.equal(await s.conn.next(), 'closed');
    } finally {
      s.conn.close();
    }
  } finally {
    await srv.stop();
  }
});
