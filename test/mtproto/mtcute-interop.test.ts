// The chat layer with a fourth, independent client library: mtcute 0.30 (TypeScript, its own
// handshake, crypto and TL code; layer 227, newer than any gramjs release, so answers come in
// TDLib's copy of that layer), driven through its high-level client as an app would be. It logs
// in as the bot and, separately, as a person; each chats with a WebSocket client in the bridged
// room, and the person catches up on what it missed while away through mtcute's own update
// machinery (updates.getDifference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { InputMedia, type Message } from '@mtcute/core';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { BOT_ID, CHAT_ID, PERSON_ID, PERSON_PHONE, WS_TOKEN, chatServerKey, startChatBridge, until, wsEvent, type ChatBridge } from './chat-harness.ts';
import { mtcuteClient, type MtcuteClient } from './mtcute-client.ts';

const CHAT = -CHAT_ID;

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

async function withMtcute(login: Login, body: (c: MtcuteClient, ws: TestClient, bridge: ChatBridge) => Promise<void>, opts: { catchUp?: boolean } = {}): Promise<void> {
  const bridge = await startChatBridge({ keepPort: true });
  const c = mtcuteClient(bridge.mtprotoPort(), chatServerKey(), opts);
  let ws: TestClient | undefined;
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    await start(c, bridge, login);
    await body(c, ws, bridge);
  } finally {
    await c.destroy().catch(() => {});
    ws?.close();
    await bridge.close();
  }
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
    const history = await c.getHistory(CHAT, { limit: 10 });
    assert.deepEqual(history.map((m) => m.text).slice(0, 3), ['a reply from mtcute', wsText, `${text} (edited)`]);

    // A file each way.
    const notes = Buffer.from('notes from mtcute\n'.repeat(50));
    await c.sendMedia(CHAT, InputMedia.document(new Uint8Array(notes), { fileName: 'notes.txt', fileMime: 'text/plain', caption: 'a file' }));
    const withFile = await wsEvent(ws, 'message', (e) => e['text'] === 'a file');
    const [attachment] = withFile['attachments'] as Array<{ name: string; size: number; sha256: string; url: string }>;
    assert.deepEqual([attachment?.name, attachment?.size, attachment?.sha256], ['notes.txt', notes.length, createHash('sha256').update(notes).digest('hex')]);
    assert.deepEqual(Buffer.from(await (await fetch(attachment!.url)).arrayBuffer()), notes);
    const csv = Buffer.from('a,b\n1,2\n'.repeat(300));
    const res = await fetch(`${bridge.app.httpUrl}/media?name=table.csv`, { method: 'POST', headers: { authorization: `Bearer ${WS_TOKEN}`, 'content-type': 'text/csv' }, body: csv });
    assert.equal(res.status, 201, await res.clone().text());
    const table = nextMessage(c, (m) => m.text === 'a table');
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'a table', attachments: [await res.json()] } });
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
  await withMtcute('person', async (c, ws, bridge) => {
    const seen: string[] = [];
    c.onNewMessage.add((m) => { if (!m.isOutgoing) seen.push(m.text); });

    const sent = await c.sendText(CHAT, 'hi from a person on mtcute');
    const e1 = await wsEvent(ws, 'message', (e) => e['text'] === 'hi from a person on mtcute');
    assert.deepEqual(e1['sender'], { network: 'mtproto', id: String(PERSON_ID), name: 'Bob Builder' });
    assert.ok(sent.id > 0);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'while connected' } });
    await until('the live message', () => seen.includes('while connected'));

    // Away: the WS side goes on talking. Back (the app starts the client again), mtcute asks for
    // what it missed (its catchUp option: updates.getDifference) and hands it over in order.
    await c.disconnect();
    for (const text of ['missed 1', 'missed 2', 'missed 3']) await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
    await start(c, bridge, 'person');
    await until('the missed messages', () => seen.includes('missed 3'), 15_000);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'back' } });
    await until('the live message after', () => seen.includes('back'));
    assert.deepEqual(seen, ['while connected', 'missed 1', 'missed 2', 'missed 3', 'back']);

    // The same across a restart of the bridge on the embedded defaults while the client is away.
    await c.disconnect();
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'before the restart' } });
    ws.close();
    await bridge.restart();
    const ws2 = await connectClient(bridge.wsUrl(), WS_TOKEN);
    try {
      await ws2.request({ type: 'join', room: 'lobby' });
      await ws2.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'after the restart' } });
      await start(c, bridge, 'person');
      await until('the messages of the restart', () => seen.includes('after the restart'), 15_000);
      await ws2.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'live again' } });
      await until('live again', () => seen.includes('live again'));
      assert.deepEqual(seen.slice(5), ['before the restart', 'after the restart', 'live again']);
    } finally {
      ws2.close();
    }
  }, { catchUp: true });
});
