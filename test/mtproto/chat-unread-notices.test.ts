// Unread mentions and reactions. Mentions of an account: a message that mentions it carries `mentioned`, its dialog counts the
// unread ones (unread_mentions_count), messages.getUnreadMentions lists them, and
// messages.readMentions or reading the chat clears them. Its own messages do not count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, CHAT_ID, PERSON_ID, bigInt, rpcError, updateRecorder, withPersonAndBot, type ChatClient, type GramMessage, type GramUpdate } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Messages = (Api as unknown as { messages: Record<string, Ctor> }).messages;
const peer = () => new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });

async function unreadMentionsCount(client: ChatClient): Promise<number> {
  const all = await client.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100, hash: bigInt(0) })) as { dialogs: Array<{ peer: { chatId?: { toString(): string } }; unreadMentionsCount: number }> };
  return all.dialogs.find((d) => d.peer.chatId?.toString() === String(CHAT_ID))?.unreadMentionsCount ?? -1;
}
async function unreadMentions(client: ChatClient): Promise<string[]> {
  const r = await client.invoke(new Messages['GetUnreadMentions']!({ peer: peer(), offsetId: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0 })) as { messages: GramMessage[] };
  return r.messages.map((m) => m.message);
}

test('mentions of an account: flagged, counted in its dialog, listed, cleared by readMentions or by reading; its own do not count', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, _bot, ws) => {
    const rec = updateRecorder(person);
    const mention = (text: string) => ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text, spans: [{ type: 'mention', offset: 0, length: 4, user: `mtproto:${PERSON_ID}` }] } });
    const got = (text: string) => rec.next((u: GramUpdate) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).message === text);

    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'nobody in particular' } });
    assert.ok(!((await got('nobody in particular'))['message'] as { mentioned?: boolean }).mentioned);
    await mention('@bob look');
    assert.equal(((await got('@bob look'))['message'] as { mentioned?: boolean }).mentioned, true);
    await mention('@bob again');
    await got('@bob again');
    assert.equal(await unreadMentionsCount(person), 2);
    assert.deepEqual(await unreadMentions(person), ['@bob again', '@bob look'], 'newest first');

    // A chat the account does not see: refused, the mentions stay unread.
    const elsewhere = new Api.InputPeerChat({ chatId: bigInt(4242) });
    assert.equal(await rpcError(person.invoke(new Messages['ReadMentions']!({ peer: elsewhere }))), 'PEER_ID_INVALID');
    assert.equal(await rpcError(person.invoke(new Messages['GetUnreadMentions']!({ peer: elsewhere, offsetId: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0 }))), 'PEER_ID_INVALID');
    assert.equal(await unreadMentionsCount(person), 2);
    await person.invoke(new Messages['ReadMentions']!({ peer: peer() }));
    assert.equal(await unreadMentionsCount(person), 0);
    assert.deepEqual(await unreadMentions(person), []);

    await mention('@bob once more');
    await got('@bob once more');
    assert.equal(await unreadMentionsCount(person), 1);
    await person.invoke(new Api.messages.ReadHistory({ peer: peer(), maxId: 0 }));
    assert.equal(await unreadMentionsCount(person), 0, 'reading the chat reads its mentions');

    // His own message mentioning himself is no mention of him.
    const self = new (Api as unknown as Record<string, Ctor>)['InputMessageEntityMentionName']!({ offset: 0, length: 4, userId: new Api.InputUserSelf() });
    await person.invoke(new Api.messages.SendMessage({ peer: peer(), message: '@bob talks to himself', entities: [self], randomId: bigInt(90001) }));
    const own = await person.getMessages(-CHAT_ID, { limit: 1 });
    assert.equal(own[0]?.message, '@bob talks to himself');
    assert.ok((own[0] as unknown as { entities?: Array<{ className: string }> }).entities?.some((e) => e.className === 'MessageEntityMentionName'), 'it is a mention');
    assert.ok(!(own[0] as unknown as { mentioned?: boolean }).mentioned);
    assert.equal(await unreadMentionsCount(person), 0);
  });
});

test('reactions of others to an account\'s messages: counted in its dialog, listed, cleared by readReactions; its own reactions and reactions to others\' messages do not count', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const count = async () => {
      const all = await person.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100, hash: bigInt(0) })) as { dialogs: Array<{ peer: { chatId?: { toString(): string } }; unreadReactionsCount: number }> };
      return all.dialogs.find((d) => d.peer.chatId?.toString() === String(CHAT_ID))?.unreadReactionsCount ?? -1;
    };
    const listed = async () => ((await person.invoke(new Messages['GetUnreadReactions']!({ peer: peer(), offsetId: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0 }))) as { messages: GramMessage[] }).messages.map((m) => m.message);
    const wsIdOf = async (text: string) => String((await ws.next((f) => f.type === 'event' && (f as unknown as { event: { text?: string } }).event.text === text) as unknown as { event: { id: string } }).event.id);
    const react = (target: string, reactions: string[]) => ws.request({ type: 'send', room: 'lobby', event: { kind: 'reaction', target, reactions } });
    const botRec = updateRecorder(bot);
    const settled = (n: number) => botRec.next((u) => u.className === 'UpdateEditMessage' && ((u['message'] as GramMessage).reactions?.results.length ?? 0) === n);

    const mine = await person.sendMessage(-CHAT_ID, { message: 'react to this' });
    const mineId = await wsIdOf('react to this');
    await bot.sendMessage(-CHAT_ID, { message: 'the bot\'s own' });
    const botsId = await wsIdOf('the bot\'s own');

    // Bob's own reaction to his message is nothing he has not seen.
    await person.invoke(new Api.messages.SendReaction({ peer: peer(), msgId: mine.id, reaction: [new Api.ReactionEmoji({ emoticon: '🎉' })] }));
    await settled(1);
    assert.equal(await count(), 0);
    await react(mineId, ['👍']);
    await settled(2);
    await react(botsId, ['❤']);
    await botRec.next((u) => u.className === 'UpdateEditMessage' && (u['message'] as GramMessage).message === 'the bot\'s own');
    assert.equal(await count(), 1, 'only alice\'s reaction to bob\'s message');
    assert.deepEqual(await listed(), ['react to this']);

    await person.invoke(new Messages['ReadReactions']!({ peer: peer() }));
    assert.equal(await count(), 0);
    assert.deepEqual(await listed(), []);
    // Bob changes his own reaction on a message alice reacted to: still nothing new for him.
    await person.invoke(new Api.messages.SendReaction({ peer: peer(), msgId: mine.id, reaction: [new Api.ReactionEmoji({ emoticon: '😀' })] }));
    await botRec.next((u) => u.className === 'UpdateEditMessage' && ((u['message'] as GramMessage).reactions?.results ?? []).some((r) => r.reaction.emoticon === '😀'));
    assert.equal(await count(), 0, 'his own reaction, although alice\'s is on the message');
    await react(mineId, ['👍', '🔥']);
    await settled(3);
    assert.equal(await count(), 1, 'a new reaction after the mark');
  });
});
