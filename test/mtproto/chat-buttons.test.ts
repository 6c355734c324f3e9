// A bot's buttons (reply_markup) reach other networks as lines under its text: a button with a
// web address as a link, any other as its label in brackets. A person's reply_markup is ignored,
// as Telegram does; bad keyboards are refused and nothing is sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buttonLines, MAX_BUTTONS } from '../../src/connectors/mtproto/chat/buttons.ts';
import { mayEndInButtons } from '../../src/connectors/mtproto/chat/keyboards.ts';
import type { TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { Api, BOT_ID, CHAT_ID, CustomFile, PERSON_ID, bigInt, chatClient, loginBot, shutdown, withChatClient, rpcError, serverUserHash, updateRecorder, withPersonAndBot, wsEvent, type GramMessage } from './chat-harness.ts';

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

test('a bot\'s inline keyboard for MTProto clients: the text without the lines and the real buttons; a press reaches the bot and its answer the presser; edits bring a new keyboard or none; bad presses and answers refused', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const M = (Api as unknown as { messages: Record<string, Ctor> }).messages;
    const chat = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    const personRec = updateRecorder(person);
    const botRec = updateRecorder(bot);
    const markup = (...rows: object[]) => new A['ReplyInlineMarkup']!({ rows });
    const sent = await bot.invoke(new Api.messages.SendMessage({ peer: chat, message: 'pick **one**', randomId: bigInt(77), replyMarkup: markup(row(callback('Yes'), url('Docs', 'https://example.org/docs')), row(callback('No'))) })) as { id?: number; updates?: Array<{ id?: number; className: string }> };
    const msgId = sent.id ?? sent.updates!.find((u) => u.className === 'UpdateMessageID')!.id!;
    // WS: the lines under the text, as before.
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('pick')))['text'], 'pick **one**\n\n[Yes] · Docs\n[No]');
    // MTProto: the text alone and the keyboard, pushed and in history alike.
    type Shown = GramMessage & { replyMarkup?: { className: string; rows: Array<{ buttons: Array<{ className: string; text: string; data?: Buffer; url?: string }> }> } };
    const shape = (m: Shown) => [m.message, m.replyMarkup?.rows.map((r) => r.buttons.map((b) => `${b.className}:${b.text}:${b.data?.toString() ?? b.url}`))];
    const pushed = (await personRec.next((u) => u.className === 'UpdateNewMessage' && (u['message'] as GramMessage).id === msgId))['message'] as Shown;
    const want = ['pick **one**', [['KeyboardButtonCallback:Yes:Yes', 'KeyboardButtonUrl:Docs:https://example.org/docs'], ['KeyboardButtonCallback:No:No']]];
    assert.deepEqual(shape(pushed), want);
    assert.deepEqual(shape([...await person.getMessages(-CHAT_ID, { ids: [msgId] } as never)][0] as Shown), want);
    // Search looks at the text as shown: a button's label is no word of the message here.
    assert.deepEqual([...await person.getMessages(-CHAT_ID, { search: 'Docs' })].map((m) => m.id), []);
    assert.deepEqual([...await person.getMessages(-CHAT_ID, { search: 'pick' })].map((m) => m.id), [msgId]);

    // A press: the bot is asked, answers, and the presser gets the answer.
    const press = (data: string, id = msgId) => person.invoke(new M['GetBotCallbackAnswer']!({ peer: chat, msgId: id, data: Buffer.from(data) }));
    const pressed = press('Yes') as Promise<{ message?: string; alert?: boolean }>;
    const query = await botRec.next((u) => u.className === 'UpdateBotCallbackQuery');
    assert.deepEqual([String(query['userId']), query['msgId'], Buffer.from(query['data'] as Buffer).toString()], [String(PERSON_ID), msgId, 'Yes']);
    const answer = (queryId: unknown, fields: Record<string, unknown> = {}, who = bot) => who.invoke(new M['SetBotCallbackAnswer']!({ queryId, cacheTime: 0, ...fields }));
    assert.equal(await answer(query['queryId'], { message: 'thanks', alert: true }), true);
    const got = await pressed;
    assert.deepEqual([got.message, got.alert], ['thanks', true]);
    assert.equal(await rpcError(answer(query['queryId'], { message: 'again' })), 'QUERY_ID_INVALID', 'answered once');
    assert.equal(await rpcError(answer(bigInt(12345))), 'QUERY_ID_INVALID', 'no such query');
    assert.equal(await rpcError(answer(bigInt(1), {}, person)), 'USER_BOT_REQUIRED');

    // Refused presses: no such button, no such message. A press the bot leaves unanswered times out.
    assert.equal(await rpcError(press('Maybe')), 'DATA_INVALID');
    assert.equal(await rpcError(press('Yes', 99_999)), 'MESSAGE_ID_INVALID');
    const unanswered = press('No');
    const second = await botRec.next((u) => u.className === 'UpdateBotCallbackQuery' && Buffer.from(u['data'] as Buffer).toString() === 'No');
    assert.equal(await rpcError(unanswered), 'BOT_RESPONSE_TIMEOUT');
    assert.equal(await rpcError(answer(second['queryId'], { url: 'https://example.org/game' })), 'URL_INVALID');
    assert.equal(await rpcError(answer(second['queryId'], { message: 'x'.repeat(201) })), 'MESSAGE_TOO_LONG');

    // Edits: a new keyboard, then none (as on Telegram, an edit without one takes it away).
    const edit = (message: string, replyMarkup?: object) => bot.invoke(new M['EditMessage']!({ peer: chat, id: msgId, message, ...(replyMarkup !== undefined ? { replyMarkup } : {}) }));
    await edit('pick again', markup(row(callback('Maybe'))));
    const edited = (await personRec.next((u) => u.className === 'UpdateEditMessage' && (u['message'] as GramMessage).message === 'pick again'))['message'] as Shown;
    assert.deepEqual(shape(edited), ['pick again', [['KeyboardButtonCallback:Maybe:Maybe']]]);
    assert.equal(await rpcError(press('Yes')), 'DATA_INVALID', 'the old buttons are gone');
    await edit('no buttons now');
    const plain = (await personRec.next((u) => u.className === 'UpdateEditMessage' && (u['message'] as GramMessage).message === 'no buttons now'))['message'] as Shown;
    assert.equal(plain.replyMarkup ?? undefined, undefined);

    // Keyboards MTProto clients cannot be given as they are keep the lines for them too: a reply
    // keyboard asking for a phone number, and an inline one with a button of another kind.
    // Callback data over 64 bytes is refused.
    for (const [text, kb] of [
      ['reply kb', new A['ReplyKeyboardMarkup']!({ rows: [row(new A['KeyboardButton']!({ text: 'Hi' }), new A['KeyboardButtonRequestPhone']!({ text: 'My number' }))] })],
      ['switch kb', markup(row(callback('Go'), new A['KeyboardButtonSwitchInline']!({ text: 'Share', query: 'x' })))],
    ] as const) {
      await bot.invoke(new Api.messages.SendMessage({ peer: chat, message: text, randomId: bigInt(Math.floor(Math.random() * 1e12)), replyMarkup: kb }));
      const got = (await personRec.next((u) => u.className === 'UpdateNewMessage' && String((u['message'] as GramMessage).message).startsWith(text)))['message'] as Shown;
      assert.deepEqual([got.message.includes('\n\n['), got.replyMarkup ?? undefined], [true, undefined], `${text}: the lines, no keyboard`);
    }
    const bigData = new A['KeyboardButtonCallback']!({ text: 'Big', data: Buffer.alloc(65) });
    assert.equal(await rpcError(bot.invoke(new Api.messages.SendMessage({ peer: chat, message: 'big', randomId: bigInt(78), replyMarkup: markup(row(bigData)) }))), 'BUTTON_DATA_INVALID');

    // What cannot be carried: inline mode, and its results.
    const relay = new Api.InputUser({ userId: bigInt(BOT_ID), accessHash: await serverUserHash(_bridge, BigInt(BOT_ID)) });
    assert.equal(await rpcError(person.invoke(new M['GetInlineBotResults']!({ bot: relay, peer: chat, query: 'cats', offset: '' }))), 'BOT_INLINE_DISABLED');
    // With no chat (inputPeerEmpty, Telethon's inline_query() default) the same answer; a chat he does not see is still refused.
    assert.equal(await rpcError(person.invoke(new M['GetInlineBotResults']!({ bot: relay, peer: new Api.InputPeerEmpty(), query: 'cats', offset: '' }))), 'BOT_INLINE_DISABLED');
    assert.equal(await rpcError(person.invoke(new M['GetInlineBotResults']!({ bot: relay, peer: new Api.InputPeerChat({ chatId: bigInt(4242) }), query: 'cats', offset: '' }))), 'PEER_ID_INVALID');
    assert.equal(await rpcError(person.invoke(new M['GetInlineBotResults']!({ bot: new Api.InputUserSelf(), peer: chat, query: 'cats', offset: '' }))), 'BOT_INVALID', 'a person is no bot');
    assert.equal(await rpcError(bot.invoke(new M['SetInlineBotResults']!({ queryId: bigInt(1), results: [], cacheTime: 0 }))), 'QUERY_ID_INVALID');
    assert.equal(await rpcError(person.invoke(new M['SendInlineBotResult']!({ peer: chat, randomId: bigInt(5), queryId: bigInt(1), id: 'r1' }))), 'QUERY_ID_INVALID');
  }, { mtprotoExtra: '  callbackTimeoutSeconds: 1' });
});

