// The chat layer with a third client library, in another language: Telethon (Debian's
// python3-telethon 1.25, layer 144, the intermediate TCP transport), stock, run as a child process
// by test/mtproto/telethon-chat.py. It logs in as the bot and chats with a WebSocket client in the
// bridged room; each side's actions are checked on the other; away and back on the same key, it
// gets what it missed with updates.getDifference. As a moderator account, it sets the group's
// description (the room's topic) and is told of one set on WS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { connectClient, type EventFrame, type TestClient } from '../helpers/ws-client.ts';
import { puppetIdOf } from '../../src/connectors/mtproto/chat/people.ts';
import { pythonWith, runPythonChild, type PythonChild } from '../helpers/python-child.ts';
import { Api, BOT_ID, CHAT_ID, PERSON_ID, PERSON_PHONE, WS_TOKEN, bigInt, chatClient, chatServerKey, loginPerson, serverUserHash, shutdown, startChatBridge, wsEvent } from './chat-harness.ts';

const CAROL_ID = 777000124;
const CAROL_PHONE = '+1 555 0101';
import { metricValue } from './harness.ts';

const SCRIPT = fileURLToPath(new URL('./telethon-chat.py', import.meta.url));

/** The script as a child process (test/helpers/python-child.ts); a line on stdin answers what it asks. */
function runTelethon(args: string[]): PythonChild {
  return runPythonChild(pythonWith('telethon, rsa', 'Telethon', 'python3-telethon'), SCRIPT, args, 'Telethon', 30_000);
}

test('a stock Telethon client (layer 144, intermediate transport) logs in as the bot and chats with a WebSocket client', { timeout: 120_000 }, async () => {
  // Every answer of 64 bytes or more goes gzip_packed, as Telegram's servers pack large ones: Telethon reads those too.
  const bridge = await startChatBridge({ mtprotoExtra: '  gzipResultsFrom: 64' });
  let ws: TestClient | undefined;
  const key = chatServerKey();
  const wsText = '🧪 from ws, bold';
  const telethon = runTelethon([String(bridge.mtprotoPort()), key.n.toString(), key.e.toString(), bridge.botToken, String(CHAT_ID), wsText]);
  const step = telethon.step;
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });

    assert.deepEqual(await step('me'), { step: 'me', id: BOT_ID, bot: true });
    // Telethon marks a basic group's id negative.
    assert.deepEqual((await step('dialogs'))['list'], [[-CHAT_ID, 'lobby', true]]);

    const sent = await step('sent');
    assert.deepEqual(sent['entities'], [['MessageEntityBold', 0, 5]]);
    const e1 = await wsEvent(ws, 'message', (e) => e['text'] === 'hello from telethon');
    assert.deepEqual(e1['sender'], { network: 'mtproto', id: String(BOT_ID), name: 'Relay Bot' });
    assert.deepEqual(e1['spans'], [{ type: 'bold', offset: 0, length: 5 }]);
    const resent = await step('resent');
    assert.equal(resent['second'], resent['first'], 'a resend with the same random_id is the same message');
    await wsEvent(ws, 'message', (e) => e['text'] === 'once');

    // WS -> Telethon: a NewMessage event with the span as an entity at its UTF-16 offset (the emoji is two units).
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: wsText, spans: [{ type: 'bold', offset: 11, length: 4 }] } });
    const got = await step('got');
    assert.deepEqual([got['text'], got['entities'], got['out']], [wsText, [['MessageEntityBold', 11, 4]], false]);
    assert.ok(typeof got['sender'] === 'number' && got['sender'] > 0 && got['sender'] !== BOT_ID);

    await step('edited');
    const edit = await wsEvent(ws, 'edit');
    assert.deepEqual([edit['target'], edit['text']], [e1.id, 'hello from telethon (edited)']);
    const buttons = await step('buttons');
    assert.deepEqual([buttons['text'], buttons['rows']], ['hello from telethon (edited)', [['Done']]], 'Telethon: the text, and the keyboard');
    assert.equal((await wsEvent(ws, 'edit'))['text'], 'hello from telethon (edited)\n\n[Done]', 'WS: the button line under the text');
    await step('reacted');
    const reaction = await wsEvent(ws, 'reaction');
    assert.deepEqual([reaction['target'], reaction['reactions']], [e1.id, ['👍']]);
    const history = (await step('history'))['texts'] as string[];
    assert.deepEqual(history.slice(0, 3), [wsText, 'once', 'hello from telethon (edited)']);
    await step('deleted');
    const retract = await wsEvent(ws, 'retract');
    assert.equal(retract['target'], e1.id);
    assert.deepEqual(await telethon.step('reply-keyboard'), { step: 'reply-keyboard', kinds: ['ReplyKeyboardMarkup', 'ReplyKeyboardHide'], labels: ['Go'], resize: true, once: true, texts: ['menu', 'closed'] }, 'a reply keyboard and its removal in layer 144');
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('menu')))['text'], 'menu\n\n[Go]');

    // Errors at once, the session going on.
    const unknown = await step('unknown');
    assert.ok(typeof unknown['code'] === 'number' && unknown['code'] >= 400, JSON.stringify(unknown));
    // Telethon raises the class it has for the error's text.
    assert.deepEqual(await step('bad-peer'), { step: 'bad-peer', code: 400, error: 'PeerIdInvalidError' });
    await step('still');
    await wsEvent(ws, 'message', (e) => e['text'] === 'still here');
    const statePts = Number((await step('state'))['pts']);
    assert.ok(statePts > 0);

    // It goes away; the WS client sends two messages and edits the first; it comes back and asks.
    await step('away');
    const away1 = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'while away 1' } });
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'while away 2' } });
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: away1['id'], text: 'while away 1 (edited)' } });
    telethon.write('');
    const diff = await step('difference');
    assert.deepEqual([diff['kind'], diff['texts'], diff['chats']], ['Difference', ['while away 1 (edited)', 'while away 2'], [CHAT_ID]]);
    assert.equal(diff['pts'], statePts + 3, 'two new messages and an edit');
    assert.ok((diff['users'] as number[]).length >= 1);
    assert.equal((await step('difference-again'))['kind'], 'DifferenceEmpty');
    telethon.write('');
    await step('done');
    assert.equal(await telethon.exited, 0, telethon.stderr());
    const packed = await metricValue(bridge.app.registry, 'switchboard_mtproto_results_gzipped_total');
    assert.ok(packed >= 3, `answers went gzip_packed (${packed}) and Telethon read them`);
  } finally {
    await telethon.stop();
    await ws?.close();
    await bridge.close();
  }
});

