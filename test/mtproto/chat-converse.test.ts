// A stock gramjs TelegramClient logs in (as the bot, and separately as the person) and chats in a
// bridged room with a WebSocket client through the whole app: text, formatting, replies, edits,
// reactions, deletions, typing, read marks and a file, each checked on the other side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TestClient } from '../helpers/ws-client.ts';
import {
  Api, BOT_ID, CHAT_ID, CustomFile, PERSON_ID, WS_TOKEN, bigInt, chatClient, loginBot, loginPerson, startChatBridge, updateRecorder, withChatClient,
  shutdown, wsEvent, type ChatBridge, type ChatClient, type GramMessage, type GramUpdate,
} from './chat-harness.ts';

const PEER = -CHAT_ID; // gramjs' id of a basic group

const messageOf = (u: GramUpdate) => u['message'] as GramMessage;
const inputChat = () => new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });

async function converse(bridge: ChatBridge, client: ChatClient, ws: TestClient, selfId: number, mapper: boolean): Promise<void> {
  const rec = updateRecorder(client);

  // The group is a dialog; the account is itself.
  const me = await client.getMe();
  assert.equal(me.id.toString(), String(selfId));
  assert.equal(me.self, true);
  const dialogs = await client.getDialogs();
  assert.deepEqual([...dialogs].map((d) => [d.id.toString(), d.title, d.isGroup]), [[String(PEER), 'lobby', true]]);

  // Text, MTProto -> WS.
  const m1 = await client.sendMessage(PEER, { message: 'hello from mtproto' });
  const e1 = await wsEvent(ws, 'message', (e) => e['text'] === 'hello from mtproto');
  assert.deepEqual(e1['sender'], { network: 'mtproto', id: String(selfId), name: selfId === BOT_ID ? 'Relay Bot' : 'Bob Builder' });

  // Formatting, MTProto -> WS: entities become spans at the same UTF-16 offsets (the emoji is two units).
  const text = '😀 bold italic code link';
  const m2 = await client.sendMessage(PEER, {
    message: text, parseMode: false,
    formattingEntities: [
      new Api.MessageEntityBold({ offset: 3, length: 4 }), new Api.MessageEntityItalic({ offset: 8, length: 6 }),
      new Api.MessageEntityCode({ offset: 15, length: 4 }), new Api.MessageEntityTextUrl({ offset: 20, length: 4, url: 'https://example.org/x' }),
    ],
  });
  const e2 = await wsEvent(ws, 'message', (e) => e['text'] === text);
  assert.deepEqual(e2['spans'], [
    { type: 'bold', offset: 3, length: 4 }, { type: 'italic', offset: 8, length: 6 },
    { type: 'code', offset: 15, length: 4 }, { type: 'link', offset: 20, length: 4, url: 'https://example.org/x' },
  ]);

  // Text and formatting, WS -> MTProto.
  const wsText = 'from 🧪 ws, bold';
  const ack = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: wsText, spans: [{ type: 'bold', offset: 11, length: 4 }, { type: 'strike', offset: 5, length: 2 }] } });
  assert.equal(ack.type, 'ack');
  const wsMsg = messageOf(await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === wsText));
  assert.equal(wsMsg.out, false);
  assert.deepEqual(wsMsg.entities?.map((e) => [e.className, e.offset, e.length]), [['MessageEntityStrike', 5, 2], ['MessageEntityBold', 11, 4]]);
  const alice = await client.getEntity(bigInt(wsMsg.fromId?.userId?.toString() ?? '0'));
  // Her name as the mapper's default display-name template renders it ("{name} ({network})"), or as her network gives it.
  assert.equal(alice.firstName, mapper ? 'Alice (websocket)' : 'Alice', 'the WS user is a user with her display name');

  // Replies, both ways.
  await client.sendMessage(PEER, { message: 'a reply', replyTo: wsMsg.id });
  const eReply = await wsEvent(ws, 'message', (e) => e['text'] === 'a reply');
  assert.equal(eReply['replyTo'], ack['id']);
  const ackReply = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'reply from ws', replyTo: e1.id } });
  const wsReply = messageOf(await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'reply from ws'));
  assert.equal(wsReply.replyTo?.replyToMsgId, m1.id);
  // The message a reply answers, as gramjs asks for it (messages.getMessages with inputMessageReplyTo).
  const [fetched] = await client.getMessages(PEER, { ids: [wsReply.id] });
  const answered = await (fetched as unknown as { getReplyMessage(): Promise<GramMessage | undefined> }).getReplyMessage();
  assert.equal(answered?.id, m1.id);
  assert.equal(answered?.message, m1.message);
  const ReplyTo = (Api as unknown as Record<string, new (a: Record<string, unknown>) => object>)['InputMessageReplyTo']!;
  const none = await client.invoke(new (Api as unknown as { messages: Record<string, new (a: Record<string, unknown>) => object> }).messages['GetMessages']!({ id: [new ReplyTo({ id: m1.id })] })) as { messages: Array<{ className: string }> };
  assert.deepEqual(none.messages.map((m) => m.className), ['MessageEmpty'], 'a message that answers nothing: none');

  // Edits, both ways.
  const edited = await client.editMessage(PEER, { message: m1.id, text: 'hello (edited)' });
  assert.equal(edited.message, 'hello (edited)');
  const eEdit = await wsEvent(ws, 'edit');
  assert.deepEqual([eEdit['target'], eEdit['text']], [e1.id, 'hello (edited)']);
  await ws.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: ack['id'], text: 'from ws (edited)' } });
  const wsEdited = messageOf(await rec.next((u) => u.className === 'UpdateEditMessage' && messageOf(u).id === wsMsg.id));
  assert.equal(wsEdited.message, 'from ws (edited)');
  assert.ok((wsEdited.editDate ?? 0) > 0);

  // Reactions, both ways (each side's full set).
  await client.invoke(new Api.messages.SendReaction({ peer: inputChat(), msgId: wsMsg.id, reaction: [new Api.ReactionEmoji({ emoticon: '👍' })] }));
  const eReact = await wsEvent(ws, 'reaction');
  assert.deepEqual([eReact['target'], eReact['reactions']], [ack['id'], ['👍']]);
  await ws.request({ type: 'send', room: 'lobby', event: { kind: 'reaction', target: e1.id, reactions: ['🎉'] } });
  const reacted = messageOf(await rec.next((u) => u.className === 'UpdateEditMessage' && messageOf(u).id === m1.id && messageOf(u).reactions !== undefined));
  assert.deepEqual(reacted.reactions?.results.map((r) => [r.reaction.emoticon, r.count, r.chosenOrder ?? 'none']), [['🎉', 1, 'none']]);
  assert.equal(reacted.message, 'hello (edited)', 'a reaction keeps the edited text');

  // Typing, both ways.
  await client.invoke(new Api.messages.SetTyping({ peer: inputChat(), action: new Api.SendMessageTypingAction() }));
  const eTyping = await wsEvent(ws, 'typing');
  assert.equal(eTyping['state'], 'active');
  await ws.request({ type: 'send', room: 'lobby', event: { kind: 'typing', state: 'active' } });
  const typing = await rec.next((u) => u.className === 'UpdateChatUserTyping');
  assert.equal((typing['action'] as { className: string }).className, 'SendMessageTypingAction');
  assert.equal(String(typing['chatId']), String(CHAT_ID));

  // Presence, both ways: online shows as a user status, the account's status as canonical presence.
  await ws.request({ type: 'send', room: 'lobby', event: { kind: 'presence', state: 'available' } });
  const status = await rec.next((u) => u.className === 'UpdateUserStatus');
  assert.equal(String(status['userId']), alice.id.toString());
  assert.equal((status['status'] as { className: string }).className, 'UserStatusOnline');
  await client.invoke(new Api.account.UpdateStatus({ offline: true }));
  const ePresence = await wsEvent(ws, 'presence');
  assert.deepEqual([ePresence['state'], (ePresence['sender'] as { id: string }).id], ['offline', String(selfId)]);

  // Deletions, both ways.
  await client.deleteMessages(PEER, [m2.id], { revoke: true });
  const eDel = await wsEvent(ws, 'retract');
  assert.equal(eDel['target'], e2.id);
  await ws.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: ack['id'] } });
  const deleted = await rec.next((u) => u.className === 'UpdateDeleteMessages');
  assert.deepEqual(deleted['messages'], [wsMsg.id]);

  // Read mark, MTProto -> WS: up to the newest message ('reply from ws'; the newer ones are deleted).
  await client.markAsRead(PEER);
  const eRead = await wsEvent(ws, 'receipt');
  assert.deepEqual([eRead['receipt'], eRead['target']], ['displayed', ackReply['id']]);

  // A file, MTProto -> WS: an attachment whose URL serves the same bytes.
  const bytes = Buffer.from(`file of ${selfId}: ${'x'.repeat(3000)}`);
  const sentFile = await client.sendFile(PEER, { file: new CustomFile('notes.txt', bytes.length, '', bytes), caption: 'a file', forceDocument: true, workers: 1 });
  assert.equal(sentFile.media?.className, 'MessageMediaDocument');
  const eFile = await wsEvent(ws, 'message', (e) => e['text'] === 'a file');
  const [attachment] = eFile['attachments'] as Array<{ name: string; size: number; sha256: string; url: string; mime: string }>;
  assert.ok(attachment);
  assert.deepEqual([attachment.name, attachment.size, attachment.sha256], ['notes.txt', bytes.length, createHash('sha256').update(bytes).digest('hex')]);
  const res = await fetch(attachment.url);
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
  // The media store's signed URL (or, without one, the connector's own): a wrong signature is refused.
  const tampered = attachment.url.includes('sig=') ? attachment.url.replace(/sig=[^&]+/, 'sig=AAAA') : attachment.url.replace(/\/([^/]+)\/notes\.txt$/, '/AAAA/notes.txt');
  assert.ok([403, 404].includes((await fetch(tampered)).status), 'a wrong signature is refused');
  const downloaded = await client.downloadMedia(sentFile);
  assert.deepEqual(Buffer.from(downloaded), bytes);

  // History from the chat's log: current text, deleted messages gone.
  const history = await client.getMessages(PEER, { limit: 50 });
  const texts = history.map((m) => m.message);
  assert.ok(texts.includes('hello (edited)'));
  assert.ok(!texts.includes(text), 'the deleted message is not in the history');
  assert.ok(!texts.includes('from ws (edited)'), 'the message WS deleted is not in the history');
  void bridge;
}

