// A group's direction (bridges/ `direction:`) seen from stock gramjs clients, as Telegram shows it:
// a receive-only group is a read-only group (default rights take writing from everyone, moderators
// too): members read what the other networks say, every write answers CHAT_WRITE_FORBIDDEN and
// changes nothing, typing and read marks answer and publish nothing, and nothing of theirs enters
// the room's stream; a send-only group gets nothing of the others (live, from getDifference, in
// its history) while what is said there is bridged; a reload that makes a group read-only (or
// writable again, moved to another room at the same time) tells its online members at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestClient } from '../helpers/ws-client.ts';
import {
  Api, CHAT_ID, CustomFile, PERSON_ID, bigInt, chatClient, loginBot, loginPerson, rpcError, shutdown, updateRecorder, withChatClient, wsEvent,
  type ChatBridge, type ChatClient, type GramMessage, type GramUpdate,
} from './chat-harness.ts';
import { reloadBridgeFiles } from './reload-steps.ts';

const LOBBY_PEER = -CHAT_ID; // gramjs' id of a basic group
const OPS_ID = 1002;
const OPS_PEER = -OPS_ID;
const lobbyPeer = () => new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });

/** bridges/lobby.yaml with the MTProto group bridged `direction`. */
const lobbyBridge = (direction: string) => `endpoints:\n  - websocket: lobby\n  - mtproto: ${CHAT_ID}\n    direction: ${direction}\n`;
const LOBBY_BOTH = `endpoints:\n  - websocket: lobby\n  - mtproto: ${CHAT_ID}\n`;
/** A second group, bridged both ways with the WS room ops: where a member shows that WS still hears it. */
const OPS_BRIDGE = `endpoints:\n  - websocket: ops\n  - mtproto: ${OPS_ID}\n`;

interface State { pts: number; date: number }
interface Rights { className: string; sendMessages?: boolean; sendMedia?: boolean; sendPlain?: boolean; viewMessages?: boolean; untilDate: number }
interface GramChat { className: string; id: { toString(): string }; title?: string; defaultBannedRights?: Rights; adminRights?: unknown }

const Messages = (Api as unknown as { messages: Record<string, new (a: Record<string, unknown>) => object> }).messages;
const getState = async (c: ChatClient) => (await c.invoke(new Api.updates.GetState())) as State;
const getChat = async (c: ChatClient, id: number) => ((await c.invoke(new Api.messages.GetChats({ id: [bigInt(id)] }))) as { chats: GramChat[] }).chats[0];
/** gramjs leaves an absent optional field null. */
const absent = (v: unknown): boolean => v === undefined || v === null;
const textOf = (u: GramUpdate) => (u['message'] as GramMessage | undefined)?.message;

/** The events of a room's canonical stream that came from MTProto (none may, from a receive-only group). */
async function fromMtproto(bridge: ChatBridge, room: string): Promise<string[]> {
  const read = await bridge.app.bus.readStream(room, undefined, 1000);
  return read.entries.filter((e) => e.event.origin.connector === 'mtproto').map((e) => e.event.kind);
}

/** The person (a moderator: the groups' admin) logged in, dialogs listed; alice on WS in lobby and ops. */
function withPerson(lobby: string, body: (bridge: ChatBridge, person: ChatClient, ws: TestClient) => Promise<void>): Promise<void> {
  return withChatClient(async (bridge, person) => { await loginPerson(bridge, person); await person.getDialogs(); }, async (bridge, person, ws) => {
    await ws.request({ type: 'join', room: 'ops' });
    await body(bridge, person, ws);
  }, { personModerator: true, wsModerator: true, files: { 'bridges/lobby.yaml': lobby, 'bridges/ops.yaml': OPS_BRIDGE } });
}

