// Private chats (chat/direct-chats.ts): an MTProto account and a person of another network, or two
// accounts, write to each other as the core's direct rooms (`dm:`), with stock gramjs clients on
// the MTProto side and a WS client on the other. Everything a group has works the same way (send,
// reply, edit, react, delete, typing, read marks, dialogs, history, pts and getDifference, and a
// restart on the embedded defaults), and what must not go through is refused with nothing
// published.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';
import { directRoom } from '../../src/core/direct.ts';
import { newEventId } from '../../src/core/ids.ts';
import { puppetIdOf } from '../../src/connectors/mtproto/chat/people.ts';
import { PRESENCE_DIRECT_CHATS } from '../../src/connectors/mtproto/chat/methods/users.ts';
import { chatState, STATE_NAMESPACE } from '../../src/connectors/mtproto/chat/state-namespace.ts';
import {
  Api, BOT_ID, CHAT_ID, CustomFile, PERSON_ID, WS_TOKEN, bigInt, chatClient, loginBot, loginPerson, rpcError, serverUserHash, shutdown, startChatBridge, updateRecorder, withChatClient,
  type ChatBridge, type ChatClient, type GramMessage, type GramUpdate,
} from './chat-harness.ts';
import { metricValue } from './harness.ts';

const ALICE = puppetIdOf('websocket:alice');
const ALICE_ROOM = `@mtproto:${PERSON_ID}`;
const DM = directRoom({ network: 'mtproto', id: String(PERSON_ID) }, { network: 'websocket', id: 'alice' })!;

interface RawMessage { className: string; id: number; message?: string; out?: boolean; peerId?: { className: string; userId?: { toString(): string }; chatId?: unknown }; fromId?: { userId?: { toString(): string } }; replyTo?: { replyToMsgId?: number } }

const messageOf = (u: GramUpdate) => u['message'] as RawMessage;
/**
 * The mapper holds a person's typing and presence back behind the previous one for its window
 * (2 s by default, tested in test/mapper/): short here, so each step's wait is short.
 */
const COALESCE_QUICKLY = 'coalesceMs: 100\n';
const newMessage = (text: string) => (u: GramUpdate) => u.className === 'UpdateNewMessage' && messageOf(u).message === text;

async function wsMessage(ws: TestClient, text: string): Promise<EventFrame> {
  return await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'message' && (f as EventFrame).event['text'] === text) as EventFrame;
}


/** A fresh bridge (`opts`), the person logged in with his dialogs listed, and alice (WS) joined to the lobby. */
function withPerson(fn: (bridge: ChatBridge, person: ChatClient, ws: TestClient) => Promise<void>, opts: Parameters<typeof startChatBridge>[0] = {}): Promise<void> {
  return withChatClient(async (bridge, person) => { await loginPerson(bridge, person); await person.getDialogs(); }, fn, opts);
}

