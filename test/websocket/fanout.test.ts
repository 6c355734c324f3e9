import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';
import { busOptions, metricValue, startBridge, xmppMessage, type TestBridge } from './harness.ts';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { waitFor } from '../helpers/wait.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

/**
 * Several instances on one Redis: whichever holds the `websocket` egress lease, clients on every
 * instance get every event of their rooms live, in order, once; and a client on an instance whose
 * fan-out subscription dropped still gets everything (the resync reads the stream).
 */

interface Instance { readonly name: string; readonly bus: RedisBus; readonly bridge: TestBridge }

const PER_SENDER = 200;

describe('websocket across instances (redis fan-out)', () => {
  let redis: RedisServer | undefined;
  let admin: Redis | undefined;
  const prefix = `fo${randomUUID().slice(0, 8)}`;
  const instances: Instance[] = [];
  const clients: TestClient[] = [];

  const startInstance = async (name: string): Promise<Instance> => {
    const bus = await RedisBus.connect({ ...busOptions(createRegistry(false)), url: redis!.url, prefix, instanceId: `${name}-${randomUUID()}`, leaseMs: 1_500 });
    const bridge = await startBridge({ bus, websocket: { rateLimit: { perSecond: 100_000, burst: 100_000 } } });
    const instance = { name, bus, bridge };
    instances.push(instance);
    return instance;
  };
  const stopInstance = async (instance: Instance) => {
    await instance.bridge.stop();
    await instance.bus.close();
    instances.splice(instances.indexOf(instance), 1);
  };
  const leaseHolder = async () => (await admin!.get(`${prefix}:lease:egress:websocket`)) ?? '';
  const waitForLease = async (instance: Instance) => {
    let holder = '';
    await waitFor(async () => (holder = await leaseHolder()).startsWith(`${instance.name}-`),
      { intervalMs: 50, what: () => `${instance.name} to take the websocket egress lease (holder: ${holder})` });
  };
  /** A client of `instance` with the given token name, joined to lobby: returns it and its joined cursor. */
  const joined = async (instance: Instance, token: 'alice' | 'bob' | 'carol' | 'limited') => {
    const client = await connectClient(instance.bridge.url, instance.bridge.tokens[token]);
    clients.push(client);
    const reply = await client.request({ type: 'join', room: 'lobby' });
    assert.equal(reply.type, 'joined');
    return client;
  };
  const lobbyAfter = async (bus: RedisBus, since: string | undefined) => (await bus.readStream('lobby', since, 100_000)).entries.map((e) => e.event.id);
  const send = (client: TestClient, tag: string) => Promise.all(Array.from({ length: PER_SENDER }, async (_, i) => {
    const ack = await client.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: `${tag} ${i}` } }, 30_000);
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    return String(ack['id']);
  }));
  const assertOrdered = (events: readonly EventFrame[], what: string) => {
    for (let i = 1; i < events.length; i++) {
      const [prev, cur] = [events[i - 1]!.cursor.split('-').map(BigInt), events[i]!.cursor.split('-').map(BigInt)];
      assert.ok(cur[0]! > prev[0]! || (cur[0] === prev[0] && cur[1]! > prev[1]!), `${what}: cursors increase (${events[i - 1]!.cursor} then ${events[i]!.cursor})`);
    }
  };
  /** After a round trip and a pause, nothing more arrived than what was collected. */
  const assertNoMore = async (client: TestClient, count: number, what: string) => {
    await client.request({ type: 'ping' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(client.events.length, count, `${what}: no duplicates, nothing extra`);
  };

  /** Two senders on different instances, a watcher on each: everyone gets the others' events live, in stream order, once. */
  const exchange = async (one: Instance, two: Instance) => {
    const start = await one.bus.latestCursor('lobby');
    const [sender1, sender2] = [await joined(one, 'alice'), await joined(two, 'bob')];
    const [watcher1, watcher2] = [await joined(one, 'limited'), await joined(two, 'carol')];
    const [acks1, acks2] = await Promise.all([send(sender1, one.name), send(sender2, two.name)]);
    // An ack means durably on the bus; routing into the stream follows.
    let stream = await lobbyAfter(one.bus, start);
    for (const until = Date.now() + 15_000; stream.length < 2 * PER_SENDER && Date.now() < until; stream = await lobbyAfter(one.bus, start)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(stream.length, 2 * PER_SENDER, 'the stream holds every acked event');
    const inStream = (acks: string[]) => stream.filter((id) => acks.includes(id));
    assert.deepEqual(inStream(acks1), acks1, 'one client\'s events are in the stream in ack order');
    assert.deepEqual(inStream(acks2), acks2);

    const [at1, at2, atW1, atW2] = await Promise.all([
      sender1.collectEvents(PER_SENDER, 20_000), sender2.collectEvents(PER_SENDER, 20_000),
      watcher1.collectEvents(2 * PER_SENDER, 20_000), watcher2.collectEvents(2 * PER_SENDER, 20_000),
    ]);
    assert.deepEqual(at1.map((e) => e.event.id), acks2, `${one.name}'s sender gets ${two.name}'s events, in order`);
    assert.deepEqual(at2.map((e) => e.event.id), acks1, `${two.name}'s sender gets ${one.name}'s events, in order`);
    assert.deepEqual(atW1.map((e) => e.event.id), stream, `the watcher on ${one.name} gets everything in stream order`);
    assert.deepEqual(atW2.map((e) => e.event.id), stream, `the watcher on ${two.name} gets everything in stream order`);
    for (const [events, what] of [[at1, 'sender 1'], [at2, 'sender 2'], [atW1, 'watcher 1'], [atW2, 'watcher 2']] as const) assertOrdered(events, what);
    await Promise.all([
      assertNoMore(sender1, PER_SENDER, 'sender 1'), assertNoMore(sender2, PER_SENDER, 'sender 2'),
      assertNoMore(watcher1, 2 * PER_SENDER, 'watcher 1'), assertNoMore(watcher2, 2 * PER_SENDER, 'watcher 2'),
    ]);
    await Promise.all([sender1, sender2, watcher1, watcher2].map((c) => c.close()));
  };

  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  after(async () => {
    try {
      await Promise.all(clients.map((c) => c.close()));
      for (const instance of [...instances]) await stopInstance(instance);
      await admin?.quit();
    } finally {
      await redis?.stop();
    }
  });

  test('lease on A: clients on A and on B get each other\'s events live, in order, once', async () => {
    const a = await startInstance('a');
    await waitForLease(a);
    const b = await startInstance('b');
    await exchange(a, b);
    assert.ok(await metricValue(b.bridge.registry, 'switchboard_ws_fanout_received_total') >= 2 * PER_SENDER, 'b got its events through the fan-out');
    assert.equal(await metricValue(a.bridge.registry, 'switchboard_ws_fanout_publish_failures_total'), 0);
  });

  test('the lease moves to B: clients on B and on a new instance C still get everything', async () => {
    const a = instances.find((i) => i.name === 'a')!;
    const b = instances.find((i) => i.name === 'b')!;
    await stopInstance(a);
    await waitForLease(b);
    const c = await startInstance('c');
    await exchange(b, c);
    await exchange(c, b);
  });

  test('a dropped fan-out subscription: the client on that instance still gets every event once, in order', async () => {
    const b = instances.find((i) => i.name === 'b')!;
    const c = instances.find((i) => i.name === 'c')!;
    assert.ok((await leaseHolder()).startsWith('b-'), 'b consumes egress; c only gets the fan-out');
    const atC = await joined(c, 'carol');
    const atB = await joined(b, 'carol');
    const resyncsBefore = await metricValue(c.bridge.registry, 'switchboard_ws_fanout_resyncs_total');
    const receivedBefore = await metricValue(c.bridge.registry, 'switchboard_ws_fanout_received_total');

    // Kill every pub/sub connection again and again while events flow: whatever is published
    // while c's subscriber reconnects (>= 50 ms each time) is lost to pub/sub.
    const sent: string[] = [];
    for (let round = 0; round < 20; round++) {
      await admin!.client('KILL', 'TYPE', 'pubsub');
      const batch = Array.from({ length: 10 }, (_, i) => xmppMessage(`round ${round} #${i}`));
      await b.bus.publish(batch);
      sent.push(...batch.map((e) => e.id));
      await new Promise((r) => setTimeout(r, 15));
    }
    const [gotC, gotB] = await Promise.all([atC.collectEvents(sent.length, 20_000), atB.collectEvents(sent.length, 20_000)]);
    assert.deepEqual(gotC.map((e) => e.event.id), sent, 'the client on c gets every event, in order');
    assert.deepEqual(gotB.map((e) => e.event.id), sent, 'the client on b gets every event, in order');
    assertOrdered(gotC, 'client on c');
    await Promise.all([assertNoMore(atC, sent.length, 'client on c'), assertNoMore(atB, sent.length, 'client on b')]);

    const resyncs = await metricValue(c.bridge.registry, 'switchboard_ws_fanout_resyncs_total') - resyncsBefore;
    const received = await metricValue(c.bridge.registry, 'switchboard_ws_fanout_received_total') - receivedBefore;
    assert.ok(resyncs >= 1, 'c resynced after its subscription came back');
    assert.ok(received < sent.length, `some events were lost to pub/sub (${received} of ${sent.length} arrived that way) and came from the stream`);
  });
});