test('a receive-only group: members read what WS says, every write answers CHAT_WRITE_FORBIDDEN and changes nothing, typing and reading publish nothing', { timeout: 60_000 }, async () => {
  await withPerson(lobbyBridge('receive-only'), async (bridge, person, ws) => {
    const updates = updateRecorder(person);
    // What the other networks say reaches the members.
    const heard = updates.next((u) => u.className === 'UpdateNewMessage' && textOf(u) === 'from ws into the read-only group');
    const ack = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'from ws into the read-only group' } });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    const wsMessage = (await heard)['message'] as GramMessage;
    assert.equal(wsMessage.peerId?.chatId?.toString(), String(CHAT_ID));

    // The group shows as Telegram shows a read-only group, to its admin too: writing taken by the default rights, no admin rights.
    const chat = await getChat(person, CHAT_ID);
    assert.equal(chat?.className, 'Chat');
    assert.equal(chat?.defaultBannedRights?.sendMessages, true);
    assert.equal(chat?.defaultBannedRights?.sendMedia, true);
    assert.notEqual(chat?.defaultBannedRights?.viewMessages, true, 'reading is not taken');
    assert.equal(chat?.defaultBannedRights?.untilDate, 0);
    assert.ok(absent(chat?.adminRights), 'a moderator is no admin there');
    const dialogs = await person.invoke(new Api.messages.GetDialogs({ offsetPeer: new Api.InputPeerEmpty(), limit: 100 })) as { chats: GramChat[] };
    assert.equal(dialogs.chats.find((c) => c.id.toString() === String(CHAT_ID))?.defaultBannedRights?.sendMessages, true, 'in the dialogs too');
    const full = await person.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) })) as { chats: GramChat[]; fullChat: { participants: { participants: Array<{ className: string; userId: { toString(): string } }> } } };
    assert.equal(full.chats[0]?.defaultBannedRights?.sendMessages, true);
    assert.equal(full.fullChat.participants.participants.find((p) => p.userId.toString() === String(PERSON_ID))?.className, 'ChatParticipant');
    // The other group (both ways) is untouched: no rights taken, the moderator its admin.
    const ops = await getChat(person, OPS_ID);
    assert.ok(absent(ops?.defaultBannedRights));
    assert.ok(!absent(ops?.adminRights));

    const before = await getState(person);
    const forbidden = 'CHAT_WRITE_FORBIDDEN';
    assert.equal(await rpcError(person.sendMessage(LOBBY_PEER, { message: 'from the read-only group' })), forbidden, 'sendMessage');
    const bytes = Buffer.from('a file for the read-only group');
    assert.equal(await rpcError(person.sendFile(LOBBY_PEER, { file: new CustomFile('f.txt', bytes.length, '', bytes), forceDocument: true, workers: 1 } as never)), forbidden, 'sendMedia');
    assert.equal(await rpcError(person.editMessage(LOBBY_PEER, { message: wsMessage.id, text: 'edited' })), forbidden, 'editMessage');
    assert.equal(await rpcError(person.invoke(new Api.messages.SendReaction({ peer: lobbyPeer(), msgId: wsMessage.id, reaction: [new Api.ReactionEmoji({ emoticon: '👍' })] }))), forbidden, 'sendReaction');
    // A moderator would delete anyone's message for everyone in a group it administers.
    assert.equal(await rpcError(person.deleteMessages(LOBBY_PEER, [wsMessage.id], { revoke: true })), forbidden, 'deleteMessages');
    assert.equal(await rpcError(person.invoke(new Messages['UpdatePinnedMessage']!({ peer: lobbyPeer(), id: wsMessage.id }))), forbidden, 'updatePinnedMessage');
    assert.equal(await rpcError(person.invoke(new Messages['EditChatAbout']!({ peer: lobbyPeer(), about: 'a new description' }))), forbidden, 'editChatAbout');
    assert.equal(await rpcError(person.invoke(new Messages['EditChatTitle']!({ chatId: bigInt(CHAT_ID), title: 'a new title' }))), forbidden, 'editChatTitle');
    // Forwarding into it (from the group that is bridged both ways).
    const original = await person.sendMessage(OPS_PEER, { message: 'to be forwarded' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'to be forwarded');
    const afterOps = await getState(person);
    assert.equal(await rpcError(person.forwardMessages(LOBBY_PEER, { messages: [original.id], fromPeer: OPS_PEER })), forbidden, 'forwardMessages');
    // Typing, reading and being online answer as usual.
    assert.equal(await person.invoke(new Api.account.UpdateStatus({ offline: false })), true);
    assert.equal(await person.invoke(new Api.messages.SetTyping({ peer: lobbyPeer(), action: new Api.SendMessageTypingAction() })), true);
    const read = await person.invoke(new Api.messages.ReadHistory({ peer: lobbyPeer(), maxId: wsMessage.id })) as { ptsCount: number };
    assert.equal(read.ptsCount, 0, 'a read mark with no receipt');

    // Nothing changed: no pts but the ops message's, the message still there unedited, unreacted, unpinned.
    assert.equal((await getState(person)).pts, afterOps.pts);
    assert.equal(afterOps.pts, before.pts + 1);
    const [still] = await person.getMessages(LOBBY_PEER, { ids: [wsMessage.id] });
    assert.equal(still?.message, 'from ws into the read-only group');
    assert.ok(absent(still?.editDate));
    assert.ok(absent(still?.reactions));
    assert.notEqual((still as { pinned?: boolean } | undefined)?.pinned, true);
    // Nothing of the group entered the lobby's stream (no message, typing, receipt, presence), and WS heard none of it:
    // the next thing it gets from MTProto is the next message said in the group bridged both ways.
    await person.sendMessage(OPS_PEER, { message: 'ops after the refusals' });
    const next = await ws.next((f) => f.type === 'event' && (f['event'] as { origin?: { connector?: string } } | undefined)?.origin?.connector !== 'websocket' && (f['event'] as { kind?: string }).kind !== 'presence');
    assert.equal((next['event'] as { text?: string }).text, 'ops after the refusals', JSON.stringify(next));
    assert.deepEqual(await fromMtproto(bridge, 'lobby'), []);
  });
});

