// The chat layer with a second, independent client library: @mtproto/core 6.3 (its own handshake,
// crypto and TL code, layer 158 where gramjs 2.26 sends a newer one, every call wrapped in
// invokeWithLayer + initConnection, and the obfuscated intermediate transport). It logs in as the
// bot and chats with a WebSocket client in the bridged room; what each side sends is checked on
// the other, and bad calls get rpc_errors while the session goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { BOT_ID, CHAT_ID, WS_TOKEN, chatServerKey, startChatBridge, uploadToMedia, wsEvent, wsFileArrives, type ChatBridge } from './chat-harness.ts';
import { metricValue } from './harness.ts';
import { coreSession, rpcErrorOf, type CoreObject, type CoreSession } from './mtproto-core-client.ts';

const PEER = { _: 'inputPeerChat', chat_id: String(CHAT_ID) };

const list = (v: unknown) => v as CoreObject[];
const field = (o: CoreObject, name: string) => o[name] as CoreObject;

/** The new chat messages an update (of any shape the library emits) carries. */
function newMessagesOf(u: CoreObject): CoreObject[] {
  if (u._ === 'updateShortChatMessage') return [u];
  if (u._ === 'updates' || u._ === 'updatesCombined') return list(u['updates']).filter((x) => x._ === 'updateNewMessage').map((x) => field(x, 'message'));
  if (u._ === 'updateShort' && field(u, 'update')._ === 'updateNewMessage') return [field(field(u, 'update'), 'message')];
  return [];
}

async function withCoreClient(body: (s: CoreSession, ws: TestClient, bridge: ChatBridge) => Promise<void>): Promise<void> {
  // Every answer of 64 bytes or more goes gzip_packed, as Telegram's servers pack large ones: this library reads those too.
  const bridge = await startChatBridge({ mtprotoExtra: '  gzipResultsFrom: 64' });
  const s = coreSession(bridge.mtprotoPort(), chatServerKey());
  let ws: TestClient | undefined;
  try {
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    const auth = await s.call('auth.importBotAuthorization', { flags: 0, api_id: 1, api_hash: 'switchboard-test', bot_auth_token: bridge.botToken });
    assert.equal(auth._, 'auth.authorization');
    assert.equal(String(field(auth, 'user')['id']), String(BOT_ID));
    assert.equal(field(auth, 'user')['bot'], true);
    await body(s, ws, bridge);
  } finally {
    s.close();
    await ws?.close();
    await bridge.close();
  }
}