test('an MTProto person and a WS user write privately: message, reply, edit, reaction, typing, presence, read mark, file, delete, both ways', { timeout: 120_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    const rec = updateRecorder(person);
    // alice (WS) writes first: bob gets a private message from her user, with her in the update's users.
    const first = await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'hi bob, *privately*', spans: [{ type: 'bold', offset: 8, length: 11 }] } });
    assert.equal(first.type, 'ack', JSON.stringify(first));
    const got = messageOf(await rec.next(newMessage('hi bob, *privately*')).catch((err) => { throw new Error(`${String(err)} ${JSON.stringify(rec.all.map((u) => [u.className, messageOf(u)?.message]))}`); }));
    assert.equal(got.peerId?.className, 'PeerUser');
    assert.equal(got.peerId?.userId?.toString(), String(ALICE));
    assert.equal(got.out, false);
    const alice = await person.getEntity(bigInt(String(ALICE)));
    assert.match(alice.firstName ?? '', /^Alice/);

    // Her private chat is a dialog, beside the group.
    const dialogs = await person.getDialogs();
    const dialog = dialogs.find((d) => d.id.toString() === String(ALICE));
    assert.ok(dialog !== undefined, `a dialog with alice: ${dialogs.map((d) => d.title).join(', ')}`);
    assert.equal(dialog.message?.message, 'hi bob, *privately*');
    assert.equal(dialog.unreadCount, 1);
    assert.ok(dialogs.some((d) => d.id.toString() === String(-CHAT_ID)), 'the group is still listed');

    // bob answers with a reply: alice gets it in her chat with him, pointing at her message.
    const sent = await person.sendMessage(alice, { message: 'hello alice', replyTo: got.id });
    const answer = await wsMessage(ws, 'hello alice');
    assert.equal(answer.room, ALICE_ROOM);
    assert.equal(answer.event.room, DM);
    assert.deepEqual(answer.event['sender'], { network: 'mtproto', id: String(PERSON_ID), name: 'Bob Builder' });
    assert.equal(answer.event['replyTo'], first['id']);

    // bob edits and reacts; alice sees both.
    await person.editMessage(alice, { message: sent.id, text: 'hello alice!' });
    const edit = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'edit') as EventFrame;
    assert.deepEqual([edit.room, edit.event['target'], edit.event['text']], [ALICE_ROOM, answer.event.id, 'hello alice!']);
    const peer = new Api.InputPeerUser({ userId: bigInt(String(ALICE)), accessHash: (alice as unknown as { accessHash: unknown }).accessHash });
    await person.invoke(new Api.messages.SendReaction({ peer, msgId: got.id, reaction: [new Api.ReactionEmoji({ emoticon: '👍' })] }));
    const reaction = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'reaction') as EventFrame;
    assert.deepEqual([reaction.room, reaction.event['reactions']], [ALICE_ROOM, ['👍']]);

    // alice reacts, types and edits in turn; bob gets each as the private chat's update.
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'reaction', target: answer.event.id, reactions: ['🎉'] } });
    const reacted = messageOf(await rec.next((u) => u.className === 'UpdateEditMessage' && messageOf(u).id === sent.id));
    assert.equal(reacted.peerId?.userId?.toString(), String(ALICE));
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'typing', state: 'active' } });
    const typing = await rec.next((u) => u.className === 'UpdateUserTyping');
    assert.equal(String(typing['userId']), String(ALICE));
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'second one' } });
    const second = messageOf(await rec.next(newMessage('second one')));

    // bob comes online: alice sees his presence in their chat (and in the group).
    await person.invoke(new Api.account.UpdateStatus({ offline: false }));
    const presence = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'presence' && (f as EventFrame).room === ALICE_ROOM) as EventFrame;
    assert.deepEqual([presence.event['state'], (presence.event['sender'] as { id?: string }).id], ['available', String(PERSON_ID)]);

    // bob marks the chat read: alice gets a read receipt for her newest message.
    await person.markAsRead(alice);
    const receipt = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'receipt') as EventFrame;
    assert.equal(receipt.room, ALICE_ROOM);
    // alice reads bob's answer: his client learns its outbox was read, in their chat.
    const Messages = (Api as unknown as { messages: Record<string, new (a: Record<string, unknown>) => object> }).messages;
    const readDate = (p: unknown, msgId: number) => person.invoke(new Messages['GetOutboxReadDate']!({ peer: p, msgId })) as Promise<{ date: number }>;
    assert.equal(await rpcError(readDate(peer, sent.id)), 'MESSAGE_NOT_READ_YET');
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'receipt', receipt: 'displayed', target: answer.event.id } });
    const read = await rec.next((u) => u.className === 'UpdateReadHistoryOutbox');
    assert.deepEqual([(read['peer'] as { className: string; userId?: { toString(): string } }).userId?.toString(), read['maxId']], [String(ALICE), sent.id]);
    // ... and when (messages.getOutboxReadDate): only for his own message, only in a private chat.
    assert.ok(Math.abs((await readDate(peer, sent.id)).date - Date.now() / 1000) < 60, 'read just now');
    assert.equal(await rpcError(readDate(peer, got.id)), 'MESSAGE_ID_INVALID', 'her message is not his outbox');
    assert.equal(await rpcError(readDate(new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }) as object, sent.id)), 'PEER_ID_INVALID');
    // bob types: alice sees it in their chat.
    await person.invoke(new Api.messages.SetTyping({ peer, action: new Api.SendMessageTypingAction() }));
    const typed = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'typing' && (f as EventFrame).room === ALICE_ROOM) as EventFrame;
    assert.equal(typed.event['state'], 'active');

    // alice deletes her second message: bob's client drops it.
    const stream = await bridge.app.bus.readStream(DM, undefined, 50);
    const secondEvent = stream.entries.map((e) => e.event).find((e) => e.kind === 'message' && e.text === 'second one');
    assert.ok(secondEvent !== undefined, 'the private chat is a canonical stream of its own');
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'retract', target: secondEvent.id } });
    const deleted = await rec.next((u) => u.className === 'UpdateDeleteMessages');
    assert.deepEqual((deleted['messages'] as number[]).map(Number), [second.id]);

    // bob sends a file privately: alice gets an attachment whose URL serves the same bytes.
    const bytes = Buffer.from(`for alice only: ${'y'.repeat(2000)}`);
    await person.sendFile(alice, { file: new CustomFile('private.txt', bytes.length, '', bytes), caption: 'a private file', forceDocument: true, workers: 1 });
    const file = await wsMessage(ws, 'a private file');
    assert.equal(file.room, ALICE_ROOM);
    const [attachment] = file.event['attachments'] as Array<{ name: string; sha256: string; url: string }>;
    assert.deepEqual([attachment?.name, attachment?.sha256], ['private.txt', createHash('sha256').update(bytes).digest('hex')]);
    assert.deepEqual(Buffer.from(await (await fetch(attachment!.url)).arrayBuffer()), bytes);
    // ... and deletes it again (his own message, for both sides): alice gets the retraction.
    const sentFile = [...await person.getMessages(alice, { limit: 1 })][0]!;
    assert.equal(sentFile.message, 'a private file');
    await person.deleteMessages(alice, [sentFile.id], { revoke: true });
    const retract = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'retract') as EventFrame;
    assert.deepEqual([retract.room, retract.event['target']], [ALICE_ROOM, file.event.id]);

    // History of the private chat, newest first, as bob's client reads it.
    const history = await person.getMessages(alice, { limit: 10 });
    assert.deepEqual([...history].map((m: GramMessage) => m.message), ['hello alice!', 'hi bob, *privately*']);
    assert.equal(history[1]?.entities?.[0]?.className, 'MessageEntityBold');

    // Nothing of the private chat leaked into the group.
    const group = await person.getMessages(-CHAT_ID, { limit: 20 });
    assert.ok(![...group].some((m) => ['hi bob, *privately*', 'hello alice', 'second one'].includes(m.message)), 'not in the group');
  }, { files: { 'mappings/presence.yaml': COALESCE_QUICKLY } });
});

