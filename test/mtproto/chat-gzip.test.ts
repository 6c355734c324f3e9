// Large API results go out as gzip_packed (mtproto.gzipResultsFrom), as Telegram's servers send
// them: a stock gramjs client reads a history that only fits its answer packed, byte for byte the
// same as with packing off; small answers are never packed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient } from '../helpers/ws-client.ts';
import { metricValue } from './harness.ts';
import { CHAT_ID, WS_TOKEN, chatClient, loginBot, shutdown, startChatBridge, updateRecorder, type ChatBridge, type GramMessage } from './chat-harness.ts';

const PEER = -CHAT_ID;
const TEXTS = Array.from({ length: 40 }, (_, i) => `message ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(3)}`);

async function gzipped(bridge: ChatBridge): Promise<number> {
  return metricValue(bridge.app.registry, 'switchboard_mtproto_results_gzipped_total');
}

/** 40 messages from WS, then the bot reads them: what it got, and how many results went packed meanwhile. */
async function readHistory(mtprotoExtra?: string): Promise<{ texts: string[]; packedForHistory: number; packedBefore: number }> {
  const bridge = await startChatBridge(mtprotoExtra !== undefined ? { mtprotoExtra } : {});
  const bot = chatClient(bridge.mtprotoPort());
  const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
  try {
    await ws.request({ type: 'join', room: 'lobby' });
    for (const text of TEXTS) assert.equal((await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } })).type, 'ack');
    await loginBot(bridge, bot);
    await bot.getDialogs(); // gramjs learns the group here
    const before = await gzipped(bridge);
    // One message alone: a small answer, never packed.
    const [newest] = await bot.getMessages(PEER, { limit: 1 });
    assert.equal(newest?.message, TEXTS.at(-1));
    assert.equal(await gzipped(bridge), before, 'a small answer goes as it is');
    const history = await bot.getMessages(PEER, { limit: 40 });
    return { texts: [...history].map((m) => m.message).reverse(), packedForHistory: (await gzipped(bridge)) - before, packedBefore: before };
  } finally {
    await ws.close();
    await shutdown(bot);
    await bridge.close();
  }
}

test('a history too large for one plain answer arrives gzip_packed and reads the same as with packing off', { timeout: 180_000 }, async () => {
  const packed = await readHistory();
  assert.deepEqual(packed.texts, TEXTS, 'gramjs reads the packed history');
  assert.ok(packed.packedForHistory >= 1, `the 40-message history went gzip_packed (${packed.packedForHistory})`);
  const plain = await readHistory('  gzipResultsFrom: 0');
  assert.deepEqual(plain.texts, TEXTS);
  assert.equal(plain.packedForHistory + plain.packedBefore, 0, 'gzipResultsFrom: 0 packs nothing');
});

test('a large pushed update goes gzip_packed too, and the client reads it the same; small ones and gzipResultsFrom 0 go as they are', { timeout: 180_000 }, async () => {
  const long = `a long one: ${'the quick brown fox jumps over the lazy dog '.repeat(60)}`;
  for (const [extra, packs] of [[undefined, true], ['  gzipResultsFrom: 0', false]] as const) {
    const bridge = await startChatBridge(extra !== undefined ? { mtprotoExtra: extra } : {});
    const bot = chatClient(bridge.mtprotoPort());
    const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    try {
      await ws.request({ type: 'join', room: 'lobby' });
      await loginBot(bridge, bot);
      await bot.getDialogs();
      const rec = updateRecorder(bot);
      const pushed = async () => metricValue(bridge.app.registry, 'switchboard_mtproto_updates_gzipped_total');
      await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'a short one' } });
      await rec.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === 'a short one');
      assert.equal(await pushed(), 0, 'a small update goes as it is');
      await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: long } });
      const got = await rec.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message.startsWith('a long one'));
      assert.equal((got['message'] as GramMessage).message, long, 'read the same');
      assert.equal(await pushed(), packs ? 1 : 0);
      // Packed or not, pushes keep their order (they are packed where they are sent, not beside).
      const order = [`${long} (1)`, 'short (2)', `${long} (3)`, 'short (4)'];
      for (const text of order) await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
      await rec.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === 'short (4)');
      const seen = rec.all.filter((u) => u.className === 'UpdateNewMessage').map((u) => (u['message'] as GramMessage).message).filter((m) => order.includes(m));
      assert.deepEqual(seen, order);
    } finally {
      await ws.close();
      await shutdown(bot);
      await bridge.close();
    }
  }
});
