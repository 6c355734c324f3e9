import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import type { BusOptions } from '../../src/bus/options.ts';
import type { Bus } from '../../src/bus/types.ts';
import type { EventId } from '../../src/core/ids.ts';
import { newEventId } from '../../src/core/ids.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { busOptions, Collector, lobbyRouter, message, ROOM, WS, XMPP } from './harness.ts';

/**
 * The services beside the queues, the same test bodies on both drivers: transactions
 * (publishOnce), the id map, connector state and named leases.
 */
let redis: RedisServer | undefined;
const prefixes: string[] = [];
const drivers: { name: string; make(opts: BusOptions, prefix?: string): Promise<Bus> }[] = [
  { name: 'memory', make: async (opts) => new MemoryBus(opts) },
  {
    name: 'redis',
    make: async (opts, prefix = `s${randomUUID().slice(0, 8)}`) => {
      if (!redis) throw new Error('redis not started');
      prefixes.push(prefix);
      return RedisBus.connect({ ...opts, url: redis.url, prefix, instanceId: `test-${randomUUID()}`, leaseMs: 600 });
    },
  },
];

before(async () => { redis = await startRedis(); });
after(async () => { await redis?.stop(); });

for (const driver of drivers) {
  describe(`bus services: ${driver.name}`, () => {
    test('publishOnce: a resend of a transaction answers the first id and the room gets the event once', async () => {
      const bus = await driver.make(busOptions());
      const routing = bus.startRouting(lobbyRouter().route.bind(lobbyRouter()));
      const ws = new Collector(bus, 'websocket');
      try {
        const first = message('hello', XMPP);
        const a = await bus.publishOnce(first, { scope: 'xmpp:alice@example.org', id: 'origin-1' });
        assert.deepEqual(a, { id: first.id, duplicate: false });
        const resend = message('hello', XMPP);
        const b = await bus.publishOnce(resend, { scope: 'xmpp:alice@example.org', id: 'origin-1' });
        assert.deepEqual(b, { id: first.id, duplicate: true }, 'the resend answers the first id');
        // The same transaction id of ANOTHER sender is another transaction.
        const other = message('hi', XMPP);
        assert.deepEqual(await bus.publishOnce(other, { scope: 'xmpp:mallory@example.org', id: 'origin-1' }), { id: other.id, duplicate: false });
        await waitFor(() => ws.deliveries.length >= 2, { what: 'both messages delivered' });
        const marker = message('marker', XMPP);
        await bus.publish([marker]);
        await waitFor(() => ws.deliveries.some((d) => d.event.id === marker.id), { what: 'the marker' });
        assert.deepEqual(ws.deliveries.map((d) => d.event.id), [first.id, other.id, marker.id]);
        const stream = await bus.readStream(ROOM, undefined, 100);
        assert.deepEqual(stream.entries.map((e) => e.event.id), [first.id, other.id, marker.id]);
      } finally {
        await ws.close();
        await routing.close();
        await bus.close();
      }
    });

    test('publishOnce: after a publish that failed, or landed but lost its answer, the resend makes the room hold it exactly once', async () => {
      const bus = await driver.make(busOptions());
      const routing = bus.startRouting(lobbyRouter().route.bind(lobbyRouter()));
      const realPublish = bus.publish.bind(bus);
      let mode: 'fail' | 'land-then-fail' | 'ok' = 'fail';
      // publishOnce publishes through the bus's own publish: shadow it on the instance.
      (bus as { publish: Bus['publish'] }).publish = async (events) => {
        const now = mode;
        mode = 'ok';
        if (now === 'fail') throw new Error('redis went away');
        await realPublish(events);
        if (now === 'land-then-fail') throw new Error('the answer was lost');
      };
      try {
        const lost = message('never landed', XMPP);
        await assert.rejects(bus.publishOnce(lost, { scope: 'websocket:alice', id: 't1' }), /redis went away/);
        assert.deepEqual(await bus.publishOnce(message('never landed', XMPP), { scope: 'websocket:alice', id: 't1' }), { id: lost.id, duplicate: true });

        mode = 'land-then-fail';
        const landed = message('landed', XMPP);
        await assert.rejects(bus.publishOnce(landed, { scope: 'websocket:alice', id: 't2' }), /answer was lost/);
        assert.deepEqual(await bus.publishOnce(message('landed', XMPP), { scope: 'websocket:alice', id: 't2' }), { id: landed.id, duplicate: true });

        const marker = message('marker', XMPP);
        await bus.publish([marker]);
        await waitFor(async () => (await bus.readStream(ROOM, undefined, 100)).entries.some((e) => e.event.id === marker.id), { what: 'the marker in the stream' });
        const ids = (await bus.readStream(ROOM, undefined, 100)).entries.map((e) => e.event.id);
        assert.deepEqual(ids, [lost.id, landed.id, marker.id]);
      } finally {
        await routing.close();
        await bus.close();
      }
    });

    test('publishOnce: refuses empty or oversized transaction ids and publishes nothing', async () => {
      const bus = await driver.make(busOptions());
      try {
        await assert.rejects(bus.publishOnce(message('x', XMPP), { scope: 's', id: '' }), RangeError);
        await assert.rejects(bus.publishOnce(message('x', XMPP), { scope: 's', id: 'x'.repeat(257) }), RangeError);
        assert.deepEqual((await bus.readStream(ROOM, undefined, 10)).entries, []);
        assert.equal((await bus.stats()).ingressWaiting, 0);
      } finally {
        await bus.close();
      }
    });

    test('publishOnce: a room remembers at most transactionsPerRoom transactions (the oldest are forgotten first)', async () => {
      const bus = await driver.make(busOptions({ retention: { transactionsPerRoom: 100 } }));
      try {
        const ids: EventId[] = [];
        for (let i = 0; i < 150; i++) ids.push((await bus.publishOnce(message(`m${i}`, XMPP), { scope: 'w', id: `t${i}` })).id);
        assert.deepEqual(await bus.publishOnce(message('again', XMPP), { scope: 'w', id: 't149' }), { id: ids[149], duplicate: true });
        assert.equal((await bus.publishOnce(message('old', XMPP), { scope: 'w', id: 't0' })).duplicate, false, 't0 fell out of the bound');
      } finally {
        await bus.close();
      }
    });

    test('id map: links both ways per endpoint, relinks, and forgets the oldest beyond idMapPerEndpoint', async () => {
      const bus = await driver.make(busOptions({ retention: { idMapPerEndpoint: 100 } }));
      try {
        const a = newEventId();
        await bus.idMap.link(a, XMPP, 'stanza-1');
        assert.equal(await bus.idMap.nativeOf(a, XMPP), 'stanza-1');
        assert.equal(await bus.idMap.canonicalOf(XMPP, 'stanza-1'), a);
        assert.equal(await bus.idMap.nativeOf(a, WS), undefined, 'per endpoint');
        assert.equal(await bus.idMap.canonicalOf(WS, 'stanza-1'), undefined);
        await bus.idMap.link(a, XMPP, 'stanza-2');
        assert.equal(await bus.idMap.nativeOf(a, XMPP), 'stanza-2');
        assert.equal(await bus.idMap.canonicalOf(XMPP, 'stanza-2'), a);
        assert.equal(await bus.idMap.canonicalOf(XMPP, 'stanza-1'), undefined, 'the old native id no longer points at it');
        const many: EventId[] = [];
        for (let i = 0; i < 120; i++) {
          const id = newEventId();
          many.push(id);
          await bus.idMap.link(id, XMPP, `n${i}`);
        }
        assert.equal(await bus.idMap.canonicalOf(XMPP, 'n119'), many[119]);
        assert.equal(await bus.idMap.canonicalOf(XMPP, 'n0'), undefined, 'the oldest were forgotten');
        assert.equal(await bus.idMap.nativeOf(a, XMPP), undefined);
      } finally {
        await bus.close();
      }
    });

    test('rooms(): every room with a stream, direct chats included, rooms without events not', async () => {
      const bus = await driver.make(busOptions());
      const routing = bus.startRouting(lobbyRouter().route.bind(lobbyRouter()));
      try {
        const dm = 'dm:websocket:bob|xmpp:alice@example.org';
        await bus.publish([message('in the lobby', XMPP), message('direct', XMPP, dm)]);
        const seen = async () => { const all: string[] = []; for await (const r of bus.rooms()) all.push(r); return all.sort(); };
        await waitFor(async () => (await seen()).length === 2, { what: 'both streams' });
        assert.deepEqual(await seen(), [dm, ROOM].sort());
      } finally {
        await routing.close();
        await bus.close();
      }
    });

    test('state: get/set/setIfAbsent/delete/expire/replace per namespace, with expiry and size limits', async () => {
      const bus = await driver.make(busOptions());
      try {
        const xmpp = bus.state('xmpp');
        const mtproto = bus.state('mtproto');
        await xmpp.set('k', 'v1');
        assert.equal(await xmpp.get('k'), 'v1');
        assert.equal(await mtproto.get('k'), undefined, 'namespaces are apart');
        assert.equal(await xmpp.setIfAbsent('k', 'v2'), false);
        assert.equal(await xmpp.get('k'), 'v1');
        assert.equal(await mtproto.setIfAbsent('k', 'm'), true);
        await xmpp.delete('k');
        assert.equal(await xmpp.get('k'), undefined);
        // Applied in the order made, without awaiting each: one round trip for writes that depend on each other.
        await Promise.all([xmpp.set('o', '1'), xmpp.set('o', '2'), xmpp.delete('o'), xmpp.set('o', '3'), xmpp.set('p', 'x'), xmpp.delete('p')]);
        assert.deepEqual([await xmpp.get('o'), await xmpp.get('p')], ['3', undefined]);
        await xmpp.set('short', 'lived', 50);
        await waitFor(async () => (await xmpp.get('short')) === undefined, { timeoutMs: 3_000, what: 'expiry' });
        // expire: a new ttl for what exists, nothing for what does not (a delete is never undone).
        assert.equal(await xmpp.expire('never-set', 60_000), false);
        assert.equal(await xmpp.get('never-set'), undefined, 'expire creates nothing');
        await xmpp.set('kept', 'v', 50);
        assert.equal(await xmpp.expire('kept', 60_000), true);
        await new Promise((r) => setTimeout(r, 150));
        assert.equal(await xmpp.get('kept'), 'v', 'extended, value untouched');
        await xmpp.delete('kept');
        assert.equal(await xmpp.expire('kept', 60_000), false);
        assert.equal(await xmpp.get('kept'), undefined, 'a deleted key stays deleted');
        // replace: only over the value read, never over a delete or another write made meanwhile.
        await xmpp.set('sealed', 'old', 60_000);
        assert.equal(await xmpp.replace('sealed', 'old', 'new', 60_000), true);
        assert.equal(await xmpp.get('sealed'), 'new');
        assert.equal(await xmpp.replace('sealed', 'old', 'newer'), false, 'changed meanwhile');
        assert.equal(await xmpp.get('sealed'), 'new');
        await xmpp.delete('sealed');
        assert.equal(await xmpp.replace('sealed', 'new', 'back'), false, 'deleted meanwhile');
        assert.equal(await xmpp.get('sealed'), undefined, 'a delete is never undone');
        await xmpp.set('brief', 'a');
        assert.equal(await xmpp.replace('brief', 'a', 'b', 50), true);
        await waitFor(async () => (await xmpp.get('brief')) === undefined, { timeoutMs: 3_000, what: 'the ttl a replace gave' });
        await xmpp.set('shortened', 'v');
        assert.equal(await xmpp.expire('shortened', 50), true);
        await waitFor(async () => (await xmpp.get('shortened')) === undefined, { timeoutMs: 3_000, what: 'a ttl given to a key that had none' });
        await assert.rejects(xmpp.set('', 'x'), RangeError);
        await assert.rejects(xmpp.set('big', 'x'.repeat(1_048_577)), RangeError);
        assert.equal(await xmpp.get('big'), undefined);
      } finally {
        await bus.close();
      }
    });

    test('leases: one holder at a time; the other takes over when the holder closes', async () => {
      const prefix = `l${randomUUID().slice(0, 8)}`;
      const a = await driver.make(busOptions(), prefix);
      const events: string[] = [];
      const leaseA = a.holdLease('xmpp-component', { onAcquired: () => events.push('a+'), onLost: () => events.push('a-') });
      await waitFor(() => leaseA.held, { what: 'a holds it' });
      if (driver.name === 'redis') {
        const b = await driver.make(busOptions(), prefix);
        const leaseB = b.holdLease('xmpp-component', { onAcquired: () => events.push('b+'), onLost: () => events.push('b-') });
        try {
          await new Promise((r) => setTimeout(r, 400)); // b tries twice (ttl/3 = 200 ms) while a holds it
          assert.equal(leaseB.held, false);
          await leaseA.close();
          await waitFor(() => leaseB.held, { timeoutMs: 5_000, what: 'b takes over' });
          assert.deepEqual(events, ['a+', 'a-', 'b+']);
        } finally {
          await leaseB.close();
          await b.close();
        }
      } else {
        await leaseA.close();
        assert.deepEqual(events, ['a+', 'a-']);
      }
      await a.close();
    });
  });
}

