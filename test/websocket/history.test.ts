import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareCursors } from '../../src/core/endpoint.ts';
import { HISTORY_MAX_SCANNED } from '../../src/connectors/websocket/history.ts';
import { connectClient, type ServerFrame, type TestClient } from '../helpers/ws-client.ts';
import { BRIDGES, metricValue, startBridge, streamOf, xmppMessage, type TestBridge } from './harness.ts';

/**
 * The `history` frame: a room's history read backwards, page by page, as a chat client shows it
 * when a room opens and the user scrolls up; exactly what live delivery would have shown that WS
 * room (own events included), within the answer's limits. Bad requests change nothing.
 */

interface Page { events: { cursor: string; event: { id: string; text?: string; kind: string } }[]; before: string | null }

async function page(client: TestClient, frame: Record<string, unknown>): Promise<Page> {
  const answer = await client.request({ type: 'history', ...frame });
  assert.equal(answer.type, 'history', JSON.stringify(answer).slice(0, 300));
  return answer as unknown as Page;
}

async function withBridge(body: (bridge: TestBridge) => Promise<void>, opts: Parameters<typeof startBridge>[0] = {}): Promise<void> {
  const bridge = await startBridge(opts);
  try {
    await body(bridge);
  } finally {
    await bridge.stop();
  }
}

async function published(bridge: TestBridge, room: string, count: number): Promise<void> {
  const { waitFor } = await import('../helpers/wait.ts');
  await waitFor(async () => (await streamOf(bridge.bus, room)).length >= count, { what: `${count} events in ${room}` });
}

test('pages from the newest to the oldest, oldest first in each page; together they are the stream, own events included', () => withBridge(async (bridge) => {
  const alice = await connectClient(bridge.url, bridge.tokens.alice);
  const bob = await connectClient(bridge.url, bridge.tokens.bob);
  try {
    await alice.request({ type: 'join', room: 'lobby' });
    for (let i = 0; i < 60; i++) await bridge.bus.publish([xmppMessage(`x${i}`)]);
    for (let i = 0; i < 60; i++) await alice.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: `a${i}` } });
    await published(bridge, 'lobby', 120);

    // Bob has joined nothing: history needs no join, only a room the token may use.
    const first = await page(bob, { room: 'lobby' });
    assert.equal(first.events.length, 50, 'fifty by default');
    assert.deepEqual(first.events.map((e) => e.event.text), Array.from({ length: 50 }, (_, i) => `a${i + 10}`));
    assert.equal(first.before, first.events[0]!.cursor, 'the next page starts before the oldest shown');
    const second = await page(bob, { room: 'lobby', before: first.before, limit: 100 });
    assert.equal(second.events.length, 70);
    assert.equal(second.before, null, 'the oldest retained event was reached');

    const all = [...second.events, ...first.events];
    assert.deepEqual(all.map((e) => e.event.id), await streamOf(bridge.bus, 'lobby'));
    for (let i = 1; i < all.length; i++) assert.ok(compareCursors(all[i - 1]!.cursor, all[i]!.cursor) < 0, 'cursors ascend');
    const mine = await page(alice, { room: 'lobby', limit: 3 });
    assert.deepEqual(mine.events.map((e) => e.event.text), ['a57', 'a58', 'a59'], 'a client\'s own messages are part of its history');
    assert.equal(alice.frames.filter((f) => f.type === 'event').length, 60, 'history is an answer: nothing was pushed as an event beyond the live ones');
  } finally {
    await alice.close(); await bob.close();
  }
}));

test('an empty room, a limit of one, and a cursor between events', () => withBridge(async (bridge) => {
  const bob = await connectClient(bridge.url, bridge.tokens.bob);
  try {
    assert.deepEqual(await page(bob, { room: 'other' }), { type: 'history', ref: (bob.frames.at(-1) as ServerFrame).ref, room: 'other', events: [], before: null });
    for (let i = 0; i < 3; i++) await bridge.bus.publish([xmppMessage(`x${i}`)]);
    await published(bridge, 'lobby', 3);
    const one = await page(bob, { room: 'lobby', limit: 1 });
    assert.deepEqual(one.events.map((e) => e.event.text), ['x2']);
    const next = await page(bob, { room: 'lobby', limit: 1, before: one.before });
    assert.deepEqual(next.events.map((e) => e.event.text), ['x1']);
    const last = await page(bob, { room: 'lobby', limit: 1, before: next.before });
    assert.deepEqual([last.events.map((e) => e.event.text), last.before], [['x0'], null]);
    assert.deepEqual((await page(bob, { room: 'lobby', before: '9999999999999-0' })).events.length, 3, 'a cursor after the newest reads from the newest');
  } finally {
    await bob.close();
  }
}));

