import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import type { Bus, Delivery, Stoppable } from '../../src/bus/types.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { Mapper } from '../../src/mapper/mapper.ts';
import { busWithMapper } from '../../src/mapper/egress.ts';
import { hintsOf } from '../../src/mapper/types.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { busOptions, lobbyRouter, message, MT, WS, XMPP } from '../bus/harness.ts';
import { BARE, TABLES } from './harness.ts';

/**
 * The mapper between the bus and a connector, on both drivers: the connector consumes its egress
 * through the facade as it always did, and gets rewritten deliveries in the same order, with the
 * bus's retry-in-place intact (a failing handler fails the batch; the retry is mapped the same).
 */

let redis: RedisServer | undefined;
after(async () => { await redis?.stop(); });

const drivers: { name: string; make(): Promise<Bus>; direct: boolean }[] = [
  { name: 'memory', make: async () => new MemoryBus(busOptions()), direct: false },
  {
    name: 'redis, direct delivery', direct: true,
    make: async () => {
      redis ??= await startRedis();
      return await RedisBus.connect({ ...busOptions(), url: redis.url, prefix: `m${randomUUID().slice(0, 8)}`, instanceId: `test-${randomUUID()}` });
    },
  },
];

for (const driver of drivers) {
  describe(`mapper in the egress path (${driver.name})`, () => {
    test('order kept, fallbacks applied, a failed batch retried in place and mapped the same, nothing duplicated', async () => {
      const bus = await driver.make();
      const registry = createRegistry(false);
      const mapper = new Mapper(TABLES, { registry, logger: silentLogger, idMap: bus.idMap });
      const xmppBus = busWithMapper(bus, mapper, 'xmpp', BARE);
      const got: Delivery[] = [];
      let calls = 0;
      let failed = false;
      let consumer: Stoppable | undefined;
      const routing = bus.startRouting(lobbyRouter().route.bind(lobbyRouter()));
      try {
        consumer = xmppBus.consumeEgress('xmpp', async (batch) => {
          calls++;
          // The connector refuses its first batch with an edit in it once: the bus must retry it in place.
          if (!failed && batch.some((d) => (d.event as { text?: string }).text?.includes('✎'))) { failed = true; throw new Error('xmpp server away'); }
          got.push(...batch);
        }, { direct: driver.direct });
        const first = message('m0', WS);
        const events = [first, ...Array.from({ length: 30 }, (_, i) => message(`m${i + 1}`, MT))];
        const { text: _text, ...base } = message('x', WS) as Extract<CanonicalEvent, { kind: 'message' }>;
        const edit: CanonicalEvent = { ...base, kind: 'edit', target: first.id, text: 'm0 fixed' };
        await bus.publish(events.slice(0, 10));
        await bus.publish([edit]);
        await bus.publish(events.slice(10));
        await waitFor(() => got.length >= events.length + 1, { what: 'every delivery' });
        const texts = got.map((d) => (d.event as { text: string }).text);
        assert.deepEqual(texts, [...events.slice(0, 10).map((e) => (e as { text: string }).text), '> alice (websocket): m0\n✎ corrected: m0 fixed', ...events.slice(10).map((e) => (e as { text: string }).text)]);
        assert.ok(failed, 'the connector did refuse a batch');
        assert.ok(calls > 1);
        assert.ok(got.every((d) => hintsOf(d)?.identity !== undefined), 'every delivery carries its hints');
        assert.equal(new Set(got.map((d) => d.event.id)).size, got.length, 'nothing twice');
      } finally {
        await consumer?.close();
        await routing.close();
        await bus.close();
      }
    });

    test('the facade is the bus for everything else: publish, id map, state, stream reads', async () => {
      const bus = await driver.make();
      const mapper = new Mapper(TABLES, { registry: createRegistry(false), logger: silentLogger, idMap: bus.idMap });
      const facade = busWithMapper(bus, mapper, 'xmpp', BARE);
      const routing = bus.startRouting(lobbyRouter().route.bind(lobbyRouter()));
      try {
        assert.equal(facade.driver, bus.driver);
        assert.equal(facade.idMap, bus.idMap);
        assert.equal(facade.publish, facade.publish, 'methods are bound once');
        await facade.state('xmpp').set('k', 'v');
        assert.equal(await bus.state('xmpp').get('k'), 'v');
        const e = message('via facade', XMPP);
        await facade.publish([e]);
        await waitFor(async () => (await bus.readStream('lobby', undefined, 10)).entries.some((x) => x.event.id === e.id), { what: 'the stream' });
      } finally {
        await routing.close();
        await bus.close();
      }
    });
  });
}
