// A bot's buttons (reply_markup) reach other networks as lines under its text: a button with a
// web address as a link, any other as its label in brackets. A person's reply_markup is ignored,
// as Telegram does; bad keyboards are refused and nothing is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buttonLines, MAX_BUTTONS } from '../../src/connectors/mtproto/chat/buttons.ts';
import type { TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { Api, BOT_ID, CHAT_ID, bigInt, rpcError, serverUserHash, withPersonAndBot, wsEvent } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const A = Api as unknown as Record<string, Ctor>;
const row = (...buttons: object[]) => new A['KeyboardButtonRow']!({ buttons });
const url = (text: string, u: string) => new A['KeyboardButtonUrl']!({ text, url: u });
const callback = (text: string) => new A['KeyboardButtonCallback']!({ text, data: Buffer.from(text) });

test('a bot\'s inline keyboard reaches WS as lines under its text: links for web addresses, labels for the rest; a person\'s is ignored; bad keyboards are refused', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const send = (client: typeof bot, message: string, replyMarkup: object) => client.invoke(new Api.messages.SendMessage({
      peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), message, randomId: bigInt(Math.floor(Math.random() * 1e12)), replyMarkup,
    }));
    await send(bot, 'pick one', new A['ReplyInlineMarkup']!({ rows: [row(url('Docs', 'https://example.org/docs'), callback('Yes'), callback('No')), row(url('App', 'tg://resolve?domain=x'))] }));
    const got = await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('pick one'));
    assert.equal(got['text'], 'pick one\n\nDocs · [Yes] · [No]\n[App]');
    assert.deepEqual(got['spans'], [{ type: 'link', offset: 10, length: 4, url: 'https://example.org/docs' }]);

    await send(person, 'just me', new A['ReplyInlineMarkup']!({ rows: [row(callback('ignored'))] }));
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('just me')))['text'], 'just me', 'a person\'s markup is not taken');

    const many = Array.from({ length: MAX_BUTTONS + 1 }, (_, i) => callback(`b${i}`));
    assert.equal(await rpcError(send(bot, 'too many', new A['ReplyInlineMarkup']!({ rows: [row(...many)] }))), 'REPLY_MARKUP_TOO_LONG');
    assert.equal(await rpcError(send(bot, 'blank', new A['ReplyInlineMarkup']!({ rows: [row(callback('  '))] }))), 'BUTTON_TEXT_INVALID');
    await send(bot, 'after', new A['ReplyKeyboardHide']!({}));
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('after')))['text'], 'after', 'the refused ones sent nothing; a hide adds nothing');
  });
});

test('what bots do on Telegram that cannot be carried gets Telegram\'s error for the case: inline mode, pressing a callback button, answering a query that never came', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot) => {
    const M = (Api as unknown as { messages: Record<string, Ctor> }).messages;
    const chat = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    const relay = new Api.InputUser({ userId: bigInt(BOT_ID), accessHash: await serverUserHash(bridge, BigInt(BOT_ID)) });
    const sent = await bot.invoke(new Api.messages.SendMessage({ peer: chat, message: 'press', randomId: bigInt(77), replyMarkup: new A['ReplyInlineMarkup']!({ rows: [row(callback('Yes'))] }) })) as { id?: number; updates?: Array<{ id?: number; className: string }> };
    const msgId = sent.id ?? sent.updates!.find((u) => u.className === 'UpdateMessageID')!.id!;
    assert.equal(await rpcError(person.invoke(new M['GetInlineBotResults']!({ bot: relay, peer: chat, query: 'cats', offset: '' }))), 'BOT_INLINE_DISABLED');
    assert.equal(await rpcError(person.invoke(new M['GetInlineBotResults']!({ bot: new Api.InputUserSelf(), peer: chat, query: 'cats', offset: '' }))), 'BOT_INVALID', 'a person is no bot');
    assert.equal(await rpcError(person.invoke(new M['GetBotCallbackAnswer']!({ peer: chat, msgId, data: Buffer.from('Yes') }))), 'DATA_INVALID', 'its buttons are text here');
    assert.equal(await rpcError(person.invoke(new M['GetBotCallbackAnswer']!({ peer: chat, msgId: 99_999, data: Buffer.from('Yes') }))), 'MESSAGE_ID_INVALID');
    assert.equal(await rpcError(bot.invoke(new M['SetBotCallbackAnswer']!({ queryId: bigInt(1), cacheTime: 0, message: 'hi' }))), 'QUERY_ID_INVALID');
    assert.equal(await rpcError(bot.invoke(new M['SetInlineBotResults']!({ queryId: bigInt(1), results: [], cacheTime: 0 }))), 'QUERY_ID_INVALID');
    assert.equal(await rpcError(person.invoke(new M['SetBotCallbackAnswer']!({ queryId: bigInt(1), cacheTime: 0 }))), 'USER_BOT_REQUIRED');
    assert.equal(await rpcError(person.invoke(new M['SendInlineBotResult']!({ peer: chat, randomId: bigInt(5), queryId: bigInt(1), id: 'r1' }))), 'QUERY_ID_INVALID');
  });
});

test('buttonLines: a reply keyboard\'s rows, empty rows skipped, labels squeezed, limits', () => {
  const b = (text: string, u?: string): TlObject => ({ _: u === undefined ? 'keyboardButton' : 'keyboardButtonUrl', text, ...(u !== undefined ? { url: u } : {}) });
  const r = (...buttons: TlObject[]): TlObject => ({ _: 'keyboardButtonRow', buttons });
  assert.equal(buttonLines(undefined), undefined);
  assert.equal(buttonLines({ _: 'replyKeyboardForceReply' }), undefined);
  assert.deepEqual(buttonLines({ _: 'replyKeyboardMarkup', rows: [r(b('One')), r(), r(b(' Two\n lines '), b('Site', 'http://example.org/'))] }), {
    text: '[One]\n[Two lines] · Site', spans: [{ type: 'link', offset: 20, length: 4, url: 'http://example.org/' }],
  });
  assert.equal(buttonLines({ _: 'replyInlineMarkup', rows: [r()] }), undefined);
  assert.equal(buttonLines({ _: 'replyInlineMarkup', rows: [r(b('x'.repeat(65)))] }), 'BUTTON_TEXT_INVALID');
  assert.equal(buttonLines({ _: 'replyInlineMarkup', rows: [r(b('ok', `https://example.org/${'a'.repeat(2048)}`))] }), 'BUTTON_URL_INVALID');
  assert.equal((buttonLines({ _: 'replyInlineMarkup', rows: [r(b('🙂'.repeat(64)))] }) as { text: string }).text, `[${'🙂'.repeat(64)}]`, '64 characters, emoji as one');
});