test('a private chat survives a restart on the embedded defaults: the dialog, its history, and getDifference from before', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge({ keepPort: true });
  let person = chatClient(bridge.mtprotoPort());
  let ws: TestClient | undefined;
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await loginPerson(bridge, person);
    await person.getDialogs();
    const rec = updateRecorder(person);
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'before the restart' } });
    await rec.next(newMessage('before the restart'));
    const state = await person.invoke(new Api.updates.GetState()) as { pts: number; date: number; qts: number };
    // Then alice writes twice more, and the bridge restarts, while bob's client is away.
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'while you were away 1' } });
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'while you were away 2' } });
    await ws.close();
    ws = undefined;
    await bridge.restart();
    await shutdown(person);
    person = chatClient(bridge.mtprotoPort());
    await loginPerson(bridge, person);
    const diff = await person.invoke(new Api.updates.GetDifference({ pts: state.pts, date: state.date, qts: 0 })) as { className: string; newMessages?: RawMessage[]; state?: { pts: number } };
    assert.equal(diff.className, 'updates.Difference');
    assert.deepEqual(diff.newMessages?.map((m) => m.message), ['while you were away 1', 'while you were away 2']);
    assert.ok(diff.newMessages?.every((m) => m.peerId?.userId?.toString() === String(ALICE)));
    assert.equal(diff.state?.pts, state.pts + 2);
    const dialogs = await person.getDialogs();
    const dialog = dialogs.find((d) => d.id.toString() === String(ALICE));
    assert.equal(dialog?.message?.message, 'while you were away 2');
  } finally {
    await ws?.close();
    await shutdown(person);
    await bridge.close();
  }
});