test('a bot edits its buttons alone (no text in the edit): the lines and the keyboard replaced, the text and its formatting kept; none takes them away; what cannot be done is refused', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const M = (Api as unknown as { messages: Record<string, Ctor> }).messages;
    const chat = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    const personRec = updateRecorder(person);
    const markup = (...rows: object[]) => new A['ReplyInlineMarkup']!({ rows });
    const data = (text: string, d: string) => new A['KeyboardButtonCallback']!({ text, data: Buffer.from(d) });
    const idOf = (r: unknown) => { const x = r as { id?: number; updates?: Array<{ id?: number; className: string }> }; return x.id ?? x.updates!.find((u) => u.className === 'UpdateMessageID')!.id!; };
    const sendWith = async (message: string, replyMarkup: object, entities: object[] = []) => idOf(await bot.invoke(new Api.messages.SendMessage({ peer: chat, message, entities, randomId: bigInt(Math.floor(Math.random() * 1e12)), replyMarkup })));
    const buttonsOnly = (id: number, replyMarkup?: object, who = bot) => who.invoke(new M['EditMessage']!({ peer: chat, id, ...(replyMarkup !== undefined ? { replyMarkup } : {}) }));
    type Shown = GramMessage & { entities?: Array<{ className: string; offset: number; length: number }>; replyMarkup?: { rows: Array<{ buttons: Array<{ text: string; data?: Buffer }> }> } };
    const editAt = async (pred: (m: Shown) => boolean) => (await personRec.next((u) => u.className === 'UpdateEditMessage' && pred(u['message'] as Shown)))['message'] as Shown;
    const labels = (m: Shown) => m.replyMarkup?.rows.map((r) => r.buttons.map((b) => `${b.text}:${b.data?.toString()}`));

    const id = await sendWith('choose wisely', markup(row(callback('Yes'), url('Docs', 'https://example.org/docs'))), [new A['MessageEntityBold']!({ offset: 0, length: 6 })]);
    await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('choose wisely'));
    await buttonsOnly(id, markup(row(data('Done', 'd1'))));
    const ws1 = await wsEvent(ws, 'edit', (e) => String(e['text']).startsWith('choose wisely'));
    assert.deepEqual([ws1['text'], ws1['spans']], ['choose wisely\n\n[Done]', [{ type: 'bold', offset: 0, length: 6 }]], 'WS: the text, its bold, the new lines');
    const m1 = await editAt((m) => m.id === id && labels(m)?.[0]?.[0] === 'Done:d1');
    assert.deepEqual([m1.message, m1.entities?.map((e) => [e.className, e.offset, e.length])], ['choose wisely', [['MessageEntityBold', 0, 6]]]);
    assert.equal(await rpcError(person.invoke(new M['GetBotCallbackAnswer']!({ peer: chat, msgId: id, data: Buffer.from('Yes') }))), 'DATA_INVALID', 'the old buttons are gone');

    assert.equal(await rpcError(buttonsOnly(id, markup(row(data('Done', 'd1'))))), 'MESSAGE_NOT_MODIFIED');
    await buttonsOnly(id, markup(row(data('Done', 'd2'))));
    await editAt((m) => m.id === id && labels(m)?.[0]?.[0] === 'Done:d2');
    // None: the buttons go, for WS too.
    await buttonsOnly(id);
    assert.equal((await wsEvent(ws, 'edit', (e) => e['text'] === 'choose wisely'))['text'], 'choose wisely');
    assert.equal((await editAt((m) => m.id === id && m.replyMarkup == null)).message, 'choose wisely');
    assert.equal(await rpcError(buttonsOnly(id)), 'MESSAGE_NOT_MODIFIED');

    // A keyboard MTProto clients get as lines: its lines are replaced too, not kept under the new ones.
    const shared = await sendWith('share it', markup(row(callback('Go'), new A['KeyboardButtonSwitchInline']!({ text: 'Share', query: 'x' }))));
    await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('share it'));
    await buttonsOnly(shared, markup(row(callback('Ok'))));
    assert.equal((await wsEvent(ws, 'edit', (e) => String(e['text']).startsWith('share it')))['text'], 'share it\n\n[Ok]');
    assert.deepEqual(labels(await editAt((m) => m.id === shared && m.replyMarkup != null)), [['Ok:Ok']]);

    // Refused, nothing published: a person's edit without text; an album (its buttons are on no message); a file with no caption left.
    const mine = idOf(await person.invoke(new Api.messages.SendMessage({ peer: chat, message: 'mine', randomId: bigInt(Math.floor(Math.random() * 1e12)) })));
    assert.equal(await rpcError(buttonsOnly(mine, markup(row(callback('x'))), person)), 'MESSAGE_EMPTY');
    const album = await bot.sendFile(-CHAT_ID, { file: ['a.txt', 'b.txt'].map((n) => new CustomFile(n, 2, '', Buffer.from('hi'))), caption: ['two files', ''], forceDocument: true, workers: 1 } as never) as unknown as GramMessage[];
    assert.equal(await rpcError(buttonsOnly(album[0]!.id, markup(row(callback('x'))))), 'REPLY_MARKUP_INVALID');
    const file = await bot.sendFile(-CHAT_ID, { file: new CustomFile('c.txt', 2, '', Buffer.from('hi')), forceDocument: true, workers: 1, buttons: markup(row(callback('Del'))) } as never) as unknown as GramMessage;
    assert.equal(await rpcError(buttonsOnly(file.id)), 'MESSAGE_EMPTY', 'a file whose text would be empty: the canonical edit needs a text');
    await bot.invoke(new Api.messages.SendMessage({ peer: chat, message: 'last', randomId: bigInt(Math.floor(Math.random() * 1e12)) }));
    await wsEvent(ws, 'message', (e) => e['text'] === 'last');
    assert.equal(ws.events.filter((f) => f.event.kind === 'edit').length, 4, 'the refused edits published nothing');
  });
});

