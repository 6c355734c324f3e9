import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectAndAuth } from './spec-client.ts';
import { metricValue, pinned, startServer } from './harness.ts';

test('spec client: full handshake and ping over intermediate and padded intermediate, both RSA schemes, all inner-data variants', async () => {
  const srv = await startServer();
  try {
    const cases = [
      { framing: 'intermediate', scheme: 'rsa_pad', inner: 'p_q_inner_data_dc' },
      { framing: 'padded', scheme: 'rsa_pad', inner: 'p_q_inner_data' },
      { framing: 'intermediate', scheme: 'rsa_legacy', inner: 'p_q_inner_data_temp' },
      { framing: 'abridged', scheme: 'rsa_legacy', inner: 'p_q_inner_data_temp_dc' },
    ] as const;
    for (const c of cases) {
      const s = await connectAndAuth(srv.port, pinned(srv.rsaKey), c.framing, { scheme: c.scheme, inner: c.inner });
      try {
        assert.ok(await srv.keyStore.get(s.auth.authKeyId), `${c.framing}: key stored`);
        assert.equal(await s.ping(), true, `${c.framing}/${c.scheme}/${c.inner}: pong`);
      } finally {
        s.conn.close();
      }
    }
    assert.equal(await metricValue(srv.registry, 'switchboard_mtproto_handshakes_ok_total'), 4);
    assert.equal(await metricValue(srv.registry, 'switchboard_mtproto_handshakes_ok_total', { scheme: 'rsa_legacy' }), 2);
  } finally {
    await srv.stop();
  }
});