test('a stock Telethon client logs in as a person (phone, then the code the admin passes on), sends, answers a private message, and logs out', { timeout: 120_000 }, async () => {
  // Carol: an account of her own, who adds bob as a contact (so that his import of her number finds her).
  const bridge = await startChatBridge({ mtprotoExtra: `    - { id: ${CAROL_ID}, phone: "${CAROL_PHONE}", firstName: Carol }` });
  let ws: TestClient | undefined;
  const key = chatServerKey();
  const telethon = runTelethon(['person', String(bridge.mtprotoPort()), key.n.toString(), key.e.toString(), PERSON_PHONE, String(CHAT_ID)]);
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    await telethon.step('code-needed');
    const code = await bridge.pendingCode(PERSON_PHONE);
    assert.match(code ?? '', /^\d{5,6}$/);
    telethon.write(code!);
    assert.deepEqual(await telethon.step('me'), { step: 'me', id: PERSON_ID, bot: false, first: 'Bob', last: 'Builder' });
    assert.deepEqual(await telethon.step('full-user'), { step: 'full-user', id: BOT_ID, bot: [true], common: 1 });
    assert.deepEqual((await telethon.step('sessions'))['list'], [[true, 0, 1]]);
    assert.deepEqual((await telethon.step('mentioned'))['entities'], [['MessageEntityMentionName', 3, 9]]);
    const mention = await wsEvent(ws, 'message', (ev) => ev['text'] === 'hi Relay Bot');
    assert.deepEqual(mention['spans'], [{ type: 'mention', offset: 3, length: 9, user: `mtproto:${BOT_ID}` }]);
    await telethon.step('sent');
    const e = await wsEvent(ws, 'message', (ev) => ev['text'] === 'hello from a person on telethon');
    assert.deepEqual(e['sender'], { network: 'mtproto', id: String(PERSON_ID), name: 'Bob Builder' });
    // Its album: one WS message with both files; forwarded whole: one message again, under the line naming bob; found by a search.
    const album = await telethon.step('album');
    const [g1, g2] = album['groups'] as Array<number | null>;
    assert.ok(g1 !== null && g1 === g2, `one grouped_id: ${JSON.stringify(album)}`);
    assert.deepEqual(album['texts'], ['one\ntwo', '']);
    const albumAtWs = await wsEvent(ws, 'message', (ev) => ev['text'] === 'one\ntwo');
    assert.deepEqual((albumAtWs['attachments'] as Array<{ name: string; size: number }>).map((a) => [a.name, a.size]), [['one.txt', 330], ['two.txt', 480]]);
    const forwarded = await telethon.step('forwarded');
    assert.deepEqual(forwarded['texts'], ['Forwarded from Bob Builder\none\ntwo', '']);
    const [f1, f2] = forwarded['groups'] as Array<number | null>;
    assert.ok(f1 !== null && f1 === f2 && f1 !== g1, 'an album of its own');
    const forwardAtWs = await wsEvent(ws, 'message', (ev) => String(ev['text']).startsWith('Forwarded from Bob Builder'));
    assert.equal((forwardAtWs['attachments'] as unknown[]).length, 2);
    assert.deepEqual((await telethon.step('searched'))['texts'], ['hello from a person on telethon']);
    // Layer 144's shapes: a draft's reply_to_msg_id, a pinned dialog, who reacted (a string emoji).
    const sentId = (await telethon.step('sent'))['id'];
    assert.deepEqual(await telethon.step('drafts'), { step: 'drafts', texts: ['later'], replies: [sentId] });
    assert.deepEqual(await telethon.step('pinned'), { step: 'pinned', ids: [CHAT_ID], flags: [true] });
    assert.deepEqual(await telethon.step('reactors'), { step: 'reactors', count: 1, reactions: [[PERSON_ID, '👍']] });
    assert.deepEqual(await telethon.step('pinned-message'), { step: 'pinned-message', id: sentId, documents: [4] }, 'its message pinned; the album and its forward: four documents');
    assert.equal((await wsEvent(ws, 'message', (ev) => String(ev['text']).startsWith('📌')))['text'], '📌 Pinned: «hello from a person on telethon»');
    assert.deepEqual((await telethon.step('pins'))['texts'], ['second pin', 'hello from a person on telethon'], 'several pins, newest first');
    assert.deepEqual(await telethon.step('cleared'), { step: 'cleared', texts: [] }, 'its history, cleared for it');
    assert.deepEqual(await telethon.step('video'), { step: 'video', shape: [48, 64, 2], video: true, mime: 'video/mp4' }, 'a video shown upright, with its length');
    assert.deepEqual(await telethon.step('gif-start-privacy'), { step: 'gif-start-privacy', gif: true, started: ['/start tele'], rules: ['PrivacyValueDisallowAll'] }, 'a GIF, the START button and a hidden last seen, in layer 144');
    // A private chat: alice (WS) writes to the person, who answers with a reply.
    await telethon.step('waiting-private');
    const first = await ws.request({ type: 'send', room: `@mtproto:${PERSON_ID}`, event: { kind: 'message', text: 'hi bob, privately' } });
    assert.equal(first.type, 'ack', JSON.stringify(first));
    const got = await telethon.step('private');
    assert.deepEqual([got['text'], got['peer'], got['user'], got['out']], ['hi bob, privately', 'PeerUser', Number(puppetIdOf('websocket:alice')), false]);
    assert.match(String(got['name']), /^Alice/);
    await telethon.step('private-answered');
    assert.deepEqual(await telethon.step('blocked'), { step: 'blocked', ids: [Number(puppetIdOf('websocket:alice'))], after: 0 });
    assert.deepEqual(await telethon.step('contact'), { step: 'contact', added: [['Ally', true]], listed: [[Number(puppetIdOf('websocket:alice')), false]], names: ['Ally'], after: 0 }, 'a contact in layer 144');
    // Carol (gramjs) adds bob; his import of her number finds her, and Telethon's get_entity('+…') resolves it through getContacts.
    await telethon.step('waiting-contact');
    const carol = chatClient(bridge.mtprotoPort());
    try {
      await loginPerson(bridge, carol, CAROL_PHONE);
      const bob = new Api.InputUser({ userId: bigInt(PERSON_ID), accessHash: await serverUserHash(bridge, BigInt(PERSON_ID)) });
      await carol.invoke(new (Api as unknown as { contacts: Record<string, new (a: Record<string, unknown>) => object> }).contacts['AddContact']!({ id: bob, firstName: 'Bob', lastName: '', phone: '' }));
    } finally {
      await shutdown(carol);
    }
    telethon.write(CAROL_PHONE);
    assert.deepEqual(await telethon.step('found-by-number'), { step: 'found-by-number', imported: [CAROL_ID], entity: CAROL_ID, name: 'Caz', mutual: true });
    const answer = await ws.next((f) => f.type === 'event' && (f as EventFrame).room === `@mtproto:${PERSON_ID}`) as EventFrame;
    assert.deepEqual([answer.event['text'], answer.event['replyTo']], ['hello alice, from telethon', first['id']]);
    assert.deepEqual(await telethon.step('report'), { step: 'report', reported: true });
    assert.deepEqual(await telethon.step('archive'), { step: 'archive', archived: [-CHAT_ID], main: [], emptied: 0 });
    assert.deepEqual(await telethon.step('scheduled'), { step: 'scheduled', text: 'Hi, future!', ahead: 60, queued: ['Hi, future!'], left: 0 });
    assert.deepEqual(await telethon.step('saved'), { step: 'saved', texts: ['Hello, myself!'], out: [true], peer: PERSON_ID, bold: ['MessageEntityBold'] });
    assert.deepEqual(await telethon.step('renamed'), { step: 'renamed', first: 'Tele', last: 'Thon' });
    await telethon.step('logged-out');
    await telethon.step('done');
    assert.equal(await telethon.exited, 0, telethon.stderr());
    assert.equal(await bridge.pendingCode(PERSON_PHONE), undefined, 'the code was used up');
  } finally {
    await telethon.stop();
    await ws?.close();
    await bridge.close();
  }
});

