// Albums (core.telegram.org/api/files#albums-grouped-media): one canonical message with several
// files is one MTProto message per file under one grouped_id, its text on the first; a stock
// client's album (messages.sendMultiMedia) is one canonical message with all its files. Deleting
// any message of it deletes all of them, everywhere; so does retracting a long text the mapper
// split into parts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { EventFrame } from '../helpers/ws-client.ts';
import {
  Api, CHAT_ID, CustomFile, bigInt, rpcError, until, updateRecorder, uploadToMedia, withPersonAndBot, wsEvent,
  type GramMessage, type GramUpdate,
} from './chat-harness.ts';

const require = createRequire(import.meta.url);
const AllApi = (require('telegram/tl') as { Api: Record<string, Record<string, new (a: Record<string, unknown>) => object>> & Record<string, new (a: Record<string, unknown>) => object> }).Api;
const PEER = -CHAT_ID;

type Album = GramMessage & { groupedId?: { toString(): string } | null };
interface WsAttachment { name: string; size: number; url: string; mime: string }

const newMessage = (pred: (m: Album) => boolean) => (u: GramUpdate) => u.className === 'UpdateNewMessage' && pred(u['message'] as Album);
const deletedIds = (updates: readonly GramUpdate[]) => updates.filter((u) => u.className === 'UpdateDeleteMessages').flatMap((u) => u['messages'] as number[]);

test('a stock client\'s album is one message with all its files on WS and an album for other accounts; deleting one of its messages deletes it everywhere; bad albums publish nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const botRec = updateRecorder(bot);
    const files = ['a.txt', 'b.txt', 'c.txt'].map((name, i) => ({ name, bytes: Buffer.from(`${name} `.repeat(100 * (i + 1))) }));
    const sent = await person.sendFile(PEER, {
      file: files.map((f) => new CustomFile(f.name, f.bytes.length, '', f.bytes)), caption: ['first caption', '', 'third caption'], forceDocument: true, workers: 1,
    }) as unknown as Album[];
    assert.equal(sent.length, 3, 'one message per file');
    const group = sent[0]!.groupedId?.toString();
    assert.ok(group !== undefined && group !== '0', 'a grouped_id');
    assert.deepEqual(sent.map((m) => [m.groupedId?.toString(), m.message, m.media?.className]), sent.map((_, i) => [group, i === 0 ? 'first caption\nthird caption' : '', 'MessageMediaDocument']));

    // WS: one message, every file, the captions as its text.
    const got = await wsEvent(ws, 'message', (e) => e['text'] === 'first caption\nthird caption');
    const attachments = got['attachments'] as WsAttachment[];
    assert.deepEqual(attachments.map((a) => [a.name, a.size]), files.map((f) => [f.name, f.bytes.length]));
    for (const [i, a] of attachments.entries()) assert.deepEqual(Buffer.from(await (await fetch(a.url)).arrayBuffer()), files[i]!.bytes, `${a.name} downloads`);

    // Another account: the album, each file downloadable.
    await until('the album at the bot', () => botRec.all.filter(newMessage((m) => m.groupedId?.toString() === group)).length === 3);
    const atBot = botRec.all.filter(newMessage((m) => m.groupedId?.toString() === group)).map((u) => u['message'] as Album);
    assert.deepEqual(atBot.map((m) => m.id), sent.map((m) => m.id));
    assert.deepEqual(Buffer.from(await bot.downloadMedia(atBot[1]!)), files[1]!.bytes);

    // The same album sent again (same random_ids): the same messages, nothing published.
    const refs = sent.map((m) => (m.media as unknown as { document: { id: unknown; accessHash: unknown; fileReference: Buffer } }).document);
    const single = (i: number, randomId: string) => new AllApi['InputSingleMedia']!({
      media: new AllApi['InputMediaDocument']!({ id: new AllApi['InputDocument']!({ id: refs[i]!.id, accessHash: refs[i]!.accessHash, fileReference: refs[i]!.fileReference }) }),
      randomId: bigInt(randomId), message: i === 0 ? 'again' : '',
    });
    const again = () => person.invoke(new AllApi['messages']!['SendMultiMedia']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), multiMedia: [single(0, '7001'), single(1, '7002')] }));
    const idsOf = (r: unknown) => (r as { updates: Array<{ className: string; id?: number; randomId?: { toString(): string } }> }).updates.filter((u) => u.className === 'UpdateMessageID').map((u) => [u.randomId?.toString(), u.id]);
    const first = idsOf(await again());
    assert.equal(first.length, 2);
    assert.deepEqual(idsOf(await again()), first, 'a resend answers the same messages');
    await wsEvent(ws, 'message', (e) => e['text'] === 'again');

    // Bad albums: refused at once, nothing published.
    const many = Array.from({ length: 11 }, (_, i) => single(i % 3, String(8000 + i)));
    assert.equal(await rpcError(person.invoke(new AllApi['messages']!['SendMultiMedia']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), multiMedia: many }))), 'MULTI_MEDIA_TOO_LONG');
    assert.equal(await rpcError(person.invoke(new AllApi['messages']!['SendMultiMedia']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), multiMedia: [single(0, '9001'), single(1, '9001')] }))), 'RANDOM_ID_INVALID');
    const forged = new AllApi['InputSingleMedia']!({ media: new AllApi['InputMediaDocument']!({ id: new AllApi['InputDocument']!({ id: refs[0]!.id, accessHash: bigInt(12345), fileReference: Buffer.alloc(0) }) }), randomId: bigInt(9003), message: 'forged' });
    assert.equal(await rpcError(person.invoke(new AllApi['messages']!['SendMultiMedia']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), multiMedia: [single(0, '9002'), forged] }))), 'MEDIA_INVALID');
    assert.equal(await rpcError(person.invoke(new AllApi['messages']!['SendMultiMedia']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), multiMedia: [] }))), 'MEDIA_INVALID');
    await bot.sendMessage(PEER, { message: 'marker' });
    const next = await wsEvent(ws, 'message', () => true);
    assert.equal(next['text'], 'marker', 'no bad album reached WS');

    // Deleting the second message of the album deletes the album: the WS message is retracted,
    // every message of it is gone for the other account, and for the person's own client too:
    // its answer cannot name the other two, so it says where the person was before the three
    // deletions (pts_count 0), which are pushed to it like to anyone else.
    const personRec = updateRecorder(person);
    const before = await person.invoke(new Api.updates.GetState()) as { pts: number };
    const affected = await person.deleteMessages(PEER, [sent[1]!.id], { revoke: true }) as unknown as Array<{ pts: number; ptsCount: number }>;
    assert.deepEqual([affected[0]?.pts, affected[0]?.ptsCount], [before.pts, 0]);
    await until('the album deleted at its sender', () => sent.every((m) => deletedIds(personRec.all).includes(m.id)));
    const pushed = personRec.all.filter((u) => u.className === 'UpdateDeleteMessages').map((u) => [u['pts'], u['ptsCount']]);
    assert.deepEqual(pushed, [[before.pts + 1, 1], [before.pts + 2, 1], [before.pts + 3, 1]], 'in order, from where the answer left it');
    const retract = await ws.next((f) => f.type === 'event' && (f as EventFrame).event.kind === 'retract') as EventFrame;
    assert.equal(retract.event['target'], got.id);
    await until('the album deleted at the bot', () => sent.every((m) => deletedIds(botRec.all).includes(m.id)));
    const history = await bot.getMessages(PEER, { ids: sent.map((m) => m.id) }) as Array<GramMessage | undefined>;
    assert.ok(history.every((m) => m === undefined || m.className === 'MessageEmpty'), 'gone from history');
  });
});

