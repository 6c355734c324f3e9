import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SpecConnection, SpecSession } from './spec-client.ts';
import { readySession, startServer, type Running } from './harness.ts';

let srv: Running;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); });

test('destroy_auth_key on one connection: the key stops working on the others (-404)', async () => {
  const a = await readySession(srv);
  const b = new SpecSession(await SpecConnection.connect(srv.port, 'intermediate'), a.auth);
  try {
    assert.equal(await b.ping(), true, 'second connection uses the same key');
    a.send({ _: 'destroy_auth_key' });
    const r = await a.until((m) => m.obj._ === 'rpc_result' && (m.obj['result'] as { _: string })._ === 'destroy_auth_key_ok');
    assert.ok(r.found, 'destroy_auth_key_ok');
    b.send({ _: 'ping', ping_id: 7n });
    assert.deepEqual(await b.conn.next(2000), { kind: 'error', code: -404 });
    assert.equal(await b.conn.waitClosed(), true);
  } finally {
    a.conn.close();
    b.conn.close();
  }
});