test('a room\'s history is what it was shown: a send-only room skips the other endpoints\' events, and a long run of them ends a page early', () => withBridge(async (bridge) => {
  const bob = await connectClient(bridge.url, bridge.tokens.bob);
  try {
    await bob.request({ type: 'join', room: 'desk' });
    await bob.request({ type: 'send', room: 'desk', event: { kind: 'message', text: 'old desk line' } });
    const flood = HISTORY_MAX_SCANNED + 50;
    const events = Array.from({ length: flood }, (_, i) => xmppMessage(`x${i}`, 'news', 'news@conference.example.org'));
    for (let i = 0; i < events.length; i += 200) await bridge.bus.publish(events.slice(i, i + 200));
    await bob.request({ type: 'send', room: 'desk', event: { kind: 'message', text: 'new desk line' } });
    await published(bridge, 'news', flood + 2);

    const first = await page(bob, { room: 'desk' });
    assert.deepEqual(first.events.map((e) => e.event.text), ['new desk line'], 'the XMPP messages were never shown in the send-only desk');
    assert.notEqual(first.before, null, 'the scan stopped at its bound: there is more to read');
    const second = await page(bob, { room: 'desk', before: first.before });
    assert.deepEqual([second.events.map((e) => e.event.text), second.before], [['old desk line'], null]);
    const mirror = await connectClient(bridge.url, bridge.tokens.carol);
    try {
      assert.equal((await page(mirror, { room: 'news-mirror', limit: 100 })).events.length, 100, 'the room that receives both ways is shown them');
    } finally {
      await mirror.close();
    }
  } finally {
    await bob.close();
  }
}, {
  bridges: [...BRIDGES, { room: 'news', source: 'test', endpoints: [
    { connector: 'websocket', address: 'desk', direction: 'send-only' },
    { connector: 'xmpp', address: 'news@conference.example.org' },
    { connector: 'websocket', address: 'news-mirror' },
  ] }],
}));

test('a bot pages a canonical room\'s stream (stream: true): everything that entered it, whichever endpoint it came from', () => withBridge(async (bridge) => {
  const bot = await connectClient(bridge.url, bridge.tokens.bot);
  const bob = await connectClient(bridge.url, bridge.tokens.bob);
  try {
    await bob.request({ type: 'join', room: 'desk' });
    await bob.request({ type: 'send', room: 'desk', event: { kind: 'message', text: 'desk line' } });
    await bridge.bus.publish([xmppMessage('from xmpp', 'news', 'news@conference.example.org')]);
    await published(bridge, 'news', 2);
    const stream = await page(bot, { room: 'news', stream: true });
    assert.deepEqual([stream.events.map((e) => e.event.text), stream.before, (bot.frames.at(-1) as ServerFrame)['room']], [['desk line', 'from xmpp'], null, 'news']);
    assert.deepEqual((await page(bob, { room: 'desk' })).events.map((e) => e.event.text), ['desk line'], 'the send-only WS room is shown only its own');
    const refusals: [TestClient, Record<string, unknown>, string][] = [
      [bob, { room: 'news', stream: true }, 'forbidden'],
      [bot, { room: 'nowhere', stream: true }, 'unknown_room'],
      [bot, { room: 'desk', stream: true }, 'unknown_room'],
    ];
    for (const [client, frame, code] of refusals) {
      const answer = await client.request({ type: 'history', ...frame });
      assert.deepEqual([answer.type, answer['code']], ['error', code], JSON.stringify(frame));
    }
  } finally {
    await bot.close(); await bob.close();
  }
}, {
  bridges: [...BRIDGES, { room: 'news', source: 'test', endpoints: [
    { connector: 'websocket', address: 'desk', direction: 'send-only' },
    { connector: 'xmpp', address: 'news@conference.example.org' },
  ] }],
}));