test('a stock Telethon client logged in as a moderator account sets the group\'s description (the room\'s topic), and gets the one a WS moderator sets, in layer 144', { timeout: 120_000 }, async () => {
  const bridge = await startChatBridge({ personModerator: true, wsModerator: true });
  let ws: TestClient | undefined;
  const key = chatServerKey();
  const telethon = runTelethon(['moderator', String(bridge.mtprotoPort()), key.n.toString(), key.e.toString(), PERSON_PHONE, String(CHAT_ID)]);
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    await telethon.step('code-needed');
    telethon.write((await bridge.pendingCode(PERSON_PHONE))!);
    // Telethon reads its chatAdminRights (layer 144's flags), and get_permissions its place in the
    // member list: it may change the group's info.
    assert.deepEqual(await telethon.step('rights'), { step: 'rights', change_info: true, delete: true, about: 'Bridged room "lobby" (Switchboard)', admin: true, may_change_info: true });
    // Telethon -> WS: messages.editChatAbout, answered true once stored; its own session is told (a raw UpdateChat).
    assert.deepEqual(await telethon.step('about-set'), { step: 'about-set', result: true, told: CHAT_ID, about: 'Rules, from Telethon' });
    const topic = await wsEvent(ws, 'topic');
    assert.deepEqual([topic['text'], topic['sender']], ['Rules, from Telethon', { network: 'mtproto', id: String(PERSON_ID), name: 'Bob Builder' }]);
    // Telethon raises its own classes for the refusals.
    assert.deepEqual(await telethon.step('refused'), { step: 'refused', same: 'ChatAboutNotModifiedError', long: 'ChatAboutTooLongError' });
    assert.deepEqual(ws.events.filter((e) => e.event.kind === 'topic').map((e) => e.event['text']), ['Rules, from Telethon'], 'the refused ones published nothing');
    // WS -> Telethon: an events.Raw handler gets UpdateChat, and getFullChat shows the new about.
    await telethon.step('waiting-topic');
    const sent = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'topic', text: 'Release party on Friday 🎉' } });
    assert.notEqual(sent.type, 'error', JSON.stringify(sent));
    assert.deepEqual(await telethon.step('topic'), { step: 'topic', told: CHAT_ID, about: 'Release party on Friday 🎉' });
    await telethon.step('done');
    assert.equal(await telethon.exited, 0, telethon.stderr());
  } finally {
    await telethon.stop();
    await ws?.close();
    await bridge.close();
  }
});