test('a bot\'s reply keyboard for MTProto clients: a real keyboard with its flags (a press is a message), kept through the bot\'s edits, taken away by its later message; a selective one only for those mentioned; other networks see lines', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const M = (Api as unknown as { messages: Record<string, Ctor> }).messages;
    const chat = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    const personRec = updateRecorder(person);
    const plain = (text: string) => new A['KeyboardButton']!({ text });
    const send = async (message: string, replyMarkup?: object, entities: object[] = []) => {
      const r = await bot.invoke(new Api.messages.SendMessage({ peer: chat, message, entities, randomId: bigInt(Math.floor(Math.random() * 1e12)), ...(replyMarkup !== undefined ? { replyMarkup } : {}) })) as { id?: number; updates?: Array<{ id?: number; className: string }> };
      return r.id ?? r.updates!.find((u) => u.className === 'UpdateMessageID')!.id!;
    };
    type Markup = { className: string; resize?: boolean; singleUse?: boolean; selective?: boolean; placeholder?: string; rows?: Array<{ buttons: Array<{ className: string; text: string }> }> };
    type Shown = GramMessage & { replyMarkup?: Markup };
    const pushed = async (pred: (m: Shown) => boolean, kind = 'UpdateNewMessage') => (await personRec.next((u) => u.className === kind && pred(u['message'] as Shown)))['message'] as Shown;
    const shape = (m: Markup | undefined) => (m === undefined || m === null ? null : [m.className, m.resize ?? false, m.singleUse ?? false, m.placeholder ?? null, m.rows?.map((r) => r.buttons.map((b) => `${b.className}:${b.text}`)) ?? null]);

    const id = await send('pick a color', new A['ReplyKeyboardMarkup']!({ resize: true, singleUse: true, placeholder: 'Color?', rows: [row(plain('Red'), plain('Blue')), row(plain('Green'))] }));
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('pick a color')))['text'], 'pick a color\n\n[Red] · [Blue]\n[Green]', 'WS: lines');
    const want = ['ReplyKeyboardMarkup', true, true, 'Color?', [['KeyboardButton:Red', 'KeyboardButton:Blue'], ['KeyboardButton:Green']]];
    const first = await pushed((m) => m.id === id);
    assert.deepEqual([first.message, shape(first.replyMarkup)], ['pick a color', want]);
    assert.deepEqual(shape(([...await person.getMessages(-CHAT_ID, { ids: [id] } as never)][0] as Shown).replyMarkup), want, 'in history too');

    // Its next plain message leaves the keyboard alone; the bot's edit keeps it; a later message takes it away.
    const noted = await send('noted');
    assert.equal((await pushed((m) => m.id === noted)).replyMarkup ?? null, null);
    await bot.invoke(new M['EditMessage']!({ peer: chat, id, message: 'pick one color' }));
    const edited = await pushed((m) => m.id === id, 'UpdateEditMessage');
    assert.deepEqual([edited.message, shape(edited.replyMarkup)], ['pick one color', want]);
    assert.equal((await wsEvent(ws, 'edit', (e) => e['text'] === 'pick one color'))['text'], 'pick one color');
    const bye = await send('bye', new A['ReplyKeyboardHide']!({}));
    assert.deepEqual(shape((await pushed((m) => m.id === bye)).replyMarkup), ['ReplyKeyboardHide', false, false, null, null]);
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('bye')))['text'], 'bye', 'WS: nothing added');

    // Only inline keyboards are edited.
    assert.equal(await rpcError(bot.invoke(new M['EditMessage']!({ peer: chat, id, message: 'x', replyMarkup: new A['ReplyKeyboardMarkup']!({ rows: [row(plain('A'))] }) }))), 'REPLY_MARKUP_INVALID');
    assert.equal(await rpcError(bot.invoke(new M['EditMessage']!({ peer: chat, id, replyMarkup: new A['ReplyInlineMarkup']!({ rows: [row(callback('A'))] }) }))), 'REPLY_MARKUP_INVALID');
    assert.equal(await rpcError(bot.invoke(new M['EditMessage']!({ peer: chat, id }))), 'REPLY_MARKUP_INVALID');

    // Selective: bob gets it when the message mentions him, not otherwise.
    const bob = new A['InputMessageEntityMentionName']!({ offset: 0, length: 3, userId: new Api.InputUser({ userId: bigInt(PERSON_ID), accessHash: await serverUserHash(_bridge, BigInt(PERSON_ID)) }) });
    const forBob = await send('Bob, yes or no?', new A['ReplyKeyboardMarkup']!({ selective: true, rows: [row(plain('Yes'), plain('No'))] }), [bob]);
    assert.equal((await pushed((m) => m.id === forBob)).replyMarkup?.className, 'ReplyKeyboardMarkup');
    const forOthers = await send('someone else, yes or no?', new A['ReplyKeyboardMarkup']!({ selective: true, rows: [row(plain('Yes'), plain('No'))] }));
    const others = await pushed((m) => m.id === forOthers);
    assert.deepEqual([others.message, others.replyMarkup ?? null], ['someone else, yes or no?', null], 'the text without the lines, no keyboard');
    // ...and when it answers his message.
    const his = await person.sendMessage(-CHAT_ID, { message: 'ask me' });
    const r = await bot.invoke(new Api.messages.SendMessage({ peer: chat, message: 'sure?', randomId: bigInt(Math.floor(Math.random() * 1e12)), replyTo: new A['InputReplyToMessage']!({ replyToMsgId: his.id }), replyMarkup: new A['ReplyKeyboardMarkup']!({ selective: true, rows: [row(plain('Sure'))] }) })) as { id?: number; updates?: Array<{ id?: number; className: string }> };
    const answered = r.id ?? r.updates!.find((u) => u.className === 'UpdateMessageID')!.id!;
    assert.equal((await pushed((m) => m.id === answered)).replyMarkup?.className, 'ReplyKeyboardMarkup', 'to the sender of the message it answers');

    // A force reply: his client opens a reply to it; nothing added elsewhere.
    const name = await send('What is your name?', new A['ReplyKeyboardForceReply']!({ placeholder: 'Your name' }));
    assert.deepEqual(shape((await pushed((m) => m.id === name)).replyMarkup), ['ReplyKeyboardForceReply', false, false, 'Your name', null]);
    assert.equal((await wsEvent(ws, 'message', (e) => String(e['text']).startsWith('What is your name?')))['text'], 'What is your name?');
  });
});