test('two accounts write privately: each message reaches the other once, each side sees its peer, the sender\'s other session its own message', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge();
  const person = chatClient(bridge.mtprotoPort());
  const bot = chatClient(bridge.mtprotoPort());
  // The bot's second session (another client with the same token).
  const bot2 = chatClient(bridge.mtprotoPort());
  try {
    await loginPerson(bridge, person);
    await loginBot(bridge, bot);
    await loginBot(bridge, bot2);
    await person.getDialogs();
    await bot.getDialogs();
    await bot2.getDialogs();
    const personRec = updateRecorder(person);
    const botRec = updateRecorder(bot);
    const bot2Rec = updateRecorder(bot2);
    // The bot finds bob by his username (contacts.resolveUsername) and writes to him.
    const sent = await bot.sendMessage('bobbuilder', { message: 'hello from the bot' });
    const got = messageOf(await personRec.next(newMessage('hello from the bot')).catch((err) => { throw new Error(`${String(err)} ${JSON.stringify(personRec.all.map((u) => [u.className, messageOf(u)?.message, String(messageOf(u)?.peerId?.userId)]))}`); }));
    assert.equal(got.peerId?.userId?.toString(), String(BOT_ID));
    assert.equal(got.out, false);
    assert.equal(sent.out, true);
    // The bot's other session sees what it sent: its own message, to bob.
    const mirrored = messageOf(await bot2Rec.next(newMessage('hello from the bot')));
    assert.deepEqual([mirrored.id, mirrored.out, mirrored.peerId?.userId?.toString()], [sent.id, true, String(PERSON_ID)]);
    const relay = await person.getEntity(bigInt(String(BOT_ID)));
    await person.sendMessage(relay, { message: 'hello bot', replyTo: got.id });
    const back = messageOf(await botRec.next(newMessage('hello bot')).catch((err) => { throw new Error(`${String(err)} ${JSON.stringify(botRec.all.map((u) => [u.className, messageOf(u)?.message, String(messageOf(u)?.peerId?.userId)]))}`); }));
    assert.equal(back.peerId?.userId?.toString(), String(PERSON_ID));
    assert.equal(back.replyTo?.replyToMsgId, sent.id);
    // Each got each message once (two deliveries of one private chat: written and pushed once).
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(personRec.all.filter(newMessage('hello from the bot')).length, 1);
    assert.equal(botRec.all.filter(newMessage('hello bot')).length, 1);
    assert.equal(botRec.all.filter(newMessage('hello from the bot')).length, 0, 'the sending session gets its answer, not an echo');
    const personDialogs = await person.getDialogs();
    assert.ok(personDialogs.some((d) => d.id.toString() === String(BOT_ID)));
    const botHistory = await bot.getMessages('bobbuilder', { limit: 5 });
    assert.deepEqual([...botHistory].map((m) => [m.message, m.out]), [['hello bot', false], ['hello from the bot', true]]);
  } finally {
    await shutdown(person);
    await shutdown(bot);
    await shutdown(bot2);
    await bridge.close();
  }
});

test('bad private-chat input: a wrong access hash, an unknown user, a network that does not deliver here; nothing is published', { timeout: 120_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    // The right hashes, so that each case is refused by its own check rather than by the hash check.
    const hashOf = (id: bigint) => serverUserHash(bridge, id);
    // alice is known to bob (she wrote in the group).
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi all' } });
    const rec = updateRecorder(person);
    await rec.next(newMessage('hi all')).catch(() => undefined);
    const send = (userId: bigint, accessHash: unknown) => person.invoke(new Api.messages.SendMessage({ peer: new Api.InputPeerUser({ userId: bigInt(String(userId)), accessHash }), message: 'should not go', randomId: bigInt(Date.now()) }));
    assert.equal(await rpcError(send(ALICE, bigInt(12345))), 'PEER_ID_INVALID', 'a wrong access hash');
    assert.equal(await rpcError(send(puppetIdOf('websocket:nobody'), await hashOf(puppetIdOf('websocket:nobody')))), 'PEER_ID_INVALID', 'an unknown user');
    // (Oneself is no bad input: it is one's Saved Messages, chat-saved.test.ts.)
    // A person of a network that does not run here (an XMPP user met before XMPP was switched off).
    const dave = puppetIdOf('xmpp:dave@example.org');
    await chatState(bridge.app.bus.state(STATE_NAMESPACE)).set(`user:${dave}`, JSON.stringify({ id: String(dave), key: 'xmpp:dave@example.org', name: 'Dave', network: 'xmpp', nativeId: 'dave@example.org' }));
    assert.equal(await rpcError(send(dave, await hashOf(dave))), 'PEER_ID_INVALID', 'a network that takes no direct chats here');
    for (const parties of [[{ network: 'mtproto', id: String(PERSON_ID) }, { network: 'websocket', id: 'alice' }], [{ network: 'mtproto', id: String(PERSON_ID) }, { network: 'xmpp', id: 'dave@example.org' }]] as const) {
      const room = directRoom(parties[0], parties[1])!;
      assert.deepEqual((await bridge.app.bus.readStream(room, undefined, 10)).entries, [], `nothing published in ${room}`);
    }
    // A WS private message to an MTProto user id that is no account (1001 is the group's number): it never lands in the group.
    const direct = await ws.request({ type: 'send', room: `@mtproto:${CHAT_ID}`, event: { kind: 'message', text: 'private, for user 1001' } });
    assert.equal(direct.type, 'ack', JSON.stringify(direct));
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'in the group' } });
    await rec.next(newMessage('in the group'));
    const texts = rec.all.filter((u) => u.className === 'UpdateNewMessage').map((u) => messageOf(u).message);
    assert.ok(!texts.includes('private, for user 1001'), 'not pushed');
    const history = await person.getMessages(-CHAT_ID, { limit: 5 });
    assert.ok(![...history].some((m) => m.message === 'private, for user 1001'), 'not in the group history either');
    assert.equal(await metricValue(bridge.app.registry, 'switchboard_mtproto_direct_dropped_total', { reason: 'no_account' }), 1);
    assert.ok(!(await person.getDialogs()).some((d) => d.id.toString() === String(ALICE)), 'no private chat with alice came of it');
  });
});

