// A moderator account (mtproto.accounts[].moderator: the groups' admin) deletes anyone's message in
// its groups, for everyone: a moderator's removal (canonical `moderation`) that every network of
// the room carries out. Anyone else deleting another's message gets MESSAGE_DELETE_FORBIDDEN and
// nothing changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BOT_ID, CHAT_ID, PERSON_ID, Api, bigInt, rpcError, updateRecorder, withPersonAndBot, wsEvent, type GramMessage, type GramUpdate } from './chat-harness.ts';

const PEER = -CHAT_ID;
const messageOf = (u: GramUpdate) => u['message'] as GramMessage;
type Full = { fullChat: { participants: { participants: Array<{ className: string; userId: { toString(): string } }> } }; chats: Array<{ adminRights?: { deleteMessages?: boolean } }> };

test('a moderator account deletes a WS user\'s and a bot\'s message for everyone (a retract with moderation on WS); the bot, not one, may not delete his', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const botSees = updateRecorder(bot);
    // The group tells apps who its admin is: the person, with the right to delete messages.
    const full = await person.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) })) as Full;
    const roles = new Map(full.fullChat.participants.participants.map((p) => [p.userId.toString(), p.className]));
    assert.deepEqual([roles.get(String(PERSON_ID)), roles.get(String(BOT_ID))], ['ChatParticipantAdmin', 'ChatParticipant']);
    assert.equal(full.chats[0]?.adminRights?.deleteMessages, true);
    const botView = await bot.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) })) as Full;
    assert.equal(botView.chats[0]?.adminRights ?? undefined, undefined, 'the bot is no admin');

    // Spam from alice (WS) and from the bot.
    const aliceSpam = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'cheap watches' } });
    const spam = messageOf(await botSees.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'cheap watches'));
    const fromBot = await bot.sendMessage(PEER, { message: 'bot spam' });
    const botSpam = await wsEvent(ws, 'message', (e) => e['text'] === 'bot spam');

    // The bot may not delete the person's message: refused, nothing published.
    const mine = await person.sendMessage(PEER, { message: 'the person\'s own' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'the person\'s own');
    assert.equal(await rpcError(bot.deleteMessages(PEER, [mine.id], { revoke: true })), 'MESSAGE_DELETE_FORBIDDEN');

    // Nor may the moderator delete someone else's message in a private chat: he is no admin there.
    const personSees = updateRecorder(person);
    await bot.sendMessage('bobbuilder', { message: 'a private word' });
    const privateWord = messageOf(await personSees.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'a private word'));
    assert.equal(await rpcError(person.deleteMessages(await person.getEntity(bigInt(String(BOT_ID))), [privateWord.id], { revoke: true })), 'MESSAGE_DELETE_FORBIDDEN');

    // A moderator's "delete for me" (no revoke) of another's message is no removal: refused too.
    assert.equal(await rpcError(person.deleteMessages(PEER, [spam.id], { revoke: false })), 'MESSAGE_DELETE_FORBIDDEN');

    // The person deletes alice's and the bot's: gone for the bot too, and a moderator's removal on WS.
    await person.deleteMessages(PEER, [spam.id, fromBot.id], { revoke: true });
    const removed = [await wsEvent(ws, 'retract'), await wsEvent(ws, 'retract')];
    assert.deepEqual(removed.map((e) => [e['target'], e['moderation'], (e.sender as { id: string }).id]),
      [[aliceSpam['id'], {}, String(PERSON_ID)], [botSpam.id, {}, String(PERSON_ID)]]);
    const deleted = await botSees.next((u) => u.className === 'UpdateDeleteMessages' && (u['messages'] as number[]).includes(spam.id));
    assert.ok(deleted);
    await botSees.next((u) => u.className === 'UpdateDeleteMessages' && (u['messages'] as number[]).includes(fromBot.id));
    const [still] = await bot.getMessages(PEER, { ids: [mine.id] });
    assert.equal(still?.message, 'the person\'s own', 'the refused deletion changed nothing');
    assert.equal(ws.events.filter((e) => e.event.kind === 'retract').length, 2, 'only the moderator\'s two');
  }, { personModerator: true });
});