/** A fresh bridge (mapper and media store on, or both off), a gramjs client logged in by `login`, and a WS client joined to the lobby. */
function withRoom(login: (bridge: ChatBridge, client: ChatClient) => Promise<void>, body: (bridge: ChatBridge, client: ChatClient, ws: TestClient) => Promise<void>, mapper = true): Promise<void> {
  return withChatClient(login, body, mapper ? {} : { extra: 'mapper: { enabled: false }\nmedia: { enabled: false }' });
}

test('a stock TelegramClient logged in as a bot chats with a WebSocket client', { timeout: 120_000 }, async () => {
  await withRoom(loginBot, (bridge, client, ws) => converse(bridge, client, ws, BOT_ID, true));
});

test('a stock TelegramClient logged in as a person (phone + code) chats with a WebSocket client', { timeout: 120_000 }, async () => {
  await withRoom(loginPerson, (bridge, client, ws) => converse(bridge, client, ws, PERSON_ID, true));
});

test('the same with the mapper and the media store off: deliveries as the router made them, files in the connector\'s own store', { timeout: 120_000 }, async () => {
  await withRoom(loginBot, (bridge, client, ws) => converse(bridge, client, ws, BOT_ID, false), false);
});

test('two MTProto accounts in one room: each sees the other\'s messages and downloads the other\'s file', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge();
  const bot = chatClient(bridge.mtprotoPort());
  const person = chatClient(bridge.mtprotoPort(), { transport: 'obfuscated' });
  try {
    await loginBot(bridge, bot);
    await loginPerson(bridge, person);
    const botUpdates = updateRecorder(bot);
    await bot.getDialogs(); // a call: the bot's session gets updates from now on
    // gramjs reads a marked id starting with -100 (our -1001) as a channel unless it knows the chat: list the dialogs first.
    await person.getDialogs();
    const bytes = Buffer.from('%PDF-1.4 not really a pdf, but bytes all the same\n'.repeat(40));
    const sent = await person.sendFile(PEER, { file: new CustomFile('report.pdf', bytes.length, '', bytes), caption: 'for the bot', forceDocument: true, workers: 1 });
    const got = messageOf(await botUpdates.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'for the bot'));
    assert.equal(got.id, sent.id, 'one message id for everyone in the group');
    assert.equal(got.out, false);
    assert.equal(got.media?.document?.mimeType, 'application/pdf');
    assert.deepEqual(Buffer.from(await bot.downloadMedia(got)), bytes);
    const [mine] = await person.getMessages(PEER, { ids: [sent.id] });
    assert.equal(mine?.out, true);
  } finally {
    await shutdown(bot);
    await shutdown(person);
    await bridge.close();
  }
});