test('an account config.yaml\'s ignore: names keeps its private chats on MTProto: one to a WS user is CHAT_WRITE_FORBIDDEN and publishes nothing; the group goes on', { timeout: 120_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    const hashOf = (id: bigint) => serverUserHash(bridge, id);
    const rec = updateRecorder(person);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi all' } });
    await rec.next(newMessage('hi all'));
    const send = (userId: bigint, accessHash: unknown) => person.invoke(new Api.messages.SendMessage({ peer: new Api.InputPeerUser({ userId: bigInt(String(userId)), accessHash }), message: 'kept back', randomId: bigInt(Date.now()) }));
    assert.equal(await rpcError(send(ALICE, await hashOf(ALICE))), 'CHAT_WRITE_FORBIDDEN');
    const room = directRoom({ network: 'mtproto', id: String(PERSON_ID) }, { network: 'websocket', id: 'alice' })!;
    assert.deepEqual((await bridge.app.bus.readStream(room, undefined, 10)).entries, [], 'nothing published');
    // In the group its messages are kept back as in any room (bridges/ rules and config.yaml's alike): alice gets none.
    await person.sendMessage(new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }) as never, { message: 'in the group' });
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'alice again' } });
    await rec.next(newMessage('alice again'));
    assert.equal(ws.events.some((e) => e.event['text'] === 'in the group' || e.event['text'] === 'kept back'), false);
  }, { extra: `ignore:\n  senders:\n    - mtproto: ${PERSON_ID}` });
});

test('past mtproto.maxDirectChats a new private chat is refused: PEER_FLOOD to an account, a message from elsewhere dropped; the ones it has go on', { timeout: 120_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    const bot = chatClient(bridge.mtprotoPort());
    try {
      await loginBot(bridge, bot);
      const rec = updateRecorder(person);
      // bob's one private chat: alice's.
      await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'the one chat' } });
      await rec.next(newMessage('the one chat'));
      // The bot may not open a second one with him.
      assert.equal(await rpcError(bot.sendMessage('bobbuilder', { message: 'a second chat?' })), 'PEER_FLOOD');
      const botRoom = directRoom({ network: 'mtproto', id: String(BOT_ID) }, { network: 'mtproto', id: String(PERSON_ID) })!;
      assert.deepEqual((await bridge.app.bus.readStream(botRoom, undefined, 10)).entries, [], 'nothing published');
      // Someone on another network cannot be refused at their end: their message is dropped here.
      const daveRoom = directRoom({ network: 'websocket', id: 'dave' }, { network: 'mtproto', id: String(PERSON_ID) })!;
      await bridge.app.bus.publish([{
        v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: daveRoom,
        sender: { network: 'websocket', id: 'dave', name: 'Dave' }, origin: { connector: 'websocket', endpoint: 'dave' }, text: 'from dave',
      }]);
      // alice's chat goes on; by her next message bob would have had dave's.
      await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'still here' } });
      await rec.next(newMessage('still here'));
      assert.ok(!rec.all.some(newMessage('from dave')), 'dave\'s message was not pushed');
      assert.equal(await metricValue(bridge.app.registry, 'switchboard_mtproto_direct_dropped_total', { reason: 'full' }), 1);
      const dialogs = [...await person.getDialogs()].map((d) => d.id.toString()).sort();
      assert.deepEqual(dialogs, [String(-CHAT_ID), String(ALICE)].sort(), 'the group and alice, nobody else');
    } finally {
      await shutdown(bot);
    }
  }, { mtprotoExtra: '  maxDirectChats: 1' });
});

