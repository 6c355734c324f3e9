// A msg_key that failed its check is never decrypted again (session/failed-msg-keys.ts): the
// server cannot be made to decrypt many chosen ciphertexts under one captured message's AES key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FailedMsgKeys } from '../../src/connectors/mtproto/session/failed-msg-keys.ts';
import { codec, SpecConnection } from './spec-client.ts';
import { metricValue, readySession, startServer } from './harness.ts';

test('a captured msg_key with altered ciphertext: decrypted once (mismatch), then refused undecrypted on every later connection; the client goes on', async () => {
  const srv = await startServer();
  try {
    const client = await readySession(srv);
    const { payload } = client.build(codec.encode({ _: 'ping', ping_id: 5n }));
    client.conn.send(payload);
    assert.ok((await client.until((m) => m.obj._ === 'pong')).found, 'the legitimate frame');

    // The attacker keeps auth_key_id and msg_key (24 bytes) and changes the ciphertext.
    const forged = (): Uint8Array => {
      const f = new Uint8Array(payload);
      f.set(randomBytes(16), 24);
      return f;
    };
    for (let i = 0; i < 3; i++) {
      const conn = await SpecConnection.connect(srv.port, 'intermediate');
      conn.send(forged());
      assert.equal(await conn.waitClosed(), true, 'closed without an answer');
    }
    assert.equal(await metricValue(srv.registry, 'switchboard_mtproto_dropped_total', { reason: 'msg-key-mismatch' }), 1, 'decrypted once');
    assert.equal(await metricValue(srv.registry, 'switchboard_mtproto_dropped_total', { reason: 'repeated-failed-msg-key' }), 2, 'then refused before decryption');
    assert.equal(await client.ping(), true, 'the legitimate client is not affected');
  } finally {
    await srv.stop();
  }
});

test('FailedMsgKeys: per auth key, bounded (oldest forgotten first)', () => {
  const f = new FailedMsgKeys(3);
  const keys = Array.from({ length: 4 }, () => new Uint8Array(randomBytes(16)));
  f.add('aa', keys[0]!);
  assert.equal(f.has('aa', keys[0]!), true);
  assert.equal(f.has('ab', keys[0]!), false, 'another auth key is another AES key');
  for (const k of keys.slice(1)) f.add('aa', k);
  assert.equal(f.size, 3);
  assert.equal(f.has('aa', keys[0]!), false, 'the oldest was forgotten');
  assert.equal(f.has('aa', keys[3]!), true);
});
