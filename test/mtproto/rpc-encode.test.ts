import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readySession, startServer, type Running } from './harness.ts';

let srv: Running;
before(async () => { srv = await startServer({ rpc: async () => ({ _: 'no_such_ctor' }) }); });
after(async () => { await srv.stop(); });

test('an RPC result the codec cannot encode: rpc_error 500 INTERNAL, the session still answers ping', async () => {
  const s = await readySession(srv);
  try {
    const id = s.send({ _: 'rpc_answer_unknown' });
    const r = await s.until((m) => m.obj._ === 'rpc_result' && m.obj['req_msg_id'] === id);
    assert.ok(r.found, `rpc_result for the call (end: ${JSON.stringify(r.end)})`);
    assert.deepEqual(r.found.obj['result'], { _: 'rpc_error', error_code: 500, error_message: 'INTERNAL' });
    assert.equal(s.conn.closed, false);
    assert.equal(await s.ping(), true);
  } finally {
    s.conn.close();
  }
});