test('a reply keyboard\'s removal after a restart: the writer still knows the bot shows reply keyboards (replykb, on the embedded defaults: the state file)', { timeout: 120_000 }, async () => {
  await withChatClient(loginBot, async (bridge, bot) => {
    const chat = new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) });
    await bot.getDialogs();
    await bot.invoke(new Api.messages.SendMessage({ peer: chat, message: 'menu', randomId: bigInt(1), replyMarkup: new A['ReplyKeyboardMarkup']!({ rows: [row(new A['KeyboardButton']!({ text: 'Go' }))] }) }));
    await bridge.restart();
    const again = chatClient(bridge.mtprotoPort());
    try {
      await loginBot(bridge, again);
      await again.getDialogs();
      const r = await again.invoke(new Api.messages.SendMessage({ peer: chat, message: 'closed', randomId: bigInt(2), replyMarkup: new A['ReplyKeyboardHide']!({}) })) as { id?: number; updates?: Array<{ id?: number; className: string }> };
      const id = r.id ?? r.updates!.find((u) => u.className === 'UpdateMessageID')!.id!;
      const [shown] = [...await again.getMessages(-CHAT_ID, { ids: [id] } as never)] as Array<GramMessage & { replyMarkup?: { className: string } }>;
      assert.equal(shown?.replyMarkup?.className, 'ReplyKeyboardHide');
    } finally {
      await shutdown(again);
    }
  });
});