test('a person linked across networks who writes from two of them is one user with one dialog, the newest chat\'s', { timeout: 120_000 }, async () => {
  const identities = 'identities:\n  - canonical: alice\n    displayName: Alice\n    websocket: alice\n    xmpp: alice@example.org\n';
  await withPerson(async (bridge, person, ws) => {
    const rec = updateRecorder(person);
    const aliceUser = puppetIdOf('alice');
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'from her WS account' } });
    const fromWs = messageOf(await rec.next(newMessage('from her WS account')));
    // The same person from XMPP (published as the XMPP connector would: that connector does not run here).
    const xmppRoom = directRoom({ network: 'xmpp', id: 'alice@example.org' }, { network: 'mtproto', id: String(PERSON_ID) })!;
    await bridge.app.bus.publish([{
      v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: xmppRoom,
      sender: { network: 'xmpp', id: 'alice@example.org', name: 'alice' }, origin: { connector: 'xmpp', endpoint: 'alice@example.org' }, text: 'from her XMPP account',
    }]);
    const fromXmpp = messageOf(await rec.next(newMessage('from her XMPP account')));
    assert.deepEqual([fromWs.peerId?.userId?.toString(), fromXmpp.peerId?.userId?.toString()], [String(aliceUser), String(aliceUser)], 'one user');
    // The server's own answer (gramjs would hide a second dialog with one peer).
    const raw = await person.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100, hash: bigInt(0) })) as { dialogs: Array<{ peer: { userId?: { toString(): string } }; topMessage: number }> };
    const hers = raw.dialogs.filter((d) => d.peer.userId?.toString() === String(aliceUser));
    assert.equal(hers.length, 1, 'one dialog for her');
    assert.equal(hers[0]?.topMessage, fromXmpp.id, 'the newest chat\'s');
  }, { files: { 'mappings/identities.yaml': identities } });
});

test('an account\'s presence goes to its 50 most recently active private chats, not to older ones', { timeout: 120_000 }, async () => {
  await withPerson(async (bridge, person) => {
    const rec = updateRecorder(person);
    const rooms: string[] = [];
    // 51 people write to bob, one after the other: the first one's chat is then the least recently active.
    for (let i = 1; i <= PRESENCE_DIRECT_CHATS + 1; i++) {
      const room = directRoom({ network: 'websocket', id: `u${i}` }, { network: 'mtproto', id: String(PERSON_ID) })!;
      rooms.push(room);
      await bridge.app.bus.publish([{
        v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room,
        sender: { network: 'websocket', id: `u${i}`, name: `U${i}` }, origin: { connector: 'websocket', endpoint: `u${i}` }, text: `hi ${i}`,
      }]);
      await rec.next(newMessage(`hi ${i}`));
    }
    await person.invoke(new Api.account.UpdateStatus({ offline: false }));
    const presenceIn = async (room: string) => (await bridge.app.bus.readStream(room, undefined, 10)).entries.some((e) => e.event.kind === 'presence');
    assert.equal(await presenceIn(rooms[0]!), false, 'not to the least recently active chat');
    for (const room of rooms.slice(1)) assert.equal(await presenceIn(room), true, `to ${room}`);
  });
});

