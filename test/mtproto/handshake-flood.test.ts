// One remote address may start only so many auth keys (the RSA step is the server's most
// expensive work, and every handshake stores a key): past its budget, req_DH_params gets -429 and
// the connection closes, while other addresses go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricValue, pinned, startServer } from './harness.ts';
import { HandshakeRejected, SpecConnection, specHandshake } from './spec-client.ts';

test('past its handshake budget an address gets -429 at req_DH_params; another address still makes keys', async () => {
  const srv = await startServer({ handshakesPerMinute: 1, handshakeBurst: 2 });
  const key = pinned(srv.rsaKey);
  const open: SpecConnection[] = [];
  const connect = async (from?: string) => {
    const conn = await SpecConnection.connect(srv.port, 'intermediate', '127.0.0.1', from);
    open.push(conn);
    return conn;
  };
  try {
    for (let i = 0; i < 2; i++) {
      const auth = await specHandshake(await connect(), key);
      assert.equal(auth.authKey.length, 256);
    }
    const third = await connect();
    await assert.rejects(specHandshake(third, key), (err: unknown) => {
      assert.ok(err instanceof HandshakeRejected);
      assert.deepEqual(err.frame, { kind: 'error', code: -429 });
      return true;
    });
    assert.equal(await third.next(2000), 'closed', 'the connection is closed');
    assert.equal(await metricValue(srv.registry, 'switchboard_mtproto_handshakes_failed_total', { reason: 'flood' }), 1);
    // Another peer (127.0.0.2 is loopback too) has a budget of its own.
    const other = await specHandshake(await connect('127.0.0.2'), key);
    assert.equal(other.authKey.length, 256);
  } finally {
    for (const c of open) c.close();
    await srv.stop();
  }
});
