import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { xml } from '@xmpp/client';
import { RedisBus } from '../../src/bus/redis/redis-bus.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { startProsody } from '../helpers/prosody.ts';
import { startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { busOptions } from '../websocket/harness.ts';
import { startXmppBridge } from './bridge-harness.ts';

test('room messages said while Redis is away are bridged once it is back (read again from the room archive), each once; a backlog is not taken for a flood', { timeout: 90_000 }, async (t) => {
  // Cleanups run in the order they are registered: the bridge and the bus go before Redis and Prosody.
  const cleanups: (() => Promise<void>)[] = [];
  t.after(async () => { for (const c of cleanups.reverse()) await c(); });
  const redis = await startRedis();
  cleanups.push(() => redis.stop());
  const prosody = await startProsody();
  cleanups.push(() => prosody.destroy());
  const room = `lobby@${prosody.mucDomain}`;
  const alice = await connectUser(prosody, 'alice');
  cleanups.push(() => alice.stop());
  await alice.joinMuc(room, 'Alice');
  const bus = await RedisBus.connect({ ...busOptions(createRegistry(false)), url: redis.url, prefix: `xo${randomUUID().slice(0, 8)}`, instanceId: `xo-${randomUUID()}` });
  cleanups.push(() => bus.close());
  const bridge = await startXmppBridge(prosody, { bus });
  cleanups.push(() => bridge.stop());
  await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
  const say = (text: string): Promise<void> => alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, text)));
  const texts = async (): Promise<string[]> => {
    const read = await bus.readStream('lobby', undefined, 10_000).catch(() => undefined);
    return (read?.entries ?? []).map((e) => e.event).filter((e) => e.kind === 'message').map((e) => (e as { text: string }).text);
  };

  await say('A1');
  await waitFor(async () => (await texts()).includes('A1'), { what: 'A1 on the bus', timeoutMs: 10_000 });
  await new Promise((r) => setTimeout(r, 1_200)); // the AOF syncs every second

  const back = redis.crashAndRestart(5_000);
  await new Promise((r) => setTimeout(r, 500));
  // While Redis is away: a burst past the per-sender burst would be a flood only if counted late.
  const away = Array.from({ length: 30 }, (_, i) => `A-away-${i}`);
  for (const text of away) await say(text);
  await back;
  await say('A-after');
  const expected = ['A1', ...away, 'A-after'];
  let last: string[] = [];
  await waitFor(async () => { last = await texts(); return expected.every((x) => last.includes(x)); },
    { what: () => `every message on the bus (missing: ${expected.filter((x) => !last.includes(x)).join(', ')})`, timeoutMs: 60_000, intervalMs: 250 });
  const got = (await texts()).filter((x) => expected.includes(x));
  assert.deepEqual([...got].sort(), [...expected].sort(), 'each once');
});
