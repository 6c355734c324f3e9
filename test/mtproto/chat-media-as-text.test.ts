// What a client sends as media that is no file (a location, a venue, a contact, a dice, a poll)
// reaches other networks as text (a location as a link to the map); the client gets its message
// back as any sendMedia's. Points off the Earth, unknown dice and one-option polls are refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, CHAT_ID, bigInt, rpcError, withPersonAndBot, wsEvent, type ChatClient } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const A = Api as unknown as Record<string, Ctor> & { messages: Record<string, Ctor> };
const geo = (lat: number, long: number) => new A['InputGeoPoint']!({ lat, long });
const twe = (text: string) => new A['TextWithEntities']!({ text, entities: [] });

function sendMedia(client: ChatClient, media: object, message = ''): Promise<unknown> {
  return client.invoke(new A.messages['SendMedia']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), media, message, randomId: bigInt(Math.floor(Math.random() * 1e12)) }));
}

test('a location, a venue, a contact, a dice and a poll reach WS as text; the client gets its message; bad ones are refused', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, _bot, ws) => {
    const answer = await sendMedia(person, new A['InputMediaGeoPoint']!({ geoPoint: geo(52.52, 13.405) }), 'meet here') as { className: string; updates: Array<{ className: string; message?: { message: string } }> };
    assert.equal(answer.className, 'Updates', 'answered as a sendMedia is');
    assert.equal(answer.updates.find((u) => u.className === 'UpdateNewMessage')?.message?.message, '📍 Location: 52.52000, 13.40500\nmeet here');
    const loc = await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📍 Location'));
    assert.equal(loc['text'], '📍 Location: 52.52000, 13.40500\nmeet here');
    assert.deepEqual(loc['spans'], [{ type: 'link', offset: 13, length: 18, url: 'https://www.openstreetmap.org/?mlat=52.52000&mlon=13.40500#map=16/52.52000/13.40500' }]);

    await sendMedia(person, new A['InputMediaVenue']!({ geoPoint: geo(48.8584, 2.2945), title: 'Eiffel Tower', address: 'Champ de Mars, Paris', provider: '', venueId: '', venueType: '' }));
    const venue = await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📍 Eiffel'));
    assert.equal(venue['text'], '📍 Eiffel Tower\nChamp de Mars, Paris');
    assert.equal((venue['spans'] as Array<{ offset: number; length: number }>)[0]?.length, 'Eiffel Tower'.length);

    await sendMedia(person, new A['InputMediaContact']!({ phoneNumber: '+15550123', firstName: 'Carol', lastName: 'Jones', vcard: '' }));
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('👤')))['text'], '👤 Carol Jones: +15550123');

    await sendMedia(person, new A['InputMediaDice']!({ emoticon: '🎲' }));
    assert.match(String((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('🎲')))['text']), /^🎲 [1-6]$/);

    const poll = new A['Poll']!({ id: bigInt(1), question: twe('Lunch?'), answers: [new A['PollAnswer']!({ text: twe('Pizza'), option: Buffer.from('0') }), new A['PollAnswer']!({ text: twe('Soup'), option: Buffer.from('1') })] });
    await sendMedia(person, new A['InputMediaPoll']!({ poll }));
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('📊')))['text'], '📊 Lunch?\n○ Pizza\n○ Soup');

    // Refused, nothing sent.
    assert.equal(await rpcError(sendMedia(person, new A['InputMediaGeoPoint']!({ geoPoint: geo(91, 0) }))), 'GEO_POINT_INVALID');
    assert.equal(await rpcError(sendMedia(person, new A['InputMediaDice']!({ emoticon: '🐱' }))), 'EMOTICON_INVALID');
    // Names of Object.prototype are no dice either (the fuzz found "valueOf" answered 500).
    for (const emoticon of ['valueOf', 'constructor', '__proto__']) assert.equal(await rpcError(sendMedia(person, new A['InputMediaDice']!({ emoticon }))), 'EMOTICON_INVALID', emoticon);
    const lonely = new A['Poll']!({ id: bigInt(2), question: twe('Only?'), answers: [new A['PollAnswer']!({ text: twe('Yes'), option: Buffer.from('0') })] });
    assert.equal(await rpcError(sendMedia(person, new A['InputMediaPoll']!({ poll: lonely }))), 'POLL_OPTION_INVALID');
    await person.sendMessage(-CHAT_ID, { message: 'after the refusals' });
    const next = await ws.next((f) => f.type === 'event') as unknown as { event: { text?: string } };
    assert.equal(next.event.text, 'after the refusals', 'the refused ones sent nothing');
  });
});