describe('LocalState (the memory driver\'s state file)', () => {
  test('survives a restart; a torn last line is ignored; deletes and expiry persist; compaction keeps the live entries', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-state-'));
    try {
      const file = join(dir, 'nested', 'state.jsonl');
      let clock = 1_000;
      const first = new LocalState(file, () => clock);
      const s = first.store('mtproto');
      void s.set('key', 'secret');
      void s.set('gone', 'x');
      void s.delete('gone');
      void s.set('expiring', 'x', 10);
      for (let i = 0; i < 1_500; i++) void s.set('counter', String(i)); // forces a compaction
      first.close();
      appendFileSync(file, '["set","mtproto:torn","va'); // a crash in the middle of a write
      clock = 2_000;
      const second = new LocalState(file, () => clock);
      const t = second.store('mtproto');
      return Promise.all([t.get('key'), t.get('gone'), t.get('expiring'), t.get('counter'), t.get('torn')]).then((values) => {
        assert.deepEqual(values, ['secret', undefined, undefined, '1499', undefined]);
        second.close();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('expired entries nobody reads again are swept out within a minute, and the journal is compacted after them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-state-'));
    try {
      const file = join(dir, 'state.jsonl');
      let clock = 1_000_000;
      const state = new LocalState(file, () => clock);
      const s = state.store('mtproto');
      await s.set('kept', 'for good');
      // A flood of handshakes: keys stored with a short ttl and never read again.
      for (let i = 0; i < 1_500; i++) await s.set(`authkey:${i}`, 'x', 60_000);
      assert.equal(state.size, 1_501);
      clock += 61_000;
      await s.set('next', 'write'); // the write that sweeps (the last sweep was over a minute ago)
      assert.equal(state.size, 2, 'only the live entries are left');
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.ok(lines.length <= 3, `the journal was compacted (${lines.length} lines)`);
      assert.equal(await s.get('kept'), 'for good');
      // Within a minute of the last sweep, writes do not sweep (expired entries wait, unread).
      await s.set('short', 'x', 1_000);
      clock += 2_000;
      await s.set('another', 'write');
      assert.equal(state.size, 4, 'not swept yet');
      assert.equal(await s.get('short'), undefined, 'but never served once expired');
      state.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an unreadable line is skipped, not fatal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-state-'));
    try {
      const file = join(dir, 'state.jsonl');
      writeFileSync(file, 'not json\n["set","a:b","c",null]\n[1,2]\n');
      const state = new LocalState(file);
      assert.equal(await state.store('a').get('b'), 'c');
      state.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