test('@mtproto/core (layer 158, obfuscated intermediate) logs in as the bot and chats with a WebSocket client', { timeout: 60_000 }, async () => {
  await withCoreClient(async (s, ws, bridge) => {
    // Who it is, and the bridged group as its one dialog (layer 158's shapes: user ids are longs).
    const [me] = list(await s.call('users.getUsers', { id: [{ _: 'inputUserSelf' }] }));
    assert.equal(me?._, 'user');
    assert.equal(String(me?.['id']), String(BOT_ID));
    assert.equal(me?.['self'], true);
    const dialogs = await s.call('messages.getDialogs', { offset_peer: { _: 'inputPeerEmpty' }, limit: 20, hash: 0 });
    assert.deepEqual(list(dialogs['chats']).map((c) => [c._, String(c['id']), c['title']]), [['chat', String(CHAT_ID), 'lobby']]);

    // Text with formatting, MTProto -> WS: the short answer, then the event with its spans.
    const randomId = '7311924398510327041';
    const text = 'hello from @mtproto/core';
    const sent = await s.call('messages.sendMessage', { peer: PEER, message: text, random_id: randomId, entities: [{ _: 'messageEntityBold', offset: 0, length: 5 }] });
    assert.equal(sent._, 'updateShortSentMessage');
    assert.ok(Number(sent['id']) > 0 && Number(sent['pts']) > 0);
    const e1 = await wsEvent(ws, 'message', (e) => e['text'] === text);
    assert.deepEqual(e1['sender'], { network: 'mtproto', id: String(BOT_ID), name: 'Relay Bot' });
    assert.deepEqual(e1['spans'], [{ type: 'bold', offset: 0, length: 5 }]);

    // The same random_id again: the same message, nothing new published.
    const again = await s.call('messages.sendMessage', { peer: PEER, message: text, random_id: randomId });
    assert.equal(again['id'], sent['id']);

    // WS -> MTProto: an update the library decodes, with the span as an entity at its UTF-16 offset.
    const wsText = '🧪 from ws, italic';
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: wsText, spans: [{ type: 'italic', offset: 11, length: 6 }] } });
    const update = await s.nextUpdate((u) => newMessagesOf(u).some((m) => m['message'] === wsText));
    const fromWs = newMessagesOf(update).find((m) => m['message'] === wsText)!;
    assert.deepEqual(list(fromWs['entities']).map((e) => [e._, e['offset'], e['length']]), [['messageEntityItalic', 11, 6]]);
    assert.equal(fromWs['out'], false);

    // Edit, react and delete its own message; each reaches the WS client as its canonical event.
    const edited = await s.call('messages.editMessage', { peer: PEER, id: sent['id'], message: `${text} (edited)` });
    assert.ok(['updates', 'updateShort'].includes(edited._), edited._);
    const edit = await wsEvent(ws, 'edit');
    assert.equal(edit['target'], e1.id);
    assert.equal(edit['text'], `${text} (edited)`);
    await s.call('messages.sendReaction', { peer: PEER, msg_id: sent['id'], reaction: [{ _: 'reactionEmoji', emoticon: '👍' }] });
    const reaction = await wsEvent(ws, 'reaction');
    assert.equal(reaction['target'], e1.id);
    assert.deepEqual(reaction['reactions'], ['👍']);

    // History in layer 158: both messages, newest first, the edit applied.
    const history = await s.call('messages.getHistory', { peer: PEER, offset_id: 0, offset_date: 0, add_offset: 0, limit: 10, max_id: 0, min_id: 0, hash: 0 });
    const texts = list(history['messages']).filter((m) => m._ === 'message').map((m) => m['message']);
    assert.deepEqual(texts.slice(0, 2), [wsText, `${text} (edited)`]);

    const deleted = await s.call('messages.deleteMessages', { revoke: true, id: [sent['id']] });
    assert.equal(deleted._, 'messages.affectedMessages');
    const retract = await wsEvent(ws, 'retract');
    assert.equal(retract['target'], e1.id);

    // The update state the library would resume from matches what it was told.
    const state = await s.call('updates.getState');
    assert.equal(state['pts'], deleted['pts']);
    const packed = await metricValue(bridge.app.registry, 'switchboard_mtproto_results_gzipped_total');
    assert.ok(packed >= 3, `answers went gzip_packed (${packed}) and the library read them`);
  });
});

test('@mtproto/core: a method the bridge does not serve and a chat it may not use get rpc_errors, and the session goes on', { timeout: 60_000 }, async () => {
  await withCoreClient(async (s, ws) => {
    const unknown = rpcErrorOf(await s.call('stickers.checkShortName', { short_name: 'switchboard' }).then(() => undefined, (err: unknown) => err));
    assert.ok(unknown.error_code >= 400, `error ${unknown.error_code} ${unknown.error_message}`);
    const badPeer = rpcErrorOf(await s.call('messages.sendMessage', { peer: { _: 'inputPeerChat', chat_id: '424242' }, message: 'x', random_id: '1' }).then(() => undefined, (err: unknown) => err));
    assert.deepEqual([badPeer.error_code, badPeer.error_message], [400, 'PEER_ID_INVALID']);
    const empty = rpcErrorOf(await s.call('messages.sendMessage', { peer: PEER, message: '', random_id: '2' }).then(() => undefined, (err: unknown) => err));
    assert.deepEqual([empty.error_code, empty.error_message], [400, 'MESSAGE_EMPTY']);
    // Still the same session: a send works and arrives.
    await s.call('messages.sendMessage', { peer: PEER, message: 'still here', random_id: '3' });
    await wsEvent(ws, 'message', (e) => e['text'] === 'still here');
  });
});

test('@mtproto/core: a file each way (saveFilePart + sendMedia to a WS client; a WS upload fetched with upload.getFile)', { timeout: 60_000 }, async () => {
  await withCoreClient(async (s, ws, bridge) => {
    // MTProto -> WS: one part, a document with its file name; the WS client downloads the same bytes.
    const notes = Buffer.from('notes from an older client\n'.repeat(40));
    assert.equal(await s.call('upload.saveFilePart', { file_id: '424242', file_part: 0, bytes: new Uint8Array(notes) }), true);
    await s.call('messages.sendMedia', {
      peer: PEER, message: 'a file', random_id: '99',
      media: {
        _: 'inputMediaUploadedDocument', mime_type: 'text/plain',
        file: { _: 'inputFile', id: '424242', parts: 1, name: 'notes.txt', md5_checksum: '' },
        attributes: [{ _: 'documentAttributeFilename', file_name: 'notes.txt' }],
      },
    });
    await wsFileArrives(ws, 'a file', 'notes.txt', notes);

    // WS -> MTProto: a document the library finds in its update and reads back with upload.getFile.
    const csv = Buffer.from('a,b\n1,2\n'.repeat(300));
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'a table', attachments: [await uploadToMedia(bridge, 'table.csv', 'text/csv', csv)] } });
    const update = await s.nextUpdate((u) => newMessagesOf(u).some((m) => m['message'] === 'a table'));
    const media = field(newMessagesOf(update).find((m) => m['message'] === 'a table')!, 'media');
    assert.equal(media._, 'messageMediaDocument');
    const doc = field(media, 'document');
    assert.equal(Number(doc['size']), csv.length);
    const file = await s.call('upload.getFile', {
      location: { _: 'inputDocumentFileLocation', id: doc['id'], access_hash: doc['access_hash'], file_reference: doc['file_reference'], thumb_size: '' },
      offset: 0, limit: 1024 * 1024,
    });
    assert.equal(file._, 'upload.file');
    assert.deepEqual(Buffer.from(file['bytes'] as Uint8Array), csv);
  });
});

