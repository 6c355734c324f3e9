// Direct chats (main's `dm:` rooms) are not served by the MTProto chat layer yet (basic groups
// only). The router still hands the MTProto connector a direct chat addressed to an MTProto user
// id; such a delivery must never be taken for the group chat that happens to have the same
// number: a private message would land in a group. It is refused, logged, and nothing else moves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient } from '../helpers/ws-client.ts';
import { CHAT_ID, WS_TOKEN, chatClient, loginBot, shutdown, startChatBridge, updateRecorder } from './chat-harness.ts';

const PEER = -CHAT_ID;

test('a direct chat to an MTProto user id equal to a group chat id never lands in that group', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge();
  const bot = chatClient(bridge.mtprotoPort());
  const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
  try {
    await ws.request({ type: 'join', room: 'lobby' });
    await loginBot(bridge, bot);
    await bot.getDialogs();
    const rec = updateRecorder(bot);
    // The WS client writes privately to "mtproto user 1001", the number of the bridged group.
    const direct = await ws.request({ type: 'send', room: `@mtproto:${CHAT_ID}`, event: { kind: 'message', text: 'private, for user 1001' } });
    // MTProto takes no direct chats yet (capabilities.directChats): the sender is told, nothing is published.
    assert.deepEqual([direct.type, direct['code']], ['error', 'unknown_room'], JSON.stringify(direct));
    // Then something in the group, so the bot has surely seen everything before it.
    const inGroup = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'in the group' } });
    assert.equal(inGroup.type, 'ack', JSON.stringify(inGroup));
    await rec.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as { message: string }).message === 'in the group');
    const texts = rec.all.filter((u) => u.className === 'UpdateNewMessage').map((u) => (u['message'] as { message: string }).message);
    assert.deepEqual(texts, ['in the group'], `the direct message (ack: ${JSON.stringify(direct)}) is not in the group`);
    const history = await bot.getMessages(PEER, { limit: 5 });
    assert.ok(![...history].some((m) => m.message === 'private, for user 1001'), 'not in the group history either');
  } finally {
    await ws.close();
    await shutdown(bot);
    await bridge.close();
  }
});
