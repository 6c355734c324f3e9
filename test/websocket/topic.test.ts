import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient } from '../helpers/ws-client.ts';
import { startBridge, streamOf } from './harness.ts';
import { LIMITS } from '../../src/core/event.ts';

test('a moderator token sets and clears a room\'s topic; members get it with the moderator as sender; bad topics change nothing', async () => {
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