test('a file a WS client uploads to the media store arrives as a native document (a photo for a PNG) an MTProto client downloads', { timeout: 120_000 }, async () => {
  await withRoom(loginBot, async (bridge, client, ws) => {
    const rec = updateRecorder(client);
    await client.getDialogs();
    const upload = async (name: string, type: string, body: Buffer) => {
      const res = await fetch(`${bridge.app.httpUrl}/media?name=${name}`, { method: 'POST', headers: { authorization: `Bearer ${WS_TOKEN}`, 'content-type': type }, body });
      assert.equal(res.status, 201, await res.clone().text());
      return await res.json() as Record<string, unknown>;
    };
    const csv = Buffer.from('a,b\n1,2\n'.repeat(500));
    const doc = await upload('table.csv', 'text/csv', csv);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'a table', attachments: [doc] } });
    const got = messageOf(await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'a table'));
    assert.equal(got.media?.className, 'MessageMediaDocument');
    assert.deepEqual(Buffer.from(await client.downloadMedia(got)), csv);

    const png = Buffer.alloc(64);
    png.writeUInt32BE(0x89504e47, 0); png.writeUInt32BE(0x0d0a1a0a, 4); png.writeUInt32BE(13, 8); png.write('IHDR', 12, 'latin1');
    png.writeUInt32BE(32, 16); png.writeUInt32BE(24, 20);
    const image = await upload('dot.png', 'image/png', png);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'a picture', attachments: [image] } });
    const pic = messageOf(await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'a picture'));
    assert.equal(pic.media?.className, 'MessageMediaPhoto');
    assert.deepEqual(Buffer.from(await client.downloadMedia(pic)), png);

    // Knowing a stored file's hash is not enough: the same reference with a URL we did not sign is a link.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'forged', attachments: [{ ...doc, url: 'https://files.example.org/table.csv' }] } });
    const forged = messageOf(await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message.startsWith('forged')));
    assert.equal(forged.media ?? undefined, undefined);
    assert.equal(forged.message, 'forged\n📎 table.csv');

    // An attachment whose bytes are elsewhere shows as a line with its link.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'elsewhere', attachments: [{ id: 'x1', name: 'far.bin', mime: 'application/octet-stream', size: 3, sha256: 'ab'.repeat(32), url: 'https://files.example.org/far.bin' }] } });
    const far = messageOf(await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message.startsWith('elsewhere')));
    assert.equal(far.media ?? undefined, undefined);
    assert.equal(far.message, 'elsewhere\n📎 far.bin');
    assert.deepEqual(far.entities?.map((e) => [e.className, e.offset, e.length, e.url]), [['MessageEntityTextUrl', 10, 10, 'https://files.example.org/far.bin']]);
  });
});

