import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gramAuthenticate, gramSender, ping, pinServerKey, type GramPong, type GramTransport } from './gramjs-client.ts';
import { metricValue, startServer, testRsaKey } from './harness.ts';

pinServerKey(testRsaKey());

async function roundTrip(kind: GramTransport, port: number): Promise<void> {
  const { authKey, timeOffset } = await gramAuthenticate(kind, port);
  assert.ok(authKey.getKey(), `${kind}: gramjs holds an auth key`);
  const sender = await gramSender(kind, port, authKey, timeOffset);
  try {
    // gramjs' first encrypted message carries salt 0: it only works if we answer bad_server_salt.
    const pong = (await sender.send(ping(4242))) as GramPong;
    assert.equal(pong.className, 'Pong');
    assert.equal(pong.pingId.toString(), '4242');
    // Sent in one tick, gramjs' MessagePacker packs these into one msg_container.
    const ids = [11, 22, 33, 44];
    const pongs = (await Promise.all(ids.map((id) => sender.send(ping(id))))) as GramPong[];
    assert.deepEqual(pongs.map((p) => p.pingId.toString()), ids.map(String));
  } finally {
    await sender.disconnect();
  }
}

for (const kind of ['abridged', 'full'] as const) {
  test(`gramjs creates an auth key and pings over ${kind}`, async () => {
    const srv = await startServer();
    try {
      await roundTrip(kind, srv.port);
      assert.ok((await metricValue(srv.registry, 'switchboard_mtproto_handshakes_ok_total')) >= 1);
      assert.ok((await metricValue(srv.registry, 'switchboard_mtproto_bad_msg_total', { code: '48' })) >= 1, 'bad_server_salt was sent');
      assert.ok((await metricValue(srv.registry, 'switchboard_mtproto_messages_in_total', { type: 'container' })) >= 1, 'a container came in');
    } finally {
      await srv.stop();
    }
  });
}
