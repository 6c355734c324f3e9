// The chat layer with a fourth, independent client library: mtcute 0.30 (TypeScript, its own
// handshake, crypto and TL code; layer 227, newer than any gramjs release, so answers come in
// TDLib's copy of that layer), driven through its high-level client as an app would be. It logs
// in as the bot and, separately, as a person; each chats with a WebSocket client in the bridged
// room, and the person catches up on what it missed while away through mtcute's own update
// machinery (updates.getDifference). Then: a private chat, mtcute on both sides (buttons, an
// album, a forward, a pin, a search), the room's topic as a moderator account (the group's
// description, both ways), and perfect forward secrecy (temporary keys).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { BotKeyboard, InputMedia, MemoryStorage, type Message } from '@mtcute/core';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { BOT_ID, CHAT_ID, PERSON_ID, PERSON_PHONE, WS_TOKEN, chatServerKey, rpcError, startChatBridge, until, uploadToMedia, wsEvent, wsFileArrives, type ChatBridge } from './chat-harness.ts';
import { mtcuteClient, type MtcuteClient } from './mtcute-client.ts';
import { metricValue } from './harness.ts';
import { puppetIdOf } from '../../src/connectors/mtproto/chat/people.ts';

const CHAT = -CHAT_ID;
const execFileAsync = promisify(execFile);
const ALICE = Number(puppetIdOf('websocket:alice'));
const ALICE_ROOM = `@mtproto:${PERSON_ID}`;

type Login = 'bot' | 'person';

/** `client.start()` as an app calls it, with the bot's token or the person's phone and the code the admin passes on. */
async function start(c: MtcuteClient, bridge: ChatBridge, login: Login): Promise<void> {
  const me = login === 'bot'
    ? await c.start({ botToken: bridge.botToken })
    : await c.start({
      phone: PERSON_PHONE,
      code: async () => {
        const code = await bridge.pendingCode(PERSON_PHONE);
        if (code === undefined) throw new Error('no login code is waiting');
        return code;
      },
    });
  assert.equal(me.id, login === 'bot' ? BOT_ID : PERSON_ID);
  assert.equal(me.isBot, login === 'bot');
}

/** `moderators`: the person and alice's WS token are moderators (may set the room's topic). */
async function withMtcute(login: Login, body: (c: MtcuteClient, ws: TestClient, bridge: ChatBridge) => Promise<void>, opts: { storage?: MemoryStorage; files?: Record<string, string>; moderators?: boolean } = {}): Promise<void> {
  const bridge = await startChatBridge({ keepPort: true, personModerator: opts.moderators === true, wsModerator: opts.moderators === true, ...(opts.files !== undefined ? { files: opts.files } : {}) });
  const c = mtcuteClient(bridge.mtprotoPort(), chatServerKey(), opts.storage !== undefined ? { storage: opts.storage } : {});
  let ws: TestClient | undefined;
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    await start(c, bridge, login);
    await untilListening(c, ws);
    await body(c, ws, bridge);
  } finally {
    await c.destroy().catch(() => {});
    ws?.close();
    await bridge.close();
  }
}

/**
 * After a login mtcute starts its updates loop in the background: it reads the account's state
 * first (getState, then getDifference up to it, dispatching nothing: a new login does not replay
 * history) and only then listens. What arrives before is part of that state, not an update for
 * the app. So the WS side says something in the group until mtcute hands one over.
 */
async function untilListening(c: MtcuteClient, ws: TestClient): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const text = `are you listening? ${i}`;
    const heard = nextMessage(c, (m) => m.text === text, 250).then(() => true, () => false);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
    if (await heard) return;
  }
  throw new Error('mtcute did not start listening');
}

/** The next new message mtcute's update machinery hands the app that matches. */
function nextMessage(c: MtcuteClient, pred: (m: Message) => boolean, timeoutMs = 10_000): Promise<Message> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { c.onNewMessage.remove(on); reject(new Error('no such message reached mtcute')); }, timeoutMs);
    const on = (m: Message): void => {
      if (!pred(m)) return;
      clearTimeout(timer);
      c.onNewMessage.remove(on);
      resolve(m);
    };
    c.onNewMessage.add(on);
  });
}