test('@mtproto/core: a bot\'s own things in its shapes (commands, a draft, a pin, a location as text, the arrangements)', { timeout: 60_000 }, async () => {
  await withCoreClient(async (s, ws) => {
    assert.equal(await s.call('bots.setBotCommands', { scope: { _: 'botCommandScopeDefault' }, lang_code: '', commands: [{ _: 'botCommand', command: 'start', description: 'Start' }] }), true);
    const commands = list(await s.call('bots.getBotCommands', { scope: { _: 'botCommandScopeDefault' }, lang_code: '' }));
    assert.deepEqual(commands.map((c) => c['command']), ['start']);
    assert.equal(await s.call('bots.setBotInfo', { lang_code: '', about: 'core bot', description: 'from @mtproto/core' }), true);
    const info = await s.call('bots.getBotInfo', { lang_code: '' });
    assert.deepEqual([info._, info['about'], info['description']], ['bots.botInfo', 'core bot', 'from @mtproto/core']);

    assert.equal(await s.call('messages.saveDraft', { peer: PEER, message: 'half written' }), true);
    const drafts = await s.call('messages.getAllDrafts');
    assert.deepEqual(list(drafts['updates']).map((u) => (u['draft'] as Record<string, unknown>)['message']), ['half written']);

    await s.call('messages.sendMedia', { peer: PEER, media: { _: 'inputMediaGeoPoint', geo_point: { _: 'inputGeoPoint', lat: 48.8584, long: 2.2945 } }, message: '', random_id: '77' });
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📍')))['text'], '📍 Location: 48.85840, 2.29450');

    const sent = await s.call('messages.sendMessage', { peer: PEER, message: 'pin me', random_id: '78' });
    await s.call('messages.updatePinnedMessage', { peer: PEER, id: sent['id'] });
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📌')))['text'], '📌 Pinned: «pin me»');

    assert.equal(await s.call('messages.toggleDialogPin', { pinned: true, peer: { _: 'inputDialogPeer', peer: PEER } }), true);
    const pinned = await s.call('messages.getPinnedDialogs', { folder_id: 0 });
    assert.equal(list(pinned['dialogs']).length, 1);

    // What clients ask beyond the minimum, in layer 158's shapes: no link preview (a bare
    // MessageMedia before 198), no cloud password, privacy as it is, nobody blocked, no group admin.
    assert.equal((await s.call('messages.getWebPagePreview', { message: 'https://example.org' }))['_'], 'messageMediaEmpty');
    assert.equal((await s.call('messages.getWebPage', { url: 'https://example.org', hash: 0 }))['_'], 'webPageEmpty', 'a bare WebPage before layer 165');
    const password = await s.call('account.getPassword');
    assert.deepEqual([password['_'], Boolean(password['has_password']), (password['new_algo'] as Record<string, unknown>)['_']], ['account.password', false, 'passwordKdfAlgoUnknown']);
    const privacy = await s.call('account.getPrivacy', { key: { _: 'inputPrivacyKeyPhoneNumber' } });
    assert.deepEqual(list(privacy['rules']).map((r) => (r as Record<string, unknown>)['_']), ['privacyValueDisallowAll']);
    assert.deepEqual(list((await s.call('contacts.getBlocked', { offset: 0, limit: 10 }))['blocked']), []);
    const admin = rpcErrorOf(await s.call('messages.editChatTitle', { chat_id: String(CHAT_ID), title: 'mine' }).then(() => undefined, (err: unknown) => err));
    assert.deepEqual([admin.error_code, admin.error_message], [400, 'CHAT_ADMIN_REQUIRED']);
  });
});