test('a text with button lines always passes the writer\'s cheap check (no keyboard is missed); plain texts do not (no state read for them)', () => {
  fc.assert(fc.property(fc.string({ maxLength: 40 }), fc.array(fc.array(fc.record({ label: fc.string({ minLength: 1, maxLength: 12 }).filter((l) => l.trim() !== ''), link: fc.boolean() }), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }), (text, rows) => {
    const markup: TlObject = { _: 'replyInlineMarkup', rows: rows.map((r) => ({ _: 'keyboardButtonRow', buttons: r.map((b) => (b.link ? { _: 'keyboardButtonUrl', text: b.label, url: 'https://example.org/' } : { _: 'keyboardButtonCallback', text: b.label, data: new Uint8Array([1]) })) })) };
    const lines = buttonLines(markup);
    if (lines === undefined || typeof lines === 'string') return;
    const gap = text === '' ? '' : '\n\n';
    const at = text.length + gap.length;
    assert.ok(mayEndInButtons(text + gap + lines.text, lines.spans.map((sp) => ({ ...sp, offset: sp.offset + at }))));
  }), { numRuns: 500 });
  assert.equal(mayEndInButtons('123:456.789', undefined), false, 'a bench stamp');
  assert.equal(mayEndInButtons('see https://example.org', [{ type: 'link', offset: 4, length: 19, url: 'https://example.org' }]), true, 'a false yes: one read, nothing else');
  assert.equal(mayEndInButtons('hello', [{ type: 'bold', offset: 0, length: 5 }]), false);
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