test('mtcute (layer 227) logs in as the bot and chats with a WebSocket client: formatting, reply, edit, reaction, delete, a file each way', { timeout: 90_000 }, async () => {
  await withMtcute('bot', async (c, ws, bridge) => {
    const dialogs = [];
    for await (const d of c.iterDialogs()) dialogs.push([d.peer.id, d.peer.displayName]);
    assert.deepEqual(dialogs, [[CHAT, 'lobby']]);

    // Text with formatting, mtcute -> WS.
    const text = 'hello from mtcute';
    const sent = await c.sendText(CHAT, { text, entities: [{ _: 'messageEntityBold', offset: 0, length: 5 }] });
    const e1 = await wsEvent(ws, 'message', (e) => e['text'] === text);
    assert.deepEqual(e1['sender'], { network: 'mtproto', id: String(BOT_ID), name: 'Relay Bot' });
    assert.deepEqual(e1['spans'], [{ type: 'bold', offset: 0, length: 5 }]);

    // WS -> mtcute, with a span at its UTF-16 offset, as mtcute's high-level Message.
    const wsText = '🧪 from ws, italic';
    const arriving = nextMessage(c, (m) => m.text === wsText);
    const ack = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: wsText, spans: [{ type: 'italic', offset: 11, length: 6 }] } });
    const fromWs = await arriving;
    assert.equal(fromWs.isOutgoing, false);
    assert.equal(fromWs.chat.id, CHAT);
    assert.deepEqual(fromWs.entities.map((e) => [e.kind, e.offset, e.length]), [['italic', 11, 6]]);
    assert.equal(fromWs.sender.displayName, 'Alice (websocket)');

    // A reply to it, an edit and a reaction of its own message.
    await c.replyText(fromWs, 'a reply from mtcute');
    const reply = await wsEvent(ws, 'message', (e) => e['text'] === 'a reply from mtcute');
    assert.equal(reply['replyTo'], ack['id']);
    const edited = await c.editMessage({ chatId: CHAT, message: sent.id, text: `${text} (edited)` });
    assert.equal(edited.text, `${text} (edited)`);
    const edit = await wsEvent(ws, 'edit');
    assert.deepEqual([edit['target'], edit['text']], [e1.id, `${text} (edited)`]);
    await c.sendReaction({ chatId: CHAT, message: sent.id, emoji: '👍' });
    const reaction = await wsEvent(ws, 'reaction');
    assert.deepEqual([reaction['target'], reaction['reactions']], [e1.id, ['👍']]);

    // History through mtcute: the edit applied, newest first.
    const history = await c.getHistory(CHAT, { limit: 3 });
    assert.deepEqual(history.map((m) => m.text).slice(0, 3), ['a reply from mtcute', wsText, `${text} (edited)`]);

    // A file each way.
    const notes = Buffer.from('notes from mtcute\n'.repeat(50));
    await c.sendMedia(CHAT, InputMedia.document(new Uint8Array(notes), { fileName: 'notes.txt', fileMime: 'text/plain', caption: 'a file' }));
    await wsFileArrives(ws, 'a file', 'notes.txt', notes);
    const csv = Buffer.from('a,b\n1,2\n'.repeat(300));
    const table = nextMessage(c, (m) => m.text === 'a table');
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'a table', attachments: [await uploadToMedia(bridge, 'table.csv', 'text/csv', csv)] } });
    const got = await table;
    assert.equal(got.media?.type, 'document');
    assert.deepEqual(Buffer.from(await c.downloadAsBuffer(got.media as never)), csv);

    // Deleted, it is gone from the WS room too.
    await c.deleteMessagesById(CHAT, [sent.id]);
    const retract = await wsEvent(ws, 'retract');
    assert.equal(retract['target'], e1.id);
  });
});

