import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, UpgradeRefused, type TestClient } from '../helpers/ws-client.ts';
import { metricValue, startBridge } from './harness.ts';

async function refusedStatus(promise: Promise<TestClient>): Promise<{ status: number; code: string }> {
  try {
    const c = await promise;
    await c.close();
  } catch (err) {
    if (err instanceof UpgradeRefused) return { status: err.status, code: JSON.parse(err.body).error.code };
    throw err;
  }
  return assert.fail('the upgrade was accepted');
}

describe('websocket: connection lifecycle', () => {
  test('maxConnections: the next upgrade gets 503 until one leaves; the gauge follows', async () => {
    const bridge = await startBridge({ websocket: { maxConnections: 2 } });
    const clients: TestClient[] = [];
    try {
      clients.push(await connectClient(bridge.url, bridge.tokens.alice), await connectClient(bridge.url, bridge.tokens.bob));
      assert.equal(bridge.connector.connections, 2);
      assert.equal(await metricValue(bridge.registry, 'switchboard_ws_connections'), 2);
      assert.deepEqual(await refusedStatus(connectClient(bridge.url, bridge.tokens.carol)), { status: 503, code: 'unavailable' });
      await clients[0]?.close();
      for (let i = 0; i < 100 && bridge.connector.connections > 1; i++) await new Promise((r) => setTimeout(r, 10));
      clients.push(await connectClient(bridge.url, bridge.tokens.carol));
      assert.equal(bridge.connector.connections, 2);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await bridge.stop();
    }
  });

  test('stopAccepting refuses new upgrades with 503; close() answers frames in hand, then says 1001 going away', async () => {
    const bridge = await startBridge();
    const alice = await connectClient(bridge.url, bridge.tokens.alice);
    const bob = await connectClient(bridge.url, bridge.tokens.bob);
    try {
      await alice.request({ type: 'join', room: 'lobby' });
      await bob.request({ type: 'join', room: 'lobby' });
      bridge.connector.stopAccepting();
      assert.deepEqual(await refusedStatus(connectClient(bridge.url, bridge.tokens.carol)), { status: 503, code: 'unavailable' });
      // Open connections still work after stopAccepting.
      assert.equal((await alice.request({ type: 'ping' })).type, 'pong');
      alice.send({ type: 'send', room: 'lobby', ref: 'last', event: { kind: 'message', text: 'just before shutdown' } });
      const ack = alice.next((f) => f.ref === 'last');
      await new Promise((r) => setTimeout(r, 20));
      const closing = bridge.connector.close();
      assert.equal((await ack).type, 'ack', 'a frame received before close() is still answered');
      const [a, b] = await Promise.all([alice.closed, bob.closed]);
      assert.deepEqual(a, { code: 1001, reason: 'going away' });
      assert.deepEqual(b, { code: 1001, reason: 'going away' });
      await closing;
      assert.equal(bridge.connector.connections, 0);
    } finally {
      await alice.close();
      await bob.close();
      await bridge.stop();
    }
  });

  test('heartbeat: a peer that stops answering pings is dropped; one that answers stays', async () => {
    const bridge = await startBridge({ websocket: { heartbeatMs: 1_000 } });
    const alive = await connectClient(bridge.url, bridge.tokens.alice);
    const dead = await connectClient(bridge.url, bridge.tokens.bob);
    try {
      // A peer that stops reading never sees the pings, so never answers them: like a half-open TCP connection.
      dead.pause();
      for (let i = 0; i < 400 && bridge.connector.connections > 1; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(bridge.connector.connections, 1, 'the silent peer was dropped within two heartbeats (+ slack)');
      assert.ok(await metricValue(bridge.registry, 'switchboard_ws_closes_total', { reason: 'heartbeat timeout' }) >= 1);
      assert.equal((await alive.request({ type: 'ping' })).type, 'pong');
    } finally {
      dead.resume();
      await alive.close();
      await dead.close();
      await bridge.stop();
    }
  });
});