test('a send-only group: what WS says never reaches its members (live, getDifference, history), what they say reaches WS', { timeout: 60_000 }, async () => {
  await withPerson(lobbyBridge('send-only'), async (bridge, person, ws) => {
    const updates = updateRecorder(person);
    const ack = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'from ws, not for the source' } });
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    // Ordered per room: once the member's own message is back in the group, the WS one was routed before it.
    const mine = await person.sendMessage(LOBBY_PEER, { message: 'from the source' });
    const got = await wsEvent(ws, 'message', (e) => e['text'] === 'from the source');
    assert.equal(got['room'], 'lobby');
    // Not its edits nor reactions either.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'reaction', target: got['id'], reactions: ['🎉'] } });
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: ack['id'], text: 'from ws (edited)' } });
    await person.sendMessage(LOBBY_PEER, { message: 'the source again' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'the source again');
    // Its own sends are answered, not pushed to it: any message, edit or reaction pushed would be WS's.
    const pushed = updates.all.filter((u) => ['UpdateNewMessage', 'UpdateShortChatMessage', 'UpdateEditMessage', 'UpdateMessageReactions'].includes(u.className));
    assert.deepEqual(pushed.map((u) => u.className), [], 'nothing of WS was pushed to the member');

    const history = await person.getMessages(LOBBY_PEER, { limit: 20 });
    assert.deepEqual([...history].map((m) => m.message).filter((t) => t !== '' && t !== undefined), ['the source again', 'from the source']);
    const [own] = await person.getMessages(LOBBY_PEER, { ids: [mine.id] });
    assert.ok(absent(own?.reactions), 'the WS reaction never came');

    // Away: another member (the bot) speaks in the group, WS speaks in the room; back, getDifference has the bot's only.
    const bot = chatClient(bridge.mtprotoPort());
    try {
      await loginBot(bridge, bot);
      await bot.getDialogs();
      const left = await getState(person);
      await person.disconnect();
      await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'from ws while away' } });
      await bot.sendMessage(LOBBY_PEER, { message: 'the bot while away' });
      await wsEvent(ws, 'message', (e) => e['text'] === 'the bot while away');
      await person.connect();
      const diff = await person.invoke(new Api.updates.GetDifference({ pts: left.pts, date: left.date, qts: 0 })) as { className: string; newMessages?: GramMessage[]; state?: State };
      assert.deepEqual(diff.newMessages?.map((m) => m.message), ['the bot while away']);
      assert.equal(diff.state?.pts, left.pts + 1);
    } finally {
      await shutdown(bot);
    }
    // Nor the room's topic set on WS: the group's description stays its own.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'the topic WS set' } });
    await person.sendMessage(LOBBY_PEER, { message: 'after the topic' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'after the topic');
    const full = await person.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) })) as { fullChat: { about: string } };
    assert.equal(full.fullChat.about, 'Bridged room "lobby" (Switchboard)');
    const kinds = await fromMtproto(bridge, 'lobby');
    assert.ok(kinds.filter((k) => k === 'message').length === 4, `its members' messages are in the room's stream: ${kinds.join(', ')}`);
  });
});

