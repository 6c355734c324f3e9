import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { busOptions, startBridge, type TestBridge } from './harness.ts';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { waitFor } from '../helpers/wait.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

/**
 * Direct chats on two instances sharing one Redis: the instance holding the websocket egress
 * lease delivers to its clients and fans out to the other; every session of a token, on either
 * instance, gets each event of its chats once, and the chat list of hello is shared.
 */
describe('direct chats across instances (redis)', () => {
  let redis: RedisServer | undefined;
  let admin: Redis | undefined;
  const prefix = `dm${randomUUID().slice(0, 8)}`;
  const buses: RedisBus[] = [];
  const bridges: TestBridge[] = [];
  const clients: TestClient[] = [];

  const startInstance = async (name: string): Promise<TestBridge> => {
    const bus = await RedisBus.connect({ ...busOptions(createRegistry(false)), url: redis!.url, prefix, instanceId: `${name}-${randomUUID()}`, leaseMs: 1_500 });
    buses.push(bus);
    const bridge = await startBridge({ bus });
    bridges.push(bridge);
    return bridge;
  };
  const connect = async (bridge: TestBridge, token: string): Promise<TestClient> => {
    const c = await connectClient(bridge.url, token);
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  after(async () => {
    try {
      await Promise.all(clients.map((c) => c.close()));
      for (const b of bridges) await b.stop();
      for (const b of buses) await b.close();
      await admin?.quit();
    } finally {
      await redis?.stop();
    }
  });

  test('alice on A and bob on A and B chat: each session gets each event once, in order; hello lists the chat on either instance', async () => {
    const a = await startInstance('a');
    await waitFor(async () => ((await admin!.get(`${prefix}:lease:egress:websocket`)) ?? '').startsWith('a-'), { intervalMs: 50, what: 'a to hold the websocket egress lease' });
    const b = await startInstance('b');
    // Token names are the same on both instances (each harness has its own secrets for them).
    const aliceA = await connect(a, a.tokens.alice);
    const aliceB = await connect(b, b.tokens.alice);
    const bobA = await connect(a, a.tokens.bob);
    const bobB = await connect(b, b.tokens.bob);
    const N = 50;
    const acks: string[] = [];
    for (let i = 0; i < N; i++) {
      const [from, to] = i % 2 === 0 ? [aliceB, '@websocket:bob'] : [bobB, '@websocket:alice'];
      const ack = await from.request({ type: 'send', room: to, event: { kind: 'message', text: `m${i}` } }, 10_000);
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      acks.push(String(ack['id']));
    }
    const mine = (odd: boolean) => acks.filter((_, i) => (i % 2 === 1) === odd);
    // Each session gets the other party's events, and its own token's from the other sessions, once, in order.
    const [atAliceA, atBobA] = await Promise.all([aliceA.collectEvents(N, 20_000), bobA.collectEvents(N, 20_000)]);
    const [atAliceB, atBobB] = await Promise.all([aliceB.collectEvents(N / 2, 20_000), bobB.collectEvents(N / 2, 20_000)]);
    assert.deepEqual(atAliceA.map((e) => e.event.id), acks, 'alice on A: both sides, in order');
    assert.deepEqual(atBobA.map((e) => e.event.id), acks, 'bob on A: both sides, in order');
    assert.deepEqual(atAliceB.map((e) => e.event.id), mine(true), 'alice on B (the sender of the even ones): bob\'s, through the fan-out');
    assert.deepEqual(atBobB.map((e) => e.event.id), mine(false), 'bob on B: alice\'s, through the fan-out');
    assert.ok(atAliceA.every((e) => e.room === '@websocket:bob') && atBobB.every((e) => e.room === '@websocket:alice'));
    for (const c of [aliceA, aliceB, bobA, bobB]) await c.request({ type: 'ping' });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([aliceA, bobA, aliceB, bobB].map((c) => c.events.length), [N, N, N / 2, N / 2], 'nothing doubled');
    // The chat list lives in Redis: a new session on B lists the chat too.
    let listed: unknown;
    await waitFor(async () => {
      const c = await connectClient(b.url, b.tokens.bob);
      listed = c.hello['directChats'];
      await c.close();
      return Array.isArray(listed) && listed[0] === '@websocket:alice';
    }, { what: () => `bob's chat list on B (got ${JSON.stringify(listed)})` });
  });
});
