import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient } from '../helpers/ws-client.ts';
import { busOptions, startBridge, streamOf } from './harness.ts';
import { LIMITS, parseEvent } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import { RoomTopics } from '../../src/connectors/room-topics.ts';

test('a moderator token sets and clears a room\'s topic; members get it with the moderator as sender, a join says the current one; bad topics change nothing', async () => {
  const bridge = await startBridge();
  const mod = await connectClient(bridge.url, bridge.tokens.mod);
  const alice = await connectClient(bridge.url, bridge.tokens.alice);
  try {
    assert.equal(mod.hello['moderator'], true);
    await mod.request({ type: 'join', room: 'lobby' });
    await alice.request({ type: 'join', room: 'lobby' });

    const set = await mod.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'Release day: ship 2.0 🚀' } });
    assert.equal(set.type, 'ack', JSON.stringify(set));
    const cleared = await mod.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: '' } });
    assert.equal(cleared.type, 'ack', JSON.stringify(cleared));
    const got = await alice.collectEvents(2);
    const sender = (f: { event: Record<string, unknown> }): { id?: string; name?: string } => f.event['sender'] as { id?: string; name?: string };
    assert.deepEqual(got.map((f) => [f.event.kind, f.event['text'], sender(f).id, sender(f).name]), [
      ['topic', 'Release day: ship 2.0 🚀', 'mod', 'Mod'],
      ['topic', '', 'mod', 'Mod'],
    ]);

    // A join says what the room's topic is now: the last one set (here: cleared), with who set it.
    const bob = await connectClient(bridge.url, bridge.tokens.bob);
    try {
      const joined = await bob.request({ type: 'join', room: 'lobby' });
      const topic = joined['topic'] as { kind: string; text: string; sender: { id: string }; id: string } | undefined;
      assert.deepEqual([topic?.kind, topic?.text, topic?.sender.id, topic?.id], ['topic', '', 'mod', cleared['id']]);
      // A bot subscribing to the canonical stream gets it too.
      const bot = await connectClient(bridge.url, bridge.tokens.bot);
      try {
        const subscribed = await bot.request({ type: 'subscribe', room: 'lobby' });
        assert.equal(subscribed.type, 'subscribed', JSON.stringify(subscribed));
        assert.equal((subscribed['topic'] as { id?: string } | undefined)?.id, cleared['id']);
      } finally {
        await bot.close();
      }
      // A direct chat has none.
      const direct = await bob.request({ type: 'join', room: '@websocket:mod' });
      assert.equal(direct.type, 'joined');
      assert.equal(direct['topic'], undefined);
    } finally {
      await bob.close();
    }

    // Too long, or in a direct chat (which has no topic): invalid_event, nothing on the bus.
    const before = await streamOf(bridge.bus, 'lobby');
    const long = await mod.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'x'.repeat(LIMITS.topicChars + 1) } });
    assert.deepEqual([long.type, long['code']], ['error', 'invalid_event']);
    assert.match(String(long['message']), /^event\.text: /);
    const direct = await mod.request({ type: 'send', room: '@websocket:alice', event: { kind: 'topic', text: 'ours' } });
    assert.deepEqual([direct.type, direct['code']], ['error', 'invalid_event']);
    assert.match(String(direct['message']), /^event\.kind: topic: only a moderator token .*in a bridged room/);
    assert.deepEqual(await streamOf(bridge.bus, 'lobby'), before);

    // Still served: a message after the refusals reaches alice next (no topic slipped in between).
    const ack = await mod.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'still here' } });
    const [next] = await alice.collectEvents(1);
    assert.equal(next?.event.id, ack['id']);
  } finally {
    await Promise.all([mod.close(), alice.close()]);
    await bridge.stop();
  }
});

test('the stored topic is the newest: an older topic written late (a slower writer, another instance) leaves it; a store that fails is logged, never thrown', async () => {
  const registry = createRegistry(false);
  const bus = new MemoryBus(busOptions(registry));
  const warnings: string[] = [];
  const logger = { ...silentLogger, warn: (_o: unknown, msg: string) => { warnings.push(msg); } } as unknown as Logger;
  try {
    const topics = RoomTopics.of(bus, logger);
    const topicEvent = (text: string, ms: number, room = 'lobby') => parseEvent({
      v: 1, id: newEventId(ms), ts: ms, room, kind: 'topic', text,
      sender: { network: 'websocket', id: 'mod' }, origin: { connector: 'websocket', endpoint: room },
    }) as Parameters<RoomTopics['record']>[0];
    assert.equal(await topics.of('lobby'), undefined, 'no topic yet');
    // (Made in time order: ids are monotonic.)
    const older = topicEvent('older', 1_000);
    const newer = topicEvent('newer', 2_000);
    topics.record(newer);
    topics.record(older);
    topics.record(topicEvent('elsewhere', 3_000, 'ops'));
    await topics.idle();
    assert.equal((await topics.of('lobby'))?.text, 'newer');
    assert.equal((await topics.of('ops'))?.text, 'elsewhere', 'each room its own');

    const broken = new RoomTopics({ ...bus.state('rooms'), get: () => Promise.reject(new Error('store away')) }, logger);
    broken.record(topicEvent('lost', 4_000));
    await broken.idle();
    assert.equal(await broken.of('lobby'), undefined);
    assert.equal(warnings.length, 2, warnings.join('; '));
  } finally {
    await bus.close();
  }
});