test('an answer stays within half of maxBufferedBytes, always with at least one event', () => withBridge(async (bridge) => {
  const bob = await connectClient(bridge.url, bridge.tokens.bob);
  try {
    // maxBufferedBytes 16 KiB: answers of at most 8 KiB.
    for (let i = 0; i < 6; i++) await bridge.bus.publish([xmppMessage(`${i}`.repeat(3_000))]);
    await bridge.bus.publish([xmppMessage('y'.repeat(12_000))]);
    await published(bridge, 'lobby', 7);
    const big = await page(bob, { room: 'lobby' });
    assert.deepEqual(big.events.map((e) => e.event.text?.length), [12_000], 'one event larger than the budget comes alone');
    let before = big.before;
    const sizes: number[] = [];
    while (before !== null) {
      const next = await page(bob, { room: 'lobby', before });
      assert.ok(JSON.stringify(next).length < 8 * 1024, 'within the budget');
      sizes.push(next.events.length);
      before = next.before;
    }
    assert.deepEqual(sizes, [2, 2, 2], 'two 3,000-character messages per answer');
    assert.equal(bob.ws.readyState, bob.ws.OPEN, 'never cut off as a slow consumer');
  } finally {
    await bob.close();
  }
}, { websocket: { maxBufferedBytes: 16 * 1024 } }));

test('a direct chat\'s history: both people see the conversation', () => withBridge(async (bridge) => {
  const alice = await connectClient(bridge.url, bridge.tokens.alice);
  const bob = await connectClient(bridge.url, bridge.tokens.bob);
  try {
    await alice.request({ type: 'send', room: '@websocket:bob', event: { kind: 'message', text: 'hi bob' } });
    await bob.collectEvents(1);
    await bob.request({ type: 'send', room: '@websocket:alice', event: { kind: 'message', text: 'hi alice' } });
    await alice.collectEvents(1);
    assert.deepEqual((await page(bob, { room: '@websocket:alice' })).events.map((e) => e.event.text), ['hi bob', 'hi alice']);
    const theirs = await page(alice, { room: '@websocket:bob' });
    assert.deepEqual([theirs.events.map((e) => e.event.text), (await alice.request({ type: 'history', room: '@websocket:bob' }))['room']], [['hi bob', 'hi alice'], '@websocket:bob']);
  } finally {
    await alice.close(); await bob.close();
  }
}, { websocket: { directMessages: true } }));

test('bad history requests get an error and change nothing; the connection goes on', () => withBridge(async (bridge) => {
  const limited = await connectClient(bridge.url, bridge.tokens.limited);
  try {
    await bridge.bus.publish([xmppMessage('x')]);
    await published(bridge, 'lobby', 1);
    const before = await streamOf(bridge.bus, 'lobby');
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ room: 'nowhere' }, 'unknown_room', /no bridge links/],
      [{ room: 'other' }, 'forbidden', /may not use/],
      [{ room: 'lobby', before: 'yesterday' }, 'bad_cursor', /before/],
      [{ room: 'lobby', limit: 0 }, 'bad_frame', /limit/],
      [{ room: 'lobby', limit: 101 }, 'bad_frame', /limit/],
      [{ room: 'lobby', limit: 2.5 }, 'bad_frame', /limit/],
      [{ room: 'lobby', since: '1-0' }, 'bad_frame', /since/],
      [{ room: '@websocket:', limit: 5 }, 'unknown_room', /./],
    ];
    for (const [frame, code, message] of cases) {
      const answer = await limited.request({ type: 'history', ...frame });
      assert.deepEqual([answer.type, answer['code']], ['error', code], JSON.stringify(frame));
      assert.match(String(answer['message']), message, JSON.stringify(frame));
    }
    assert.deepEqual(await streamOf(bridge.bus, 'lobby'), before);
    assert.equal((await page(limited, { room: 'lobby' })).events.length, 1, 'the connection goes on');
    assert.equal(await metricValue(bridge.registry, 'switchboard_ws_frames_in_total', { type: 'history' }), 5, 'the four malformed frames count as invalid');
  } finally {
    await limited.close();
  }
}, { websocket: { directMessages: true } }));
