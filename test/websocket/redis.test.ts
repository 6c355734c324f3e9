import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { busOptions, startBridge, streamOf, xmppMessage, type TestBridge } from './harness.ts';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

/** Adds the bus's own view to a timeout, so a stuck delivery says whether routing or egress stalled. */
async function diagnosed<T>(what: Promise<T>, bridge: TestBridge | undefined): Promise<T> {
  try {
    return await what;
  } catch (err) {
    const stats = bridge ? await bridge.bus.stats().catch(() => undefined) : undefined;
    const stream = bridge ? (await streamOf(bridge.bus, 'lobby').catch(() => [])).length : undefined;
    throw new Error(`${(err as Error).message}; bus stats ${JSON.stringify(stats)}, lobby stream length ${stream}`);
  }
}

/** The core WebSocket flows again, on the durable driver against a real redis-server. */
describe('websocket over the redis bus', () => {
  let redis: RedisServer | undefined;
  let bus: RedisBus | undefined;
  let bridge: TestBridge | undefined;
  const clients: TestClient[] = [];
  const connect = async (token: string) => {
    const c = await connectClient(bridge!.url, token);
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await startRedis();
    bus = await RedisBus.connect({ ...busOptions(createRegistry(false)), url: redis.url, prefix: `ws${randomUUID().slice(0, 8)}`, instanceId: `ws-test-${randomUUID()}` });
    bridge = await startBridge({ bus });
  });
  after(async () => {
    try {
      await Promise.all(clients.map((c) => c.close()));
      await bridge?.stop();
      await bus?.close();
    } finally {
      await redis?.stop();
    }
  });

  test('clients exchange through a linked room: ack id = pushed id, no echo, the stream holds what was acked', async () => {
    const [alice, bob, carol] = await Promise.all([connect(bridge!.tokens.alice), connect(bridge!.tokens.bob), connect(bridge!.tokens.carol)]);
    await alice.request({ type: 'join', room: 'lobby' });
    await bob.request({ type: 'join', room: 'lobby' });
    await carol.request({ type: 'join', room: 'other' });
    const acks: string[] = [];
    for (let i = 0; i < 20; i++) {
      const ack = await (i % 2 === 0 ? alice : bob).request({ type: 'send', room: 'lobby', event: { kind: 'message', text: `m${i}` } });
      assert.equal(ack.type, 'ack');
      acks.push(String(ack['id']));
    }
    const atBob = await diagnosed(bob.collectEvents(10, 10_000), bridge);
    const atAlice = await diagnosed(alice.collectEvents(10, 10_000), bridge);
    assert.deepEqual(atBob.map((e) => e.event.id), acks.filter((_, i) => i % 2 === 0));
    assert.deepEqual(atAlice.map((e) => e.event.id), acks.filter((_, i) => i % 2 === 1));
    assert.deepEqual(await streamOf(bridge!.bus, 'lobby'), acks);
    await alice.request({ type: 'ping' });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(alice.events.length, 10);
    assert.equal(bob.events.length, 10);
    assert.equal(carol.events.length, 0);
  });

  test('a bot and a client resume from their cursors: exactly the 100 missed, in order, once', async () => {
    const bot = await connect(bridge!.tokens.bot);
    const client = await connect(bridge!.tokens.carol);
    const botStart = await bot.request({ type: 'subscribe', room: 'lobby' });
    const clientStart = await client.request({ type: 'join', room: 'lobby' });
    const botSince = botStart['cursor'];
    const clientSince = clientStart['cursor'];
    assert.equal(botSince, clientSince);
    await bot.close();
    await client.close();

    const missed: string[] = [];
    for (let i = 0; i < 100; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => xmppMessage(`missed ${i + j}`));
      await bridge!.bus.publish(batch);
      missed.push(...batch.map((e) => e.id));
    }
    const bot2 = await connect(bridge!.tokens.bot);
    const client2 = await connect(bridge!.tokens.carol);
    await bot2.request({ type: 'subscribe', room: 'lobby', ...(typeof botSince === 'string' ? { since: botSince } : { since: '0-0' }) });
    await client2.request({ type: 'join', room: 'lobby', ...(typeof clientSince === 'string' ? { since: clientSince } : { since: '0-0' }) });
    const [viaBot, viaClient] = await diagnosed(Promise.all([bot2.collectEvents(100, 15_000), client2.collectEvents(100, 15_000)]), bridge);
    assert.deepEqual(viaBot.map((e) => e.event.id), missed);
    assert.deepEqual(viaClient.map((e) => e.event.id), missed);
    const live = xmppMessage('live');
    await bridge!.bus.publish([live]);
    const [[b], [c]] = await Promise.all([bot2.collectEvents(1, 10_000), client2.collectEvents(1, 10_000)]);
    assert.equal(b?.event.id, live.id);
    assert.equal(c?.event.id, live.id);
    await Promise.all([bot2.request({ type: 'ping' }), client2.request({ type: 'ping' })]);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(bot2.events.length, 101, 'no duplicates for the bot');
    assert.equal(client2.events.length, 101, 'no duplicates for the client');
  });
});