test('a WS message with several stored files is an album on MTProto; retracting it deletes every message of it, and so does retracting a long text sent in parts', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const rec = updateRecorder(person);
    const bodies = [Buffer.from('one,two\n'.repeat(50)), Buffer.from('three,four\n'.repeat(60)), Buffer.from('five\n'.repeat(70))];
    const stored = await Promise.all(bodies.map((b, i) => uploadToMedia(bridge, `t${i}.csv`, 'text/csv', b)));
    // A file whose bytes are elsewhere stays a link in the text.
    const far = { id: 'x1', name: 'far.bin', mime: 'application/octet-stream', size: 3, sha256: 'ab'.repeat(32), url: 'https://files.example.org/far.bin' };
    const ack = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'three tables', attachments: [...stored, far] } });
    await until('the album at the person', () => rec.all.filter(newMessage((m) => m.groupedId != null)).length === 3);
    const album = rec.all.filter(newMessage((m) => m.groupedId != null)).map((u) => u['message'] as Album);
    assert.equal(new Set(album.map((m) => m.groupedId?.toString())).size, 1, 'one grouped_id');
    assert.deepEqual(album.map((m) => m.message), ['three tables\n📎 far.bin', '', '']);
    for (const [i, m] of album.entries()) assert.deepEqual(Buffer.from(await person.downloadMedia(m)), bodies[i], `file ${i} downloads`);
    const history = await person.getMessages(PEER, { limit: 3 }) as Album[];
    assert.deepEqual([...history].map((m) => m.id).sort(), album.map((m) => m.id).sort());
    assert.ok([...history].every((m) => m.groupedId?.toString() === album[0]!.groupedId?.toString()), 'history keeps the grouped_id');
    // A reply to the album from MTProto points at the WS message.
    await person.sendMessage(PEER, { message: 'nice tables', replyTo: album[2]!.id });
    const reply = await wsEvent(ws, 'message', (e) => e['text'] === 'nice tables');
    assert.equal(reply['replyTo'], ack['id']);

    // Where the bot is now: its pts counts the album's three messages and the reply.
    const before = await bot.invoke(new Api.updates.GetState()) as { pts: number; date: number; qts: number };
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: ack['id'] } });
    await until('the album deleted', () => album.every((m) => deletedIds(rec.all).includes(m.id)));

    // A text longer than MTProto's 4096 characters arrives in parts; retracting it deletes them all.
    const long = Array.from({ length: 1_800 }, (_, i) => `w${i}`).join(' ');
    const longAck = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: long } });
    await until('the parts', () => rec.all.filter(newMessage((m) => m.message.startsWith('w') || m.message.includes(' w1799'))).length >= 2);
    const parts = rec.all.filter(newMessage((m) => m.message.includes(' w'))).map((u) => u['message'] as Album);
    assert.ok(parts.length >= 2, `split into ${parts.length} parts`);
    assert.equal(parts.map((m) => m.message).join(' ').replace(/\s+/g, ' '), long);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'retract', target: longAck['id'] } });
    await until('every part deleted', () => parts.every((m) => deletedIds(rec.all).includes(m.id)));

    // The bot, asking what it missed since the album: its three deletions; the parts, new and
    // deleted within the range, not at all.
    const diff = await bot.invoke(new Api.updates.GetDifference({ pts: before.pts, date: before.date, qts: before.qts })) as { newMessages: Album[]; otherUpdates: GramUpdate[]; state: { pts: number } };
    assert.deepEqual(deletedIds(diff.otherUpdates).sort(), album.map((m) => m.id).sort());
    assert.deepEqual(diff.newMessages.map((m) => m.id).filter((id) => parts.some((p) => p.id === id)), []);
    assert.equal(diff.state.pts, before.pts + 3 + 2 * parts.length, 'pts: three deletions, each part and its deletion');

    // An edit of a text sent in parts: the mapper cuts it to one message; the first part takes it,
    // the further parts (stale now) are deleted.
    const again = Array.from({ length: 1_800 }, (_, i) => `v${i}`).join(' ');
    const againAck = await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: again } });
    await until('the new parts', () => rec.all.filter(newMessage((m) => m.message.includes(' v1799'))).length === 1);
    const againParts = rec.all.filter(newMessage((m) => /(^| )v\d+/.test(m.message) && !m.message.includes(' w'))).map((u) => u['message'] as Album);
    assert.ok(againParts.length >= 2, `split into ${againParts.length} parts`);
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'edit', target: againAck['id'], text: 'short now' } });
    await until('the edit and the stale parts deleted', () => rec.all.some((u) => u.className === 'UpdateEditMessage' && (u['message'] as Album).id === againParts[0]!.id)
      && againParts.slice(1).every((m) => deletedIds(rec.all).includes(m.id)));
    assert.equal((rec.all.find((u) => u.className === 'UpdateEditMessage' && (u['message'] as Album).id === againParts[0]!.id)!['message'] as Album).message, 'short now');
    assert.ok(!deletedIds(rec.all).includes(againParts[0]!.id), 'the first part stays, edited');
  });
});

