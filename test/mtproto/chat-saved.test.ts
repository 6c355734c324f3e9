// Saved Messages: a person's private chat with itself (`client.sendMessage('me', …)`, the first
// line of gramjs' and Telethon's quick starts). It is the core's direct room of one party twice,
// which the router delivers to that account alone: its other sessions see it, nobody else does,
// and typing, reading and presence in it are told to nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventFrame } from '../helpers/ws-client.ts';
import { directRoom } from '../../src/core/direct.ts';
import {
  Api, CHAT_ID, CustomFile, PERSON_ID, bigInt, chatClient, loginBot, loginPerson, rpcError, shutdown, startChatBridge, updateRecorder, withChatClient, withSecondSession,
  type GramMessage, type GramUpdate,
} from './chat-harness.ts';

const SAVED = directRoom({ network: 'mtproto', id: String(PERSON_ID) }, { network: 'mtproto', id: String(PERSON_ID) })!;

interface RawMessage { id: number; message?: string; out?: boolean; peerId?: { className: string; userId?: { toString(): string } }; entities?: Array<{ className: string }> }
const messageOf = (u: GramUpdate) => u['message'] as RawMessage;
const newMessage = (text: string) => (u: GramUpdate) => u.className === 'UpdateNewMessage' && messageOf(u).message === text;
const texts = (messages: readonly GramMessage[]) => messages.map((m) => m.message);

test('a person writes to himself (Saved Messages): his other session sees each change, nobody else sees any of it, and typing, reading and presence go nowhere', { timeout: 120_000 }, async () => {
  await withChatClient(async (bridge, p) => { await loginPerson(bridge, p); await p.getDialogs(); }, async (bridge, person, ws) => {
    await withSecondSession(bridge, async (second) => {
      const rec = updateRecorder(second);
      const me = await person.getMe();
      assert.equal(me.self, true);

      // The quick start's first line: a note to 'me', formatted.
      const note = await person.sendMessage('me', { message: 'note to **self**' });
      assert.deepEqual([note.out, (note as unknown as RawMessage).peerId?.userId?.toString()], [true, String(PERSON_ID)]);
      const mirrored = messageOf(await rec.next(newMessage('note to self')));
      assert.deepEqual([mirrored.id, mirrored.out, mirrored.peerId?.className, mirrored.peerId?.userId?.toString()], [note.id, true, 'PeerUser', String(PERSON_ID)]);
      assert.equal(mirrored.entities?.[0]?.className, 'MessageEntityBold');

      // A reply, an edit, a reaction and a file, each seen by the other session.
      const reply = await person.sendMessage('me', { message: 'a second thought', replyTo: note.id });
      assert.equal((messageOf(await rec.next(newMessage('a second thought'))) as { replyTo?: { replyToMsgId?: number } }).replyTo?.replyToMsgId, note.id);
      await person.editMessage('me', { message: note.id, text: 'note to self, edited' });
      await rec.next((u) => u.className === 'UpdateEditMessage' && messageOf(u).message === 'note to self, edited');
      await person.invoke(new Api.messages.SendReaction({ peer: new Api.InputPeerSelf(), msgId: note.id, reaction: [new Api.ReactionEmoji({ emoticon: '👍' })] }));
      const bytes = Buffer.from(`kept for later: ${'z'.repeat(3000)}`);
      const file = await person.sendFile('me', { file: new CustomFile('later.txt', bytes.length, '', bytes), caption: 'a file for later', forceDocument: true, workers: 1 });
      await rec.next(newMessage('a file for later'));
      assert.deepEqual(Buffer.from(await second.downloadMedia(file)), bytes);

      // Typing and reading in it are told to nobody; neither is his presence.
      await person.invoke(new Api.messages.SetTyping({ peer: new Api.InputPeerSelf(), action: new Api.SendMessageTypingAction() }));
      assert.equal(await person.markAsRead('me'), true);
      await person.invoke(new Api.account.UpdateStatus({ offline: false }));

      // One dialog, read both ways (nothing in it is anyone else's), its history and a search.
      const dialog = (await second.getDialogs()).find((d) => d.id.toString() === String(PERSON_ID));
      assert.ok(dialog !== undefined, 'Saved Messages is a dialog');
      assert.deepEqual([dialog.unreadCount, dialog.message?.message], [0, 'a file for later']);
      const raw = await person.invoke(new Api.messages.GetPeerDialogs({ peers: [new Api.InputDialogPeer({ peer: new Api.InputPeerSelf() })] })) as { dialogs: Array<{ topMessage: number; readInboxMaxId: number; readOutboxMaxId: number; unreadCount: number }> };
      assert.deepEqual(raw.dialogs.map((d) => [d.readInboxMaxId, d.readOutboxMaxId, d.unreadCount]), [[file.id, file.id, 0]]);
      const history = [...await person.getMessages('me', { limit: 10 })];
      assert.deepEqual(texts(history), ['a file for later', 'a second thought', 'note to self, edited']);
      assert.ok(history.every((m) => m.out === true), 'every message of it is his own');
      assert.deepEqual(history[2]?.reactions?.results.map((r) => [r.reaction.emoticon, r.count]), [['👍', 1]]);
      // Named by his own user and access hash too, as a client that keeps users by id does.
      const byUser = new Api.InputPeerUser({ userId: me.id, accessHash: (me as unknown as { accessHash: unknown }).accessHash });
      assert.deepEqual(texts([...await person.getMessages(byUser, { limit: 1 })]), ['a file for later']);
      assert.deepEqual(texts([...await person.getMessages('me', { search: 'thought' })]), ['a second thought']);
      // Layer 170's Saved Messages dialogs: one, "my notes" (himself), holding all of it; its messages say so.
      assert.ok(history.every((m) => String((m as unknown as { savedPeerId?: { userId?: unknown } }).savedPeerId?.userId) === String(PERSON_ID)), 'saved_peer_id: himself');
      const M = (Api as unknown as { messages: Record<string, new (a: Record<string, unknown>) => object> }).messages;
      const savedDialogs = await person.invoke(new M['GetSavedDialogs']!({ offsetDate: 0, offsetId: 0, offsetPeer: new Api.InputPeerEmpty(), limit: 20, hash: bigInt(0) })) as { dialogs: Array<{ peer: { userId: unknown }; topMessage: number }> };
      assert.deepEqual(savedDialogs.dialogs.map((d) => [String(d.peer.userId), d.topMessage]), [[String(PERSON_ID), file.id]]);
      const savedHistory = async (peer: object) => ((await person.invoke(new M['GetSavedHistory']!({ peer, offsetId: 0, offsetDate: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0, hash: bigInt(0) }))) as { messages: GramMessage[] }).messages;
      assert.deepEqual(texts(await savedHistory(new Api.InputPeerSelf() as object)), texts(history));
      assert.deepEqual(await savedHistory(new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }) as object), [], 'nothing saved from the group');

      // He deletes the reply: both sessions lose it.
      await person.deleteMessages('me', [reply.id], { revoke: true });
      const deleted = await rec.next((u) => u.className === 'UpdateDeleteMessages');
      assert.deepEqual((deleted['messages'] as number[]).map(Number), [reply.id]);
      assert.deepEqual(texts([...await second.getMessages('me', { limit: 10 })]), ['a file for later', 'note to self, edited']);

      // The chat is a canonical room of its own holding what he wrote, and nothing else.
      const stream = await bridge.app.bus.readStream(SAVED, undefined, 50);
      assert.deepEqual(stream.entries.map((e) => e.event.kind), ['message', 'message', 'edit', 'reaction', 'message', 'retract']);
      // alice (WS) got none of it: the next event she gets is his next message in the group.
      await person.sendMessage(-CHAT_ID, { message: 'back in the group' });
      const next = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'message') as EventFrame;
      assert.equal(next.event['text'], 'back in the group');
      assert.equal(([...await person.getMessages(-CHAT_ID, { limit: 1 })][0] as unknown as { savedPeerId?: unknown }).savedPeerId ?? undefined, undefined, 'a group message is in no saved dialog');
      assert.ok(!ws.events.some((f) => f.event.room === SAVED), 'no event of his Saved Messages reached WS');
      // His presence went to the group, not to his Saved Messages.
      assert.ok(ws.events.some((f) => f.event.kind === 'presence'), 'his presence reached the group');
      assert.equal((await bridge.app.bus.readStream(SAVED, undefined, 50)).entries.length, 6);
    });
  });
});