test('mtcute logs in as a person (phone and code), chats, and after time away gets exactly what it missed, also across a restart of the bridge', { timeout: 90_000 }, async () => {
  const storage = new MemoryStorage();
  const seen: string[] = [];
  /** The app (again): a new client on the stored session, started with mtcute's catchUp option. */
  const app = async (bridge: ChatBridge): Promise<MtcuteClient> => {
    const c = mtcuteClient(bridge.mtprotoPort(), chatServerKey(), { storage, catchUp: true });
    c.onNewMessage.add((m) => { if (!m.isOutgoing) seen.push(m.text); });
    await start(c, bridge, 'person');
    return c;
  };
  await withMtcute('person', async (first, ws, bridge) => {
    first.onNewMessage.add((m) => { if (!m.isOutgoing) seen.push(m.text); });
    const sent = await first.sendText(CHAT, 'hi from a person on mtcute');
    const e1 = await wsEvent(ws, 'message', (e) => e['text'] === 'hi from a person on mtcute');
    assert.deepEqual(e1['sender'], { network: 'mtproto', id: String(PERSON_ID), name: 'Bob Builder' });
    assert.ok(sent.id > 0);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'while connected' } });
    await until('the live message', () => seen.includes('while connected'));

    // Away (the app quits): the WS side goes on talking. The app started again on its stored
    // session asks for what it missed (updates.getDifference) and hands it over in order.
    await first.destroy();
    for (const text of ['missed 1', 'missed 2', 'missed 3']) await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
    const second = await app(bridge);
    try {
      await until('the missed messages', () => seen.includes('missed 3'), 15_000);
      await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'back' } });
      await until('the live message after', () => seen.includes('back'));
      assert.deepEqual(seen, ['while connected', 'missed 1', 'missed 2', 'missed 3', 'back']);
    } finally {
      await second.destroy();
    }

    // The same across a restart of the bridge on the embedded defaults while the app is away.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'before the restart' } });
    ws.close();
    await bridge.restart();
    const ws2 = await connectClient(bridge.wsUrl(), WS_TOKEN);
    try {
      await ws2.request({ type: 'join', room: 'lobby' });
      await ws2.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'after the restart' } });
      const third = await app(bridge);
      try {
        await until('the messages of the restart', () => seen.includes('after the restart'), 15_000);
        await ws2.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'live again' } });
        await until('live again', () => seen.includes('live again'));
        assert.deepEqual(seen.slice(5), ['before the restart', 'after the restart', 'live again']);
      } finally {
        await third.destroy();
      }
    } finally {
      ws2.close();
    }
  }, { storage });
});

test('mtcute as a person in a private chat with a WS user (message, reply, typing and read marks both ways, her full profile), and what an app asks at start, all in layer 227\'s shapes', { timeout: 90_000 }, async () => {
  await withMtcute('person', async (c, ws) => {
    // alice (WS) writes first: a private message from her user.
    const arriving = nextMessage(c, (m) => m.text === 'hi bob, privately');
    const first = await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'message', text: 'hi bob, privately' } });
    const got = await arriving;
    assert.deepEqual([got.chat.type, got.chat.id, got.sender.id, got.isOutgoing], ['user', ALICE, ALICE, false]);

    // Her full profile, and the group's, read in layer 227's userFull and chatFull.
    const alice = await c.getFullUser(ALICE);
    assert.match(alice.displayName, /^Alice/);
    const group = await c.getFullChat(CHAT);
    assert.equal(group.title, 'lobby');

    // bob answers with a reply; alice gets it in her chat with him.
    await c.replyText(got, 'hello alice');
    const answer = await wsEvent(ws, 'message', (e) => e['text'] === 'hello alice');
    assert.equal(answer['replyTo'], first['id']);

    // Typing both ways.
    const typing = new Promise<number>((resolve) => c.onUserTyping.add((t) => resolve(t.userId)));
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'typing', state: 'active' } });
    assert.equal(await typing, ALICE);
    await c.sendTyping(ALICE, 'typing');
    const typed = await wsEvent(ws, 'typing');
    assert.equal(typed['state'], 'active');

    // Read marks both ways: bob reads her message (a receipt for her), she reads his (his outbox read).
    await c.readHistory(ALICE);
    await wsEvent(ws, 'receipt');
    const outboxRead = new Promise<number>((resolve) => c.onHistoryRead.add((r) => { if (r.isOutbox) resolve(r.maxReadId); }));
    await ws.request({ type: 'send', room: ALICE_ROOM, event: { kind: 'receipt', receipt: 'displayed', target: answer.id } });
    assert.ok(await outboxRead > got.id);

    // A note to itself, mtcute's quick start (`sendText('self', …)`): Saved Messages, answered in
    // full (the short answer cannot carry saved_peer_id, and mtcute cannot build a message from it).
    const note = await c.sendText('self', 'note to self');
    assert.deepEqual([note.chat.id, note.isOutgoing, note.text], [PERSON_ID, true, 'note to self']);
    assert.deepEqual((await c.getHistory('self', { limit: 5 })).map((m) => m.text), ['note to self']);

    // What apps ask at start, answered in the client's layer (raw calls through mtcute's own TL).
    const config = await c.call({ _: 'help.getConfig' });
    assert.equal(config.thisDc, 2);
    assert.equal((await c.call({ _: 'help.getAppConfig', hash: 0 }))._, 'help.appConfig');
    assert.equal((await c.call({ _: 'messages.getDialogFilters' }))._, 'messages.dialogFilters');
    assert.equal((await c.call({ _: 'account.getPassword' })).hasPassword, false);
    assert.equal((await c.call({ _: 'help.getTermsOfServiceUpdate' }))._, 'help.termsOfServiceUpdateEmpty');
    const dialogs = await c.call({ _: 'messages.getPeerDialogs', peers: [{ _: 'inputDialogPeer', peer: await c.resolvePeer(ALICE) }] });
    assert.equal(dialogs.dialogs.length, 1);
    const aliceUser = { _: 'inputUser' as const, userId: ALICE, accessHash: (await c.resolvePeer(ALICE) as unknown as { accessHash: never }).accessHash };
    assert.deepEqual((await c.call({ _: 'users.getRequirementsToContact', id: [aliceUser] })).map((r) => r._), ['requirementToContactEmpty']);
  }, { files: { 'mappings/presence.yaml': 'coalesceMs: 100\n' } });
});

