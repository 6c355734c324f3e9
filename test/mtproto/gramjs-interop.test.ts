import { test } from 'node:test';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/redis.ts';
import { redisStateStore } from '../../src/bus/redis/services.ts';
import { KeyRing, parseKek, generateKek } from '../../src/connectors/mtproto/store/key-ring.ts';
import assert from 'node:assert/strict';
import { gramAuthenticate, gramSender, newAuthKey, ping, pinServerKey, type GramPong, type GramTransport } from './gramjs-client.ts';
import { listenForUpgrades, metricValue, startServer, stateKeyStore, testRsaKey } from './harness.ts';

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

for (const kind of ['abridged', 'full', 'obfuscated'] as const) {
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

test('gramjs over WebSocket: obfuscated abridged at ws://127.0.0.1:port/apiws, subprotocol binary', async () => {
  const srv = await startServer();
  // The app's HTTP server owns the port and hands /apiws upgrades to the MTProto server.
  const addr = await listenForUpgrades(srv);
  try {
    await roundTrip('websocket', addr.port);
    assert.ok((await metricValue(srv.registry, 'switchboard_mtproto_connections_total', { transport: 'websocket' })) >= 2);
    assert.equal(await metricValue(srv.registry, 'switchboard_mtproto_connections_total', { transport: 'tcp' }), 0);
  } finally {
    await addr.close();
    await srv.stop();
  }
});

test('auth key survives a bridge restart with the bus state on a real redis-server (sealed under a KEK)', async () => {
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  try {
    const ring = new KeyRing(parseKek(generateKek()));
    const first = await startServer({ keyStore: stateKeyStore(redisStateStore(redis, 'sbtest', 'mtproto'), ring) });
    let key: Buffer | undefined;
    let timeOffset = 0;
    try {
      const res = await gramAuthenticate('abridged', first.port);
      key = res.authKey.getKey();
      timeOffset = res.timeOffset;
    } finally {
      await first.stop();
    }
    assert.ok(key);
    // A new server process: nothing in memory, same Redis.
    const redis2 = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    const second = await startServer({ keyStore: stateKeyStore(redisStateStore(redis2, 'sbtest', 'mtproto'), ring) });
    try {
      const authKey = newAuthKey();
      await authKey.setKey(key);
      const sender = await gramSender('abridged', second.port, authKey, timeOffset);
      try {
        const pong = (await sender.send(ping(777))) as GramPong;
        assert.equal(pong.pingId.toString(), '777');
      } finally {
        await sender.disconnect();
      }
      assert.equal(await metricValue(second.registry, 'switchboard_mtproto_handshakes_ok_total'), 0, 'no new key was made');
      assert.equal(await metricValue(second.registry, 'switchboard_mtproto_transport_errors_total', { reason: 'unknown-auth-key' }), 0, 'no -404');
    } finally {
      await second.stop();
      redis2.disconnect();
    }
  } finally {
    redis.disconnect();
    await redisServer.stop();
  }
});