test('a bot has no Saved Messages; a person\'s survives a restart on the embedded defaults', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge({ keepPort: true });
  let person = chatClient(bridge.mtprotoPort());
  const bot = chatClient(bridge.mtprotoPort());
  try {
    await loginBot(bridge, bot);
    await bot.getDialogs();
    const self = new Api.InputPeerSelf();
    assert.equal(await rpcError(bot.invoke(new Api.messages.SendMessage({ peer: self, message: 'to myself', randomId: BigInt(7) }))), 'PEER_ID_INVALID');
    assert.equal(await rpcError(bot.invoke(new Api.messages.GetHistory({ peer: self, offsetId: 0, offsetDate: 0, addOffset: 0, limit: 10, maxId: 0, minId: 0, hash: BigInt(0) }))), 'PEER_ID_INVALID');
    assert.ok(!(await bot.getDialogs()).some((d) => d.id.toString() === '5001'), 'the bot lists no chat with itself');

    await loginPerson(bridge, person);
    await person.sendMessage('me', { message: 'remember the milk' });
    await bridge.restart();
    await shutdown(person);
    person = chatClient(bridge.mtprotoPort());
    await loginPerson(bridge, person);
    const dialog = (await person.getDialogs()).find((d) => d.id.toString() === String(PERSON_ID));
    assert.equal(dialog?.message?.message, 'remember the milk');
    assert.deepEqual(texts([...await person.getMessages('me', { limit: 5 })]), ['remember the milk']);
  } finally {
    await shutdown(bot);
    await shutdown(person);
    await bridge.close();
  }
});