test('a text send answers updateShortSentMessage (id, pts, date, the entities); a resend with the same random_id answers the same message and publishes nothing', { timeout: 120_000 }, async () => {
  await withRoom(loginBot, async (_bridge, client, ws) => {
    await client.getDialogs();
    const before = (await client.invoke(new Api.updates.GetState())) as { pts: number };
    const request = () => new Api.messages.SendMessage({
      peer: inputChat(), message: 'once only, bold', randomId: bigInt('8070450532247928832'),
      entities: [new Api.MessageEntityBold({ offset: 11, length: 4 })],
    });
    const first = (await client.invoke(request())) as { className: string; id: number; pts: number; ptsCount: number; date: number; out?: boolean; entities?: Array<{ className: string; offset: number; length: number }> };
    assert.equal(first.className, 'UpdateShortSentMessage');
    assert.equal(first.out, true);
    assert.ok(first.id > 0);
    assert.deepEqual([first.pts, first.ptsCount], [before.pts + 1, 1], 'the account\'s pts moved by one');
    assert.ok(Math.abs(first.date - Date.now() / 1000) < 60);
    assert.deepEqual(first.entities?.map((e) => [e.className, e.offset, e.length]), [['MessageEntityBold', 11, 4]]);
    const event = await wsEvent(ws, 'message', (e) => e['text'] === 'once only, bold');

    // The client did not see the answer (a lost connection, say) and sends the same request again.
    const again = (await client.invoke(request())) as typeof first;
    assert.deepEqual([again.className, again.id, again.pts], ['UpdateShortSentMessage', first.id, first.pts], 'the first send\'s message');
    await client.sendMessage(PEER, { message: 'after the resend' });
    const next = await wsEvent(ws, 'message');
    assert.equal(next['text'], 'after the resend', 'the resend published nothing: the next message WS sees is the one after it');
    assert.notEqual(next.id, event.id);
    const history = await client.getMessages(PEER, { limit: 10 });
    assert.equal(history.filter((m) => m.message === 'once only, bold').length, 1);
    // A message with a file still answers in full: the client needs the stored media.
    const bytes = Buffer.from('short and sweet');
    const sentFile = await client.sendFile(PEER, { file: new CustomFile('s.txt', bytes.length, '', bytes), caption: 'with a file', forceDocument: true, workers: 1 });
    assert.equal(sentFile.media?.className, 'MessageMediaDocument');
  });
});