test('a reload makes a group read-only: its online member is told at once (updateChatDefaultBannedRights) and refused; back to both, told and heard again', { timeout: 60_000 }, async () => {
  await withPerson(LOBBY_BOTH, async (bridge, person, ws) => {
    await person.sendMessage(LOBBY_PEER, { message: 'before the reload' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'before the reload');
    const updates = updateRecorder(person);
    await reloadBridgeFiles(bridge, { 'bridges/lobby.yaml': lobbyBridge('receive-only') });

    const told = await updates.next((u) => u.className === 'UpdateChatDefaultBannedRights');
    assert.equal((told['peer'] as { chatId?: { toString(): string } }).chatId?.toString(), String(CHAT_ID));
    assert.equal((told['defaultBannedRights'] as Rights).sendMessages, true);
    assert.equal(typeof told['version'], 'number');
    assert.equal(await rpcError(person.sendMessage(LOBBY_PEER, { message: 'after the reload' })), 'CHAT_WRITE_FORBIDDEN');
    // A client that asks again (or was away) sees the rights in the chat.
    assert.equal((await getChat(person, CHAT_ID))?.defaultBannedRights?.sendMessages, true);
    // WS is still heard there.
    const heard = updates.next((u) => u.className === 'UpdateNewMessage' && textOf(u) === 'ws after the reload');
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'ws after the reload' } });
    await heard;

    await reloadBridgeFiles(bridge, { 'bridges/lobby.yaml': LOBBY_BOTH });
    const back = await updates.next((u) => u.className === 'UpdateChatDefaultBannedRights');
    assert.notEqual((back['defaultBannedRights'] as Rights).sendMessages, true, 'writing given back');
    await person.sendMessage(LOBBY_PEER, { message: 'writable again' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'writable again');
    assert.ok(absent((await getChat(person, CHAT_ID))?.defaultBannedRights));
    assert.deepEqual((await fromMtproto(bridge, 'lobby')).filter((k) => k === 'message'), ['message', 'message'], 'nothing said while read-only entered the stream');
  });
});

test('a reload moves a group to another room and makes it read-only at once: its member sees the new title and the rights, and reads the new room', { timeout: 60_000 }, async () => {
  await withPerson(LOBBY_BOTH, async (bridge, person, ws) => {
    const updates = updateRecorder(person);
    // The group leaves lobby.yaml for news.yaml (room "news"), receive-only there.
    await reloadBridgeFiles(bridge, {
      'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n',
      'bridges/news.yaml': `endpoints:\n  - websocket: news\n  - mtproto: ${CHAT_ID}\n    direction: receive-only\n`,
    });
    const title = await updates.next((u) => u.className === 'UpdateNewMessage' && ((u['message'] as { action?: { className: string } }).action?.className === 'MessageActionChatEditTitle'));
    assert.equal(((title['message'] as { action: { title: string } }).action.title), 'news');
    const rights = await updates.next((u) => u.className === 'UpdateChatDefaultBannedRights');
    assert.equal((rights['defaultBannedRights'] as Rights).sendMessages, true);
    const chat = await getChat(person, CHAT_ID);
    assert.deepEqual([chat?.title, chat?.defaultBannedRights?.sendMessages], ['news', true]);
    assert.equal(await rpcError(person.sendMessage(LOBBY_PEER, { message: 'in news' })), 'CHAT_WRITE_FORBIDDEN');
    await ws.request({ type: 'join', room: 'news' });
    const heard = updates.next((u) => u.className === 'UpdateNewMessage' && textOf(u) === 'news from ws');
    await ws.request({ type: 'send', room: 'news', event: { kind: 'message', text: 'news from ws' } });
    await heard;
    assert.deepEqual(await fromMtproto(bridge, 'news'), []);
  });
});

test('a message scheduled before a reload made the group read-only is dropped when due, never published (the net under the refusals)', { timeout: 60_000 }, async () => {
  await withPerson(LOBBY_BOTH, async (bridge, person) => {
    const at = Math.floor(Date.now() / 1000) + 11; // the nearest a send is queued rather than sent (scheduled-queue.ts)
    await person.sendMessage(LOBBY_PEER, { message: 'queued while writable', schedule: at });
    await reloadBridgeFiles(bridge, { 'bridges/lobby.yaml': lobbyBridge('receive-only') });
    // Its "send now" is a post like any other.
    const queued = await person.invoke(new Messages['GetScheduledHistory']!({ peer: lobbyPeer(), hash: bigInt(0) })) as { messages: GramMessage[] };
    assert.equal(queued.messages.length, 1);
    assert.equal(await rpcError(person.invoke(new Messages['SendScheduledMessages']!({ peer: lobbyPeer(), id: [queued.messages[0]!.id] }))), 'CHAT_WRITE_FORBIDDEN');
    const dropped = async () => (await bridge.app.registry.metrics()).includes('switchboard_mtproto_scheduled_total{outcome="dropped"} 1');
    const end = Date.now() + 30_000;
    while (!await dropped()) {
      assert.ok(Date.now() < end, 'the scheduler dropped it when due');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(await fromMtproto(bridge, 'lobby'), []);
    const left = await person.invoke(new Messages['GetScheduledHistory']!({ peer: lobbyPeer(), hash: bigInt(0) })) as { messages: GramMessage[] };
    assert.equal(left.messages.length, 0, 'out of the queue');
  });
});
