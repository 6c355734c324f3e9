import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import type { StateStore } from '../../src/bus/types.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { diffEndpoints } from '../../src/core/endpoint.ts';
import { ROOM_STATE_NAMESPACE } from '../../src/connectors/room-topics.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { BRIDGES, busOptions, startBridge } from './harness.ts';

/**
 * A join or a subscribe reads the room's topic before it answers: a bridges/ reload that unlinks
 * the room while that read is under way must not leave the session joined to (or following) a
 * room no bridge declares. The read is held at a gate, the room unlinked, then the read let go.
 */

/** A memory bus whose room-topic reads wait at a gate the test opens. */
class GatedBus extends MemoryBus {
  readonly waiting: (() => void)[] = [];
  gated = true;

  override state(namespace: string): StateStore {
    const store = super.state(namespace);
    if (namespace !== ROOM_STATE_NAMESPACE) return store;
    return new Proxy(store, {
      get: (target, prop, receiver) => prop !== 'get' ? Reflect.get(target, prop, receiver) as unknown : async (key: string) => {
        if (this.gated) await new Promise<void>((resolve) => this.waiting.push(resolve));
        return await target.get(key);
      },
    });
  }

  open(): void {
    this.gated = false;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

test('a join and a subscribe under way when their room is unlinked answer unknown_room, and leave nothing joined', async () => {
  const bus = new GatedBus(busOptions(createRegistry(false)));
  const bridge = await startBridge({ bus });
  try {
    const alice = await connectClient(bridge.url, bridge.tokens.alice);
    const bot = await connectClient(bridge.url, bridge.tokens.bot);
    const joining = alice.request({ type: 'join', room: 'other' });
    const subscribing = bot.request({ type: 'subscribe', room: 'other' });
    await until(() => bus.waiting.length === 2, 'both reads of the topic are under way');

    const after = BRIDGES.filter((b) => b.room !== 'other');
    bridge.router.replaceBridges(after);
    bridge.connector.endpointsChanged(diffEndpoints(BRIDGES, after, 'websocket'));
    bus.open();

    const joined = await joining;
    assert.deepEqual([joined['type'], joined['code']], ['error', 'unknown_room'], JSON.stringify(joined));
    const subscribed = await subscribing;
    assert.deepEqual([subscribed['type'], subscribed['code']], ['error', 'unknown_room'], JSON.stringify(subscribed));
    // Nothing of the room is held: a send there is refused as for any unknown room, and no `left` was owed.
    assert.equal((await alice.request({ type: 'send', room: 'other', event: { kind: 'message', text: 'x' } }))['code'], 'unknown_room');
    assert.equal(alice.frames.some((f) => f.type === 'joined' || f.type === 'left'), false);
    assert.equal((await bot.request({ type: 'unsubscribe', room: 'other' }))['code'], 'not_joined');
    await alice.close();
    await bot.close();
  } finally {
    bus.open();
    await bridge.stop();
    await bus.close();
  }
});