test('mtcute on both sides (the bot and the person, layer 227): an inline button pressed and answered, an album, a forward, a pin, a search, the members, the bot\'s commands', { timeout: 90_000 }, async () => {
  await withMtcute('bot', async (bot, ws, bridge) => {
    const person = mtcuteClient(bridge.mtprotoPort(), chatServerKey());
    try {
      await start(person, bridge, 'person');
      await untilListening(person, ws);

      // An inline button: the person gets the keyboard, presses, the bot answers the press.
      const question = nextMessage(person, (m) => m.text === 'ready?');
      await bot.sendText(CHAT, 'ready?', { replyMarkup: BotKeyboard.inline([[BotKeyboard.callback('Yes', 'yes')]]) });
      const asked = await question;
      assert.equal((asked.markup as { type?: string } | null)?.type, 'inline');
      bot.onCallbackQuery.add((q) => { void bot.answerCallbackQuery(q, { text: `noted: ${q.dataStr}` }); });
      // (mtcute keeps its timer for the answer running after it comes: 5 s, not its default 10, keeps the file's tail short.)
      const answer = await person.getCallbackAnswer({ chatId: CHAT, message: asked.id, data: 'yes', timeout: 5_000 });
      assert.equal(answer.message, 'noted: yes');
      assert.deepEqual((await wsEvent(ws, 'message', (e) => e['text'] !== undefined && String(e['text']).startsWith('ready?')))['text'], 'ready?\n\n[Yes]');

      // The bot's commands, as the person reads them from its full profile.
      await bot.setMyCommands({ commands: [{ _: 'botCommand', command: 'help', description: 'what I do' }] });
      const botFull = (await person.getFullUser(BOT_ID)).full;
      assert.deepEqual(botFull.botInfo?.commands?.map((c) => [c.command, c.description]), [['help', 'what I do']]);

      // An album of two files: the bot gets two grouped messages, WS one message with both.
      const grouped: Message[] = [];
      bot.onNewMessage.add((m) => { if (m.groupedId !== null) grouped.push(m); });
      await person.sendMediaGroup(CHAT, [
        InputMedia.document(new Uint8Array(Buffer.from('first file')), { fileName: 'a.txt', fileMime: 'text/plain', caption: 'two files' }),
        InputMedia.document(new Uint8Array(Buffer.from('second file')), { fileName: 'b.txt', fileMime: 'text/plain' }),
      ]);
      const album = await wsEvent(ws, 'message', (e) => e['text'] === 'two files');
      assert.deepEqual((album['attachments'] as Array<{ name: string }>).map((a) => a.name), ['a.txt', 'b.txt']);
      await until('the album at the bot', () => grouped.length === 2);
      assert.equal(String(grouped[0]!.groupedId), String(grouped[1]!.groupedId));

      // A forward of the bot's question into the same chat, a pin, a search.
      const [forwarded] = await person.forwardMessagesById({ fromChatId: CHAT, toChatId: CHAT, messages: [asked.id] });
      // Forwards are copies under a "Forwarded from" line everywhere (the canonical event has no forward header).
      assert.match(forwarded?.text ?? '', /Forwarded from Relay Bot[\s\S]*ready\?/);
      const fwd = await wsEvent(ws, 'message', (e) => String(e['text']).includes('Forwarded from'));
      assert.match(String(fwd['text']), /Forwarded from Relay Bot/);
      await person.pinMessage({ chatId: CHAT, message: asked.id });
      assert.match(String((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌')))['text']), /ready\?/);
      const found = await person.searchMessages({ chatId: CHAT, query: 'two files' });
      assert.deepEqual(found.map((m) => m.text), ['two files']);

      // Who is in the group, as mtcute lists a basic group's members.
      const members = await person.getChatMembers(CHAT);
      const ids = members.map((m) => m.user.id);
      assert.ok(ids.includes(PERSON_ID) && ids.includes(BOT_ID), ids.join(', '));
    } finally {
      await person.destroy();
    }
  });
});

test('mtcute as a moderator account (layer 227): setChatDescription is the room\'s topic on WS, him its sender; a WS moderator\'s topic is a raw updateChat and getFullChat\'s bio; his adminRights offer changeInfo', { timeout: 90_000 }, async () => {
  await withMtcute('person', async (c, ws) => {
    const told: number[] = [];
    c.onRawUpdate.add(({ update }) => { if (update._ === 'updateChat') told.push(update.chatId); });
    const before = await c.getFullChat(CHAT);
    assert.deepEqual([before.bio, before.adminRights?.changeInfo, before.adminRights?.deleteMessages], ['Bridged room "lobby" (Switchboard)', true, true]);
    // And getChatMember reads his place in the member list: an admin.
    assert.equal((await c.getChatMember({ chatId: CHAT, userId: 'self' }))?.status, 'admin');

    // mtcute -> WS: its high-level setChatDescription (messages.editChatAbout); his session is told too.
    await c.setChatDescription(CHAT, 'Rules, from mtcute');
    const topic = await wsEvent(ws, 'topic');
    assert.deepEqual([topic['text'], topic['sender']], ['Rules, from mtcute', { network: 'mtproto', id: String(PERSON_ID), name: 'Bob Builder' }]);
    assert.equal((await c.getFullChat(CHAT)).bio, 'Rules, from mtcute');
    await until('his own updateChat', () => told.length === 1);
    assert.deepEqual(told, [CHAT_ID]);
    // Refused, as mtcute's RpcError, nothing published.
    assert.equal(await rpcError(c.setChatDescription(CHAT, 'Rules, from mtcute')), 'CHAT_ABOUT_NOT_MODIFIED');
    assert.equal(await rpcError(c.setChatDescription(CHAT, 'x'.repeat(256))), 'CHAT_ABOUT_TOO_LONG');

    // WS -> mtcute: a raw updateChat (mtcute has no parsed update for it), and the new bio.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'Release party on Friday 🎉' } });
    await until('updateChat for the WS topic', () => told.length === 2);
    assert.deepEqual(told, [CHAT_ID, CHAT_ID]);
    assert.equal((await c.getFullChat(CHAT)).bio, 'Release party on Friday 🎉');
    // Cleared from mtcute: an empty description, not the default.
    await c.setChatDescription(CHAT, '');
    assert.equal((await wsEvent(ws, 'topic', (e) => e['text'] === ''))['text'], '');
    assert.equal((await c.getFullChat(CHAT)).bio, '');
    assert.deepEqual(ws.events.filter((e) => e.event.kind === 'topic' && (e.event['sender'] as { network?: string }).network === 'mtproto').map((e) => e.event['text']), ['Rules, from mtcute', ''], 'the refused ones published nothing');
  }, { moderators: true });
});

test('mtcute with perfect forward secrecy (usePfs, a client process of its own): a temporary key, bound to its permanent one with auth.bindTempAuthKey, carries the login and the chat', { timeout: 90_000 }, async () => {
  const bridge = await startChatBridge();
  let ws: TestClient | undefined;
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    // Asynchronously: the bridge answering it runs in this process.
    const child = await execFileAsync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./mtcute-pfs-client.ts', import.meta.url)), String(bridge.mtprotoPort()), bridge.botToken, String(CHAT), 'sent over a temporary key'], {
      env: { ...process.env, MTCUTE_SERVER_KEY: chatServerKey().publicKeyPem }, timeout: 60_000,
    });
    assert.equal(JSON.parse(child.stdout.trim().split('\n').pop()!).me, BOT_ID);
    await wsEvent(ws, 'message', (e) => e['text'] === 'sent over a temporary key');
    const handshakes = async (inner: string) => await metricValue(bridge.app.registry, 'switchboard_mtproto_handshakes_ok_total', { inner });
    assert.ok(await handshakes('p_q_inner_data_temp_dc') >= 1, 'a temporary key was made');
    assert.ok(await handshakes('p_q_inner_data_dc') >= 1, 'and the permanent one it is bound to');
    // No seqno refusals on the way (a first salt to learn, 48, is normal).
    assert.equal(await metricValue(bridge.app.registry, 'switchboard_mtproto_bad_msg_total', { code: '34' }), 0);
  } finally {
    ws?.close();
    await bridge.close();
  }
});
