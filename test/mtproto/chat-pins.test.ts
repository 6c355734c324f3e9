// Pinning (messages.updatePinnedMessage through gramjs' pinMessage / unpinMessage, and
// unpinAllMessages): everyone is told by a message of the pinner answering the pinned one (the
// canonical event has no pin), and MTProto clients find it as the chat's pinned message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, CHAT_ID, bigInt, rpcError, withPersonAndBot, wsEvent, type ChatClient } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Messages = (Api as unknown as { messages: Record<string, Ctor> }).messages;
const pinnedOf = async (client: ChatClient) => ((await client.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) }))) as { fullChat: { pinnedMsgId?: number | null } }).fullChat.pinnedMsgId ?? undefined;
interface Pinner { pinMessage(entity: unknown, message: number, params?: Record<string, unknown>): Promise<unknown>; unpinMessage(entity: unknown, message?: number, params?: Record<string, unknown>): Promise<unknown> }

test('a pin is told to everyone as a message answering the pinned one, and is the chat\'s pinned message for MTProto clients; an unpin likewise; bad pins refused', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const sent = await bot.sendMessage(-CHAT_ID, { message: 'announcement: the bridge is up' });
    const original = await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('announcement'));
    await (bot as unknown as Pinner).pinMessage(-CHAT_ID, sent.id);
    const pinned = await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌'));
    assert.equal(pinned['text'], '📌 Pinned: «announcement: the bridge is up»');
    assert.equal(pinned['replyTo'], original['id'], 'it answers the pinned message');
    assert.equal(await pinnedOf(person), sent.id);

    assert.equal(await rpcError((bot as unknown as Pinner).pinMessage(-CHAT_ID, sent.id)), 'MESSAGE_NOT_MODIFIED');
    assert.equal(await rpcError(bot.invoke(new Messages['UpdatePinnedMessage']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), id: 99_999 }))), 'MESSAGE_ID_INVALID');

    await (bot as unknown as Pinner).unpinMessage(-CHAT_ID, sent.id);
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌')))['text'], '📌 Unpinned: «announcement: the bridge is up»');
    assert.equal(await pinnedOf(person), undefined);
    assert.equal(await rpcError((bot as unknown as Pinner).unpinMessage(-CHAT_ID, sent.id)), 'MESSAGE_NOT_MODIFIED', 'not pinned: nothing to unpin');

    // Pinned again, then everything unpinned at once.
    await (bot as unknown as Pinner).pinMessage(-CHAT_ID, sent.id);
    await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌 Pinned'));
    await person.invoke(new Messages['UnpinAllMessages']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }) }));
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌')))['text'], '📌 Unpinned: «announcement: the bridge is up»');
    assert.equal(await pinnedOf(bot), undefined);
  });
});