test('a user known only from a group message is addressed with inputPeerUserFromMessage (that message, that sender), nothing else', { timeout: 120_000 }, async () => {
  await withPerson(async (bridge, person, ws) => {
    await ws.request({ type: 'join', room: 'lobby' });
    const rec = updateRecorder(person);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'alice in the group' } });
    const fromAlice = messageOf(await rec.next(newMessage('alice in the group')));
    const own = await person.sendMessage(-CHAT_ID, { message: 'bob in the group' });
    const group = new Api.InputPeerChat({ chatId: bigInt(String(CHAT_ID)) });
    const send = (msgId: number, text: string) => person.invoke(new Api.messages.SendMessage({
      peer: new Api.InputPeerUserFromMessage({ peer: group, msgId, userId: bigInt(String(ALICE)) }), message: text, randomId: bigInt(Date.now()),
    }));
    // Through one of bob's own messages, or one that is no message: refused, nothing published.
    assert.equal(await rpcError(send(own.id, 'through my own message')), 'PEER_ID_INVALID');
    assert.equal(await rpcError(send(999_999, 'through no message')), 'PEER_ID_INVALID');
    assert.deepEqual((await bridge.app.bus.readStream(DM, undefined, 10)).entries, []);
    // Through her message: their private chat.
    await send(fromAlice.id, 'found you through your message');
    const got = await wsMessage(ws, 'found you through your message');
    assert.equal(got.room, ALICE_ROOM);
  });
});

test('an account finds someone it never met (contacts.search: accounts, people of identities.yaml, an exact address; contacts.resolveUsername: their canonical id) and writes to them first; nobody a private chat cannot reach is found', { timeout: 120_000 }, async () => {
  const identities = [
    'identities:',
    '  - { canonical: alice, displayName: Alice Liddell, websocket: alice }',
    // XMPP does not run here: no private chat reaches dave.
    '  - { canonical: dave, displayName: Dave Bowman, xmpp: dave@example.org }',
    '',
  ].join('\n');
  // Linked in identities.yaml: her user derives from her canonical id.
  const LINKED_ALICE = puppetIdOf('alice');
  await withPerson(async (_bridge, person, ws) => {
    const Search = (Api as unknown as { contacts: Record<string, new (a: Record<string, unknown>) => object> }).contacts['Search']!;
    type Found = { results: Array<{ userId: { toString(): string } }>; users: Array<{ id: { toString(): string }; accessHash: unknown; firstName?: string }> };
    const search = (q: string) => person.invoke(new Search({ q, limit: 10 })) as Promise<Found>;
    const ids = (f: Found) => f.results.map((r) => r.userId.toString());

    const byName = await search('liddell');
    assert.deepEqual(ids(byName), [String(LINKED_ALICE)], 'by display name');
    assert.equal(byName.users[0]?.firstName, 'Alice Liddell');
    assert.deepEqual(ids(await search('websocket:alice')), [String(LINKED_ALICE)], 'by exact address: the same user');
    assert.deepEqual(ids(await search('Relay')), [String(BOT_ID)], 'an account by name');
    assert.deepEqual(ids(await search('bob')), [], 'not oneself');
    assert.deepEqual(ids(await search('dave')), [], 'a person no private chat reaches');
    assert.deepEqual(ids(await search('xmpp:dave@example.org')), []);
    assert.equal(await rpcError(search('   ')), 'QUERY_TOO_SHORT');
    assert.equal(await rpcError(search('x'.repeat(200))), 'QUERY_TOO_LONG');

    // bob never met alice in a group: with the user the search gave, he writes to her first.
    const alice = byName.users[0]!;
    await person.sendMessage(new Api.InputPeerUser({ userId: alice.id, accessHash: alice.accessHash }), { message: 'hi alice, found you' });
    const got = await wsMessage(ws, 'hi alice, found you');
    assert.equal(got.room, ALICE_ROOM);
    assert.equal(got.event.room, DM);

    // Her canonical id works as a username (contacts.resolveUsername), as `@alice` in a client would.
    await person.sendMessage('alice', { message: 'hi alice, by name' });
    assert.equal((await wsMessage(ws, 'hi alice, by name')).event.room, DM);
    const Resolve = (Api as unknown as { contacts: Record<string, new (a: Record<string, unknown>) => object> }).contacts['ResolveUsername']!;
    assert.equal(await rpcError(person.invoke(new Resolve({ username: 'dave' }))), 'USERNAME_NOT_OCCUPIED', 'nobody a private chat reaches');
    assert.equal(await rpcError(person.invoke(new Resolve({ username: 'nobody' }))), 'USERNAME_NOT_OCCUPIED');
  }, { files: { 'mappings/identities.yaml': identities } });
});
