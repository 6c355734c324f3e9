// messages.forwardMessages with a stock gramjs client: a forward is a new message of the account
// with the original's text, formatting and files under a line naming (and mentioning) whose it
// was; an album forwarded together stays one message; `drop_author` leaves the line out; a resend
// answers the same messages; bad forwards publish nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  Api, CHAT_ID, bigInt, rpcError, until, updateRecorder, uploadToMedia, withPersonAndBot, wsEvent,
  type GramMessage, type GramUpdate,
} from './chat-harness.ts';

const require = createRequire(import.meta.url);
const AllApi = (require('telegram/tl') as { Api: Record<string, Record<string, new (a: Record<string, unknown>) => object>> }).Api;
const Forward = AllApi['messages']!['ForwardMessages']!;
const PEER = -CHAT_ID;
const group = () => new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });

type Message = GramMessage & { groupedId?: { toString(): string } | null };
const messageOf = (u: GramUpdate) => u['message'] as Message;

test('forwarding: a message keeps its text and formatting under a line naming its sender, into the group and into a private chat; an album stays an album; a resend answers the same; bad forwards publish nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const rec = updateRecorder(person);
    const botRec = updateRecorder(bot);

    // alice (WS) writes, with formatting; bob forwards it into the group.
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'look here', spans: [{ type: 'bold', offset: 5, length: 4 }] } });
    const original = messageOf(await rec.next((u) => u.className === 'UpdateNewMessage' && messageOf(u).message === 'look here'));
    // gramjs answers a list per source chat, each a list of the new messages.
    const [[copy]] = await person.forwardMessages(PEER, { messages: [original.id], fromPeer: PEER }) as unknown as [Message[]];
    const line = 'Forwarded from Alice (websocket)';
    assert.equal(copy?.message, `${line}\nlook here`);
    assert.ok(copy!.id > original.id);
    const atWs = await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('Forwarded from'));
    assert.equal((atWs.sender as { id: string }).id, '777000123', 'the forward is bob\'s message');
    assert.equal(atWs['text'], `${line}\nlook here`);
    assert.deepEqual(atWs['spans'], [
      { type: 'mention', offset: 15, length: 17, user: 'websocket:alice' },
      { type: 'bold', offset: line.length + 1 + 5, length: 4 },
    ]);

    // Into a private chat with the bot (found by its username).
    const [[toBot]] = await person.forwardMessages('relaybot', { messages: [original.id], fromPeer: PEER }) as unknown as [Message[]];
    await until('the forward in the bot\'s private chat', () => botRec.all.some((u) => u.className === 'UpdateNewMessage' && messageOf(u).id === toBot!.id));
    const atBot = messageOf(botRec.all.find((u) => u.className === 'UpdateNewMessage' && messageOf(u).id === toBot!.id)!);
    assert.equal(atBot.message, `${line}\nlook here`);
    assert.equal((atBot.peerId as { userId?: { toString(): string } } | undefined)?.userId?.toString(), '777000123', 'in the private chat with bob');

    // An album (two stored files from WS), forwarded together without the author line: one WS message with both files, an album for the bot.
    const bodies = [Buffer.from('a,b\n'.repeat(40)), Buffer.from('c,d\n'.repeat(50))];
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'two tables', attachments: [await uploadToMedia(bridge, 'x.csv', 'text/csv', bodies[0]!), await uploadToMedia(bridge, 'y.csv', 'text/csv', bodies[1]!)] } });
    await until('the album', () => rec.all.filter((u) => u.className === 'UpdateNewMessage' && messageOf(u).groupedId != null).length === 2);
    const album = rec.all.filter((u) => u.className === 'UpdateNewMessage' && messageOf(u).groupedId != null).map(messageOf);
    const forwarded = await person.invoke(new Forward({ fromPeer: group(), toPeer: group(), id: album.map((m) => m.id), randomId: [bigInt('5001001'), bigInt('5001002')], dropAuthor: true })) as { updates: Array<{ className: string; id?: number; message?: Message }> };
    const newIds = forwarded.updates.filter((u) => u.className === 'UpdateMessageID').map((u) => u.id);
    assert.equal(newIds.length, 2);
    const copies = forwarded.updates.filter((u) => u.className === 'UpdateNewMessage').map((u) => u.message!);
    assert.deepEqual(copies.map((m) => m.message), ['two tables', '']);
    assert.equal(new Set(copies.map((m) => m.groupedId?.toString())).size, 1);
    assert.notEqual(copies[0]!.groupedId?.toString(), album[0]!.groupedId?.toString(), 'an album of its own');
    const albumAtWs = await wsEvent(ws, 'message', (e) => (e.sender as { id: string }).id === '777000123' && e['text'] === 'two tables');
    assert.deepEqual((albumAtWs['attachments'] as Array<{ name: string }>).map((a) => a.name), ['x.csv', 'y.csv']);
    await until('the forwarded album at the bot', () => newIds.every((id) => botRec.all.some((u) => u.className === 'UpdateNewMessage' && messageOf(u).id === id)));
    assert.deepEqual(Buffer.from(await bot.downloadMedia(messageOf(botRec.all.find((u) => u.className === 'UpdateNewMessage' && messageOf(u).id === newIds[1])!))), bodies[1]);
    // The same call again: the same messages.
    const again = await person.invoke(new Forward({ fromPeer: group(), toPeer: group(), id: album.map((m) => m.id), randomId: [bigInt('5001001'), bigInt('5001002')], dropAuthor: true })) as typeof forwarded;
    assert.deepEqual(again.updates.filter((u) => u.className === 'UpdateMessageID').map((u) => u.id), newIds);

    // Bad forwards: refused at once, nothing published.
    const forward = (fields: Record<string, unknown>) => person.invoke(new Forward({ fromPeer: group(), toPeer: group(), id: [original.id], randomId: [bigInt('6001')], ...fields }));
    assert.equal(await rpcError(forward({ id: [original.id + 100_000] })), 'MESSAGE_ID_INVALID');
    assert.equal(await rpcError(forward({ randomId: [bigInt('6002'), bigInt('6003')] })), 'RANDOM_ID_INVALID');
    assert.equal(await rpcError(forward({ id: [], randomId: [] })), 'MESSAGE_IDS_EMPTY');
    assert.equal(await rpcError(forward({ fromPeer: new Api.InputPeerChat({ chatId: bigInt(4242) }) })), 'PEER_ID_INVALID');
    assert.equal(await rpcError(forward({ toPeer: new Api.InputPeerChat({ chatId: bigInt(4242) }) })), 'PEER_ID_INVALID');
    await bot.sendMessage(PEER, { message: 'marker' });
    const next = await wsEvent(ws, 'message', () => true);
    assert.equal(next['text'], 'marker', 'no bad forward reached WS');
  });
});