test('audio files from other networks play inline: documentAttributeAudio, Ogg/Opus as a voice message; other files stay files', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, _bot, ws) => {
    const rec = updateRecorder(person);
    const kinds: Array<[string, string]> = [['note.ogg', 'audio/ogg'], ['song.mp3', 'audio/mpeg'], ['paper.pdf', 'application/pdf']];
    for (const [name, mime] of kinds) {
      await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: name, attachments: [await uploadToMedia(bridge, name, mime, Buffer.from(`${name} `.repeat(40)))] } });
    }
    await until('the three files', () => rec.all.filter(newMessage((m) => kinds.some(([n]) => m.message === n))).length === 3);
    const seen = rec.all.filter(newMessage((m) => kinds.some(([n]) => m.message === n))).map((u) => u['message'] as GramMessage & { media: { document: { attributes: Array<{ className: string; voice?: boolean }> } } });
    const shape = (m: (typeof seen)[number]) => m.media.document.attributes.map((a) => (a.className === 'DocumentAttributeAudio' ? `audio${a.voice === true ? ' (voice)' : ''}` : a.className));
    assert.deepEqual(seen.map((m) => [m.message, shape(m)]), [
      ['note.ogg', ['DocumentAttributeFilename', 'audio (voice)']],
      ['song.mp3', ['DocumentAttributeFilename', 'audio']],
      ['paper.pdf', ['DocumentAttributeFilename']],
    ]);
    // Still the same bytes to download; found as clients look for them: voice messages, music.
    assert.deepEqual(Buffer.from(await person.downloadMedia(seen[0]!)), Buffer.from('note.ogg '.repeat(40)));
    const filtered = async (name: string) => [...await person.getMessages(-CHAT_ID, { filter: new (Api as unknown as Record<string, new (a: object) => object>)[name]!({}) } as never)].map((m) => m.message);
    assert.deepEqual(await filtered('InputMessagesFilterVoice'), ['note.ogg']);
    assert.deepEqual(await filtered('InputMessagesFilterMusic'), ['song.mp3']);
  });
});
