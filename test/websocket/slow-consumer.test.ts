import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient } from '../helpers/ws-client.ts';
import { waitFor } from '../helpers/wait.ts';
import { metricValue, startBridge, xmppMessage, type TestBridge } from './harness.ts';

const MAX_BUFFERED = 64 * 1024;
const EVENT_TEXT_CHARS = 32 * 1024;
/** 500 x 32 KiB = 16 MiB: more than the kernel's loopback buffers can hide, so the server's own buffer must fill. */
const EVENTS = 500;

async function publishBig(bridge: TestBridge, n: number): Promise<string[]> {
  const ids: string[] = [];
  const text = 'x'.repeat(EVENT_TEXT_CHARS);
  for (let i = 0; i < n; i += 10) {
    const batch = Array.from({ length: Math.min(10, n - i) }, () => xmppMessage(text));
    await bridge.bus.publish(batch);
    ids.push(...batch.map((e) => e.id));
  }
  return ids;
}

describe('websocket: slow consumers', () => {
  let bridge: TestBridge;
  before(async () => { bridge = await startBridge({ websocket: { maxBufferedBytes: MAX_BUFFERED } }); });
  after(async () => { await bridge.stop(); });

  test('a client that stops reading is closed with 1008 while others keep receiving, and its server-side buffer stays bounded', async () => {
    const slow = await connectClient(bridge.url, bridge.tokens.alice);
    const fast = await connectClient(bridge.url, bridge.tokens.bob);
    try {
      await slow.request({ type: 'join', room: 'lobby' });
      await fast.request({ type: 'join', room: 'lobby' });
      slow.pause();
      const started = Date.now();
      const ids = await publishBig(bridge, EVENTS);
      const got = await fast.collectEvents(EVENTS, 30_000);
      assert.deepEqual(got.map((e) => e.event.id), ids, 'the fast client got everything, in order');
      const elapsed = Date.now() - started;

      await waitFor(async () => (await metricValue(bridge.registry, 'switchboard_ws_closes_total', { reason: 'slow consumer' })) >= 1, { timeoutMs: 5_000, what: 'the slow consumer to be cut off' });
      await waitFor(() => bridge.connector.connections <= 2, { timeoutMs: 1_000, what: 'the connection count to drop' });
      slow.resume();
      const closed = await slow.closed;
      assert.deepEqual(closed, { code: 1008, reason: 'slow consumer' });
      assert.ok(slow.events.length < EVENTS, `the slow client stopped receiving (${slow.events.length} of ${EVENTS})`);
      const peak = await metricValue(bridge.registry, 'switchboard_ws_buffered_bytes_peak');
      const frameBytes = EVENT_TEXT_CHARS + 1_024;
      assert.ok(peak <= MAX_BUFFERED + frameBytes, `peak unsent output ${peak} B stays within the limit plus one frame`);
      // The cut-off client resumes from its last cursor and gets the rest.
      const last = slow.events[slow.events.length - 1]?.cursor;
      const back = await connectClient(bridge.url, bridge.tokens.alice);
      try {
        await back.request({ type: 'join', room: 'lobby', ...(last ? { since: last } : { since: '0-0' }) });
        const rest = await back.collectEvents(EVENTS - slow.events.length, 30_000);
        assert.deepEqual([...slow.events, ...rest].map((e) => e.event.id), ids);
      } finally {
        await back.close();
      }
      console.log(`# slow consumer: fast client got ${EVENTS} x 32 KiB in ${elapsed} ms; slow one cut off after ${slow.events.length}; peak buffered ${peak} B`);
    } finally {
      await slow.close();
      await fast.close();
    }
  });

  test('a replay larger than the buffer limit is paced by the socket, not cut off, for a client and a bot that read', async () => {
    const before = (await bridge.bus.latestCursor('lobby')) ?? '0-0';
    const ids = await publishBig(bridge, 200);
    const client = await connectClient(bridge.url, bridge.tokens.carol);
    const bot = await connectClient(bridge.url, bridge.tokens.bot);
    try {
      await client.request({ type: 'join', room: 'lobby', since: before });
      // The replay runs alongside the session's other frames: a ping is answered long before it ends.
      await client.request({ type: 'ping' }, 10_000);
      assert.ok(client.events.length < 200, `pong came after ${client.events.length} of 200 replayed events`);
      await bot.request({ type: 'subscribe', room: 'lobby', since: before });
      const [viaJoin, viaSubscribe] = await Promise.all([client.collectEvents(200, 30_000), bot.collectEvents(200, 30_000)]);
      assert.deepEqual(viaJoin.map((e) => e.event.id), ids);
      assert.deepEqual(viaSubscribe.map((e) => e.event.id), ids);
      assert.equal((await client.request({ type: 'ping' })).type, 'pong');
      assert.equal((await bot.request({ type: 'ping' })).type, 'pong');
    } finally {
      await client.close();
      await bot.close();
    }
  });
});
