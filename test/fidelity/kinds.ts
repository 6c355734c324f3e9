/**
 * The event kinds of the matrix: for each, how a person sends it natively from each network
 * (WS `send` frames, XMPP stanzas from alice's @xmpp/client, gramjs calls from Bob's
 * TelegramClient) and how each target's client must show it. Every `native`/`degraded` cell below
 * is returned only after asserting the target's native rendering (the element, its ids, its
 * text); `not carried` cells are proven with a fence (a later message of the same sender arrives
 * and nothing of the kind came before it: a room's deliveries keep their order).
 *
 * Id map, every pair: a reply and a receipt of network S point at the plain message of
 * next(S) (WS -> XMPP's, XMPP -> MTProto's, MTProto -> WS's), a reaction at that of prev(S); so
 * every (acting network, original's network) pair is checked on every target, each against the
 * id the target's own client knows the original by. Edits and retractions are of the sender's
 * own message (the only ones a network lets them change).
 */
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import type { Element } from '@xmpp/xml';
import { xml } from '@xmpp/client';
import { Api, CustomFile, bigInt, type GramMessage, type GramUpdate } from '../mtproto/chat-harness.ts';
import { ALICE_NICK, BOT_ID, CHAT_ID, PEER, type Net, type Rig } from './rig.ts';
import {
  NS, aliceReflection, between, fromPuppet, isEditMessage, isNewMessage, marks, messageOf, mtprotoNext, roomStanzaId, wsNext, xmppNext,
  type Marks, type WsEvent,
} from './observe.ts';
import { ROOM_ITSELF, degraded, native, notCarried, row, unsendable, type Cell, type Row } from './cells.ts';

/** A message as each network knows it. */
export interface Ids {
  readonly text: string;
  canonical?: string;
  /** The room's XEP-0359 stanza-id (replies, reactions, retractions, markers point at it in a MUC). */
  xmppStanzaId?: string;
  /** Its id attribute in the MUC (XEP-0308 corrections point at it). */
  xmppId?: string;
  mtproto?: number;
}

export interface Ctx {
  readonly rig: Rig;
  readonly plain: Partial<Record<Net, Ids>>;
  readonly formatted: Partial<Record<Net, Ids>>;
  /** The occupant nick of each source's sender in the MUC (their puppet). */
  readonly puppetNick: Partial<Record<Net, string>>;
  /** The MTProto user id each source's sender has there. */
  readonly mtprotoUser: Partial<Record<Net, string>>;
  /** Every body alice sent (the end-of-run echo check). */
  readonly aliceBodies: string[];
  fences: number;
}

export interface Kind {
  readonly key: string;
  readonly title: string;
  /** The canonical kind it travels as (for the mapper's counters). */
  readonly canonical: string;
  /** What is sent, for the doc. */
  readonly sends: Readonly<Record<Net, string>>;
  run(source: Net, ctx: Ctx): Promise<Row>;
}

const next = (n: Net): Net => (n === 'websocket' ? 'xmpp' : n === 'xmpp' ? 'mtproto' : 'websocket');
const prev = (n: Net): Net => (n === 'websocket' ? 'mtproto' : n === 'xmpp' ? 'websocket' : 'xmpp');

const ApiAny = Api as unknown as Record<string, new (args?: Record<string, unknown>) => unknown> & { messages: Record<string, new (args?: Record<string, unknown>) => unknown>; account: Record<string, new (args?: Record<string, unknown>) => unknown> };
const inputChat = (): unknown => new ApiAny['InputPeerChat']!({ chatId: bigInt(CHAT_ID) });

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not known (an earlier cell failed)`);
  return value;
}

// ---- sending natively ---------------------------------------------------------------------------

async function wsSend(ctx: Ctx, event: Record<string, unknown>): Promise<string> {
  const ack = await ctx.rig.carol.request({ type: 'send', room: 'lobby', event }, 10_000);
  assert.equal(ack.type, 'ack', `the WS send was refused: ${JSON.stringify(ack)}`);
  return String(ack['id']);
}

let stanzaCounter = 0;
/** alice sends a groupchat message (with an origin-id, as modern clients do) and waits for the room's reflection. */
async function xmppSend(ctx: Ctx, children: Element[], body?: string): Promise<{ id: string; reflection: Element }> {
  const { alice, roomJid } = ctx.rig;
  const id = `fid-${++stanzaCounter}`;
  const since = alice.mark();
  if (body !== undefined) ctx.aliceBodies.push(body);
  await alice.send(xml('message', { to: roomJid, type: 'groupchat', id }, ...(body !== undefined ? [xml('body', {}, body)] : []), ...children, xml('origin-id', { xmlns: NS.sid, id })));
  const reflection = await xmppNext(alice, since, (el) => aliceReflection(el, roomJid, id), `the room's reflection of ${id}`);
  return { id, reflection };
}

/** A standalone groupchat stanza (chat state, marker): the room relays it; nothing to wait for. */
async function xmppSendBare(ctx: Ctx, children: Element[]): Promise<void> {
  await ctx.rig.alice.send(xml('message', { to: ctx.rig.roomJid, type: 'groupchat', id: `fid-${++stanzaCounter}` }, ...children));
}

// ---- observing a message on every target -------------------------------------------------------

interface MessageJudges {
  websocket(e: WsEvent): Cell | Promise<Cell>;
  xmpp(el: Element): Cell | Promise<Cell>;
  mtproto(m: GramMessage): Cell | Promise<Cell>;
}

/** Waits for a new message on every target (matched by `match`), records its ids in `ids`, and judges it there. */
async function observeMessage(ctx: Ctx, source: Net, m: Marks, ids: Ids, match: {
  websocket(e: WsEvent): boolean; xmpp(el: Element): boolean; mtproto(msg: GramMessage): boolean;
}, judge: MessageJudges): Promise<Row> {
  const { rig } = ctx;
  return await row({
    websocket: async () => {
      const e = await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'message' && match.websocket(ev), `the message "${ids.text}"`);
      if (ids.canonical !== undefined) assert.equal(e.id, ids.canonical, 'the WS receiver sees the canonical id the sender was acknowledged');
      ids.canonical = e.id;
      return await judge.websocket(e);
    },
    xmpp: async () => {
      if (source === 'xmpp') return ROOM_ITSELF;
      const el = await xmppNext(rig.alice, m.xmpp, (s) => fromPuppet(s, rig.roomJid) && match.xmpp(s), `the puppet's message "${ids.text}"`);
      ids.xmppStanzaId = roomStanzaId(el, rig.roomJid);
      ids.xmppId = el.attrs['id'];
      ctx.puppetNick[source] ??= el.attrs['from']?.slice(rig.roomJid.length + 1);
      return await judge.xmpp(el);
    },
    mtproto: async () => {
      const u = await mtprotoNext(rig.botUpdates, m.mtproto, isNewMessage(match.mtproto), `the message "${ids.text}"`);
      const msg = messageOf(u);
      if (ids.mtproto !== undefined) assert.equal(msg.id, ids.mtproto, 'one message id for every member of the group');
      ids.mtproto = msg.id;
      ctx.mtprotoUser[source] ??= msg.fromId?.userId?.toString();
      return await judge.mtproto(msg);
    },
  });
}

const bodyOf = (el: Element): string | undefined => el.getChildText('body') ?? undefined;

// ---- message (plain) ----------------------------------------------------------------------------

/** The sender's name as their own network gives it. */
const SENDER_NAME: Readonly<Record<Net, string>> = { websocket: 'Carol', xmpp: ALICE_NICK, mtproto: 'Bob Builder' };

const plain: Kind = {
  key: 'plain', title: 'Message (plain text)', canonical: 'message',
  sends: { websocket: '`send` message', xmpp: 'groupchat `<body>`', mtproto: '`messages.sendMessage`' },
  async run(source, ctx) {
    const text = `plain from ${source} 👋`;
    const ids: Ids = { text };
    ctx.plain[source] = ids;
    const m = marks(ctx.rig);
    if (source === 'websocket') ids.canonical = await wsSend(ctx, { kind: 'message', text });
    if (source === 'xmpp') {
      const { id, reflection } = await xmppSend(ctx, [], text);
      ids.xmppId = id;
      ids.xmppStanzaId = roomStanzaId(reflection, ctx.rig.roomJid);
    }
    if (source === 'mtproto') ids.mtproto = (await ctx.rig.bob.sendMessage(PEER, { message: text })).id;
    return await observeMessage(ctx, source, m, ids, {
      websocket: (e) => e['text'] === text, xmpp: (el) => bodyOf(el) === text, mtproto: (msg) => msg.message === text,
    }, {
      websocket: (e) => {
        const sender = e['sender'] as { network: string; name?: string };
        assert.equal(sender.network, source);
        assert.equal(sender.name, SENDER_NAME[source]);
        return native(`\`message\` event, same text, sender "${sender.name ?? ''}"`);
      },
      xmpp: (el) => {
        assert.equal(el.getChild('unstyled', NS.styling), undefined);
        const nick = el.attrs['from']?.slice(ctx.rig.roomJid.length + 1);
        // The connector names puppets itself (their network's name; "(network)" only on a clash), not by the mapper's template.
        assert.equal(nick, SENDER_NAME[source], 'the puppet\'s nick');
        return native(`groupchat \`<body>\` from the puppet occupant "${nick ?? ''}"`);
      },
      mtproto: async (msg) => {
        assert.equal(msg.out, false);
        assert.equal(msg.entities?.length ?? 0, 0);
        const user = await ctx.rig.bot.getEntity(bigInt(need(msg.fromId?.userId?.toString(), 'the sender')));
        const name = [user.firstName, user.lastName].filter((n) => typeof n === 'string' && n !== '').join(' ');
        assert.equal(name, source === 'mtproto' ? SENDER_NAME[source] : `${SENDER_NAME[source]} (${source})`);
        return native(`\`updateNewMessage\` from the user "${name}"${source === 'mtproto' ? ' (the account itself)' : ''}`);
      },
    });
  },
};

// ---- message (formatted) ------------------------------------------------------------------------

type SpanIn = { type: string; url?: string; user?: string; language?: string };
function compose(parts: Array<string | [string, SpanIn]>): { text: string; spans: Array<SpanIn & { offset: number; length: number }> } {
  let text = '';
  const spans: Array<SpanIn & { offset: number; length: number }> = [];
  for (const p of parts) {
    if (typeof p === 'string') { text += p; continue; }
    spans.push({ ...p[1], offset: text.length, length: p[0].length });
    text += p[0];
  }
  return { text, spans };
}

const LINK = 'https://example.org/fidelity';
/** Every span type, with an emoji first (two UTF-16 units: offsets must not shift). */
const FORMATTED = compose([
  '😀 ', ['bold', { type: 'bold' }], ' ', ['italic', { type: 'italic' }], ' ', ['strike', { type: 'strike' }], ' ', ['code', { type: 'code' }], ' ',
  ['link', { type: 'link', url: LINK }], ' ', ['Relay Bot', { type: 'mention', user: `mtproto:${BOT_ID}` }], ' ', ['spoiler', { type: 'spoiler' }], '\n',
  ['quoted line', { type: 'quote' }], '\n', ['let x = 1;', { type: 'pre', language: 'ts' }],
]);
/** What XEP-0393 can say of it: the same text once the directives are parsed out. */
const STYLED_BODY = '😀 *bold* _italic_ ~strike~ `code` link Relay Bot spoiler\n> quoted line\n```ts\nlet x = 1;\n```';
const XMPP_EXPRESSIBLE = new Set(['bold', 'italic', 'strike', 'code', 'quote', 'pre']);
/** How the puppet's body reads when every span type was sent: the link's URL after its text, mention and spoiler plain. */
const STYLED_DEGRADED = `😀 *bold* _italic_ ~strike~ \`code\` link (${LINK}) Relay Bot spoiler\n> quoted line\n\`\`\`ts\nlet x = 1;\n\`\`\``;
const ENTITY_CLASS: Readonly<Record<string, string>> = {
  bold: 'MessageEntityBold', italic: 'MessageEntityItalic', strike: 'MessageEntityStrike', code: 'MessageEntityCode', link: 'MessageEntityTextUrl',
  mention: 'MessageEntityMentionName', spoiler: 'MessageEntitySpoiler', quote: 'MessageEntityBlockquote', pre: 'MessageEntityPre',
};

/** `bot`: the InputUser of the mentioned bot, with the access hash the client was given (as clients send a mention). */
function gramEntities(bot: unknown): unknown[] {
  return FORMATTED.spans.map((s) => {
    const base = { offset: s.offset, length: s.length };
    switch (s.type) {
      case 'link': return new ApiAny['MessageEntityTextUrl']!({ ...base, url: s.url });
      case 'mention': return new ApiAny['InputMessageEntityMentionName']!({ ...base, userId: bot });
      case 'pre': return new ApiAny['MessageEntityPre']!({ ...base, language: s.language });
      default: return new ApiAny[ENTITY_CLASS[s.type] as string]!(base);
    }
  });
}

const formatted: Kind = {
  key: 'formatted', title: 'Message (formatted: bold, italic, strike, code, pre, link, mention, quote, spoiler)', canonical: 'message',
  sends: {
    websocket: 'spans of all nine types',
    xmpp: 'XEP-0393 styling: `*bold*` `_italic_` `~strike~` `` `code` ``, `> quote`, a ```` ```ts ```` block (styling has no link, mention or spoiler)',
    mtproto: 'entities of all nine types (`inputMessageEntityMentionName` with the bot\'s access hash for the mention)',
  },
  async run(source, ctx) {
    const { text } = FORMATTED;
    const ids: Ids = { text };
    ctx.formatted[source] = ids;
    const sent = source === 'xmpp' ? FORMATTED.spans.filter((s) => XMPP_EXPRESSIBLE.has(s.type)) : FORMATTED.spans;
    const m = marks(ctx.rig);
    if (source === 'websocket') ids.canonical = await wsSend(ctx, { kind: 'message', text, spans: FORMATTED.spans });
    if (source === 'xmpp') {
      const { id, reflection } = await xmppSend(ctx, [], STYLED_BODY);
      ids.xmppId = id;
      ids.xmppStanzaId = roomStanzaId(reflection, ctx.rig.roomJid);
    }
    if (source === 'mtproto') {
      // The bot as Bob's client knows it (among the group's participants): its user id and access hash.
      await ctx.rig.bob.invoke(new ApiAny.messages['GetFullChat']!({ chatId: bigInt(CHAT_ID) }));
      const peer = await (ctx.rig.bob as unknown as { getInputEntity(id: unknown): Promise<{ userId: unknown; accessHash: unknown }> }).getInputEntity(bigInt(BOT_ID));
      const bot = new ApiAny['InputUser']!({ userId: peer.userId, accessHash: peer.accessHash });
      ids.mtproto = (await ctx.rig.bob.sendMessage(PEER, { message: text, parseMode: false, formattingEntities: gramEntities(bot) })).id;
    }
    const types = sent.map((s) => s.type).join(', ');
    return await observeMessage(ctx, source, m, ids, {
      websocket: (e) => e['text'] === text, xmpp: (el) => (bodyOf(el) ?? '').includes('quoted line'), mtproto: (msg) => msg.message === text,
    }, {
      websocket: (e) => {
        assert.deepEqual(e['spans'], sent);
        return native(`spans as sent (${types}), same UTF-16 offsets`);
      },
      xmpp: (el) => {
        assert.equal(el.getChild('unstyled', NS.styling), undefined, 'styled, not <unstyled/>');
        if (sent.length === XMPP_EXPRESSIBLE.size) {
          assert.equal(bodyOf(el), STYLED_BODY);
          return native('XEP-0393 body, the same directives');
        }
        assert.equal(bodyOf(el), STYLED_DEGRADED);
        return degraded('XEP-0393 body for bold, italic, strike, code, quote, pre; link → `link (https://…)`; mention and spoiler → plain text');
      },
      mtproto: (msg) => {
        const got = (msg.entities ?? []).map((e) => [e.className, e.offset, e.length]);
        assert.deepEqual(got, sent.map((s) => [ENTITY_CLASS[s.type], s.offset, s.length]));
        const link = msg.entities?.find((e) => e.className === 'MessageEntityTextUrl');
        if (sent.some((s) => s.type === 'link')) assert.equal(link?.url, LINK);
        const mention = msg.entities?.find((e) => e.className === 'MessageEntityMentionName') as { userId?: { toString(): string } } | undefined;
        if (sent.some((s) => s.type === 'mention')) assert.equal(mention?.userId?.toString(), String(BOT_ID), 'the mention names the bot');
        assert.equal(msg.entities?.find((e) => e.className === 'MessageEntityPre')?.language, 'ts');
        return native(`entities at the same UTF-16 offsets (${sent.map((s) => ENTITY_CLASS[s.type]?.replace('MessageEntity', '')).join(', ')})`);
      },
    });
  },
};

// ---- reply --------------------------------------------------------------------------------------

const reply: Kind = {
  key: 'reply', title: 'Reply (to the plain message of next(source): WS → XMPP\'s, XMPP → MTProto\'s, MTProto → WS\'s)', canonical: 'message',
  sends: {
    websocket: '`replyTo` the original\'s canonical id',
    xmpp: 'XEP-0461 `<reply>` to the original\'s room stanza-id, with a XEP-0428 fallback quote',
    mtproto: '`reply_to` the original\'s message id',
  },
  async run(source, ctx) {
    const original = need(ctx.plain[next(source)], `the plain message of ${next(source)}`);
    const text = `reply from ${source}`;
    const ids: Ids = { text };
    const m = marks(ctx.rig);
    if (source === 'websocket') ids.canonical = await wsSend(ctx, { kind: 'message', text, replyTo: need(original.canonical, 'its canonical id') });
    if (source === 'xmpp') {
      // As clients send it: a quote of the original for readers without XEP-0461, marked as its fallback (code points).
      const quote = `> ${ctx.puppetNick[next(source)] ?? 'someone'}: ${original.text}\n`;
      await xmppSend(ctx, [
        xml('reply', { xmlns: NS.reply, id: need(original.xmppStanzaId, 'its stanza-id'), to: `${ctx.rig.roomJid}/${ctx.puppetNick[next(source)] ?? ''}` }),
        xml('fallback', { xmlns: NS.fallback, for: NS.reply }, xml('body', { start: '0', end: String([...quote].length) })),
      ], quote + text);
    }
    if (source === 'mtproto') ids.mtproto = (await ctx.rig.bob.sendMessage(PEER, { message: text, replyTo: need(original.mtproto, 'its message id') })).id;
    return await observeMessage(ctx, source, m, ids, {
      websocket: (e) => e['text'] === text, xmpp: (el) => bodyOf(el) === text, mtproto: (msg) => msg.message === text,
    }, {
      websocket: (e) => {
        assert.equal(e['replyTo'], original.canonical, 'replyTo names the original');
        return native('`replyTo` = the original\'s canonical id (the fallback quote removed)');
      },
      xmpp: (el) => {
        const ref = el.getChild('reply', NS.reply);
        assert.equal(ref?.attrs['id'], original.xmppStanzaId, 'XEP-0461 reply to the stanza-id alice knows the original by');
        const author = next(source) === 'xmpp' ? ALICE_NICK : ctx.puppetNick[next(source)];
        assert.equal(ref?.attrs['to'], `${ctx.rig.roomJid}/${need(author, 'the original\'s author\'s nick')}`, 'XEP-0461 `to`: the original\'s author, as the room shows them');
        const fallback = el.getChild('fallback', NS.fallback) !== undefined;
        return native(`XEP-0461 \`<reply id to>\` = the original's room stanza-id and its author's occupant JID${fallback ? '' : ' (no XEP-0428 fallback quote for clients without replies)'}`);
      },
      mtproto: (msg) => {
        assert.equal(msg.replyTo?.replyToMsgId, original.mtproto, 'reply_to the original\'s message id');
        return native('`reply_to.reply_to_msg_id` = the original\'s message id');
      },
    });
  },
};

// ---- edit ---------------------------------------------------------------------------------------

const edit: Kind = {
  key: 'edit', title: 'Edit (of the sender\'s own plain message)', canonical: 'edit',
  sends: { websocket: '`edit` of its canonical id', xmpp: 'XEP-0308 `<replace id>` = the message\'s id', mtproto: '`messages.editMessage`' },
  async run(source, ctx) {
    const original = need(ctx.plain[source], `the plain message of ${source}`);
    const text = `${original.text} (edited)`;
    const m = marks(ctx.rig);
    if (source === 'websocket') await wsSend(ctx, { kind: 'edit', target: need(original.canonical, 'its id'), text });
    if (source === 'xmpp') await xmppSend(ctx, [xml('replace', { xmlns: NS.correction, id: need(original.xmppId, 'its id') })], text);
    if (source === 'mtproto') await ctx.rig.bob.editMessage(PEER, { message: need(original.mtproto, 'its id'), text });
    const { rig } = ctx;
    return await row({
      websocket: async () => {
        const e = await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'edit' && ev['text'] === text, 'the edit');
        assert.equal(e['target'], original.canonical);
        return native('`edit` event, `target` = the original\'s canonical id');
      },
      xmpp: async () => {
        if (source === 'xmpp') return ROOM_ITSELF;
        const el = await xmppNext(rig.alice, m.xmpp, (s) => fromPuppet(s, rig.roomJid) && s.getChild('replace', NS.correction) !== undefined && bodyOf(s) === text, 'the correction');
        assert.equal(el.getChild('replace', NS.correction)?.attrs['id'], original.xmppId, 'XEP-0308 names the id attribute of the puppet\'s message');
        assert.equal(el.attrs['from'], `${rig.roomJid}/${original.xmppId === undefined ? '' : ctx.puppetNick[source] ?? ''}`, 'from the same occupant (XEP-0308 §5)');
        return native('XEP-0308 correction, `<replace id>` = the id of the puppet\'s original message, same occupant');
      },
      mtproto: async () => {
        const u = await mtprotoNext(rig.botUpdates, m.mtproto, isEditMessage((msg) => msg.message === text), 'the edit');
        const msg = messageOf(u);
        assert.equal(msg.id, original.mtproto);
        assert.ok((msg.editDate ?? 0) > 0, 'edit_date set');
        return native('`updateEditMessage` of the original\'s message id, `edit_date` set');
      },
    });
  },
};

// ---- reaction -----------------------------------------------------------------------------------

const reaction: Kind = {
  key: 'reaction', title: 'Reaction (to the plain message of prev(source): WS → MTProto\'s, XMPP → WS\'s, MTProto → XMPP\'s)', canonical: 'reaction',
  sends: {
    websocket: '`reaction` 👍 and `ack` (a word, not an emoji)',
    xmpp: 'XEP-0444 `<reactions id>` = the original\'s room stanza-id, 👍',
    mtproto: '`messages.sendReaction` 👍',
  },
  async run(source, ctx) {
    const original = need(ctx.plain[prev(source)], `the plain message of ${prev(source)}`);
    const sent = source === 'websocket' ? ['👍', 'ack'] : ['👍'];
    const m = marks(ctx.rig);
    if (source === 'websocket') await wsSend(ctx, { kind: 'reaction', target: need(original.canonical, 'its id'), reactions: sent });
    if (source === 'xmpp') {
      await xmppSend(ctx, [xml('reactions', { xmlns: NS.reactions, id: need(original.xmppStanzaId, 'its stanza-id') }, xml('reaction', {}, '👍')), xml('store', { xmlns: NS.hints })]);
    }
    if (source === 'mtproto') {
      await ctx.rig.bob.invoke(new ApiAny.messages['SendReaction']!({ peer: inputChat(), msgId: need(original.mtproto, 'its id'), reaction: [new ApiAny['ReactionEmoji']!({ emoticon: '👍' })] }));
    }
    const { rig } = ctx;
    const emojiOnly = sent.length > 1 ? ' (`ack` left out: one emoji per reaction here)' : '';
    return await row({
      websocket: async () => {
        const e = await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'reaction' && ev['target'] === original.canonical, 'the reaction');
        assert.deepEqual(e['reactions'], sent);
        return native('`reaction` event with the sender\'s full set, `target` = the original\'s canonical id');
      },
      xmpp: async () => {
        if (source === 'xmpp') return ROOM_ITSELF;
        const el = await xmppNext(rig.alice, m.xmpp, (s) => fromPuppet(s, rig.roomJid) && s.getChild('reactions', NS.reactions) !== undefined, 'the reactions');
        const r = el.getChild('reactions', NS.reactions);
        assert.equal(r?.attrs['id'], original.xmppStanzaId, 'XEP-0444 names the stanza-id alice knows the original by');
        assert.deepEqual(r?.getChildren('reaction').map((c) => c.getText()), ['👍']);
        return sent.length > 1 ? degraded(`XEP-0444 \`<reactions id>\` = the original's room stanza-id, 👍 only${emojiOnly}`)
          : native('XEP-0444 `<reactions id>` = the original\'s room stanza-id');
      },
      mtproto: async () => {
        const u = await mtprotoNext(rig.botUpdates, m.mtproto, isEditMessage((msg) => msg.id === original.mtproto && (msg.reactions?.results.length ?? 0) > 0), 'the reaction');
        assert.deepEqual(messageOf(u).reactions?.results.map((r) => [r.reaction.emoticon, r.count]), [['👍', 1]]);
        return sent.length > 1 ? degraded(`\`updateEditMessage\` of the original with reactions 👍 ×1${emojiOnly}`)
          : native('`updateEditMessage` of the original\'s message id with its reactions (👍 ×1)');
      },
    });
  },
};

// ---- retraction ---------------------------------------------------------------------------------

const RETRACT_FALLBACK = 'This person attempted to retract a previous message, but it\'s unsupported by your client.';

const retraction: Kind = {
  key: 'retraction', title: 'Retraction (of the sender\'s own formatted message)', canonical: 'retract',
  sends: { websocket: '`retract`', xmpp: 'XEP-0424 `<retract id>` = its room stanza-id', mtproto: '`messages.deleteMessages` (revoke)' },
  async run(source, ctx) {
    const original = need(ctx.formatted[source], `the formatted message of ${source}`);
    const m = marks(ctx.rig);
    if (source === 'websocket') await wsSend(ctx, { kind: 'retract', target: need(original.canonical, 'its id') });
    if (source === 'xmpp') {
      await xmppSend(ctx, [xml('retract', { xmlns: NS.retract, id: need(original.xmppStanzaId, 'its stanza-id') }), xml('fallback', { xmlns: NS.fallback, for: NS.retract }), xml('store', { xmlns: NS.hints })], RETRACT_FALLBACK);
    }
    if (source === 'mtproto') await ctx.rig.bob.deleteMessages(PEER, [need(original.mtproto, 'its id')], { revoke: true });
    const { rig } = ctx;
    return await row({
      websocket: async () => {
        await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'retract' && ev['target'] === original.canonical, 'the retraction');
        return native('`retract` event, `target` = the original\'s canonical id');
      },
      xmpp: async () => {
        if (source === 'xmpp') return ROOM_ITSELF;
        const el = await xmppNext(rig.alice, m.xmpp, (s) => fromPuppet(s, rig.roomJid) && s.getChild('retract', NS.retract) !== undefined, 'the retraction');
        assert.equal(el.getChild('retract', NS.retract)?.attrs['id'], original.xmppStanzaId, 'XEP-0424 names the room stanza-id');
        // XEP-0424 0.3 (what slixmpp 1.8 reads) named the message by its origin-id, in rooms too; the puppets' is their id attribute.
        assert.equal(el.getChild('apply-to', NS.fasten)?.attrs['id'], original.xmppId, 'and the older fasten form, by origin-id');
        return native('XEP-0424 `<retract id>` = the original\'s room stanza-id (and the older XEP-0422 form, by its origin-id)');
      },
      mtproto: async () => {
        const u = await mtprotoNext(rig.botUpdates, m.mtproto, (x) => x.className === 'UpdateDeleteMessages', 'the deletion');
        assert.deepEqual(u['messages'], [original.mtproto]);
        return native('`updateDeleteMessages` of the original\'s message id');
      },
    });
  },
};

// ---- attachment ---------------------------------------------------------------------------------

const fileBytes = (source: Net): Buffer => Buffer.from(`a small file sent from ${source}\n${'0123456789abcdef'.repeat(64)}\n`);
const fileName = (source: Net): string => `from-${source}.txt`;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  return Buffer.from(await res.arrayBuffer());
}

function documentName(msg: GramMessage): string | undefined {
  const attrs = (msg.media?.document as { attributes?: Array<{ className: string; fileName?: string }> } | undefined)?.attributes ?? [];
  return attrs.find((a) => a.className === 'DocumentAttributeFilename')?.fileName;
}

const attachment: Kind = {
  key: 'attachment', title: 'Attachment (a small text file)', canonical: 'message',
  sends: {
    websocket: 'uploaded to `POST /media` with the WS token, then a message with its reference',
    xmpp: 'a XEP-0066 OOB link to the user\'s upload host (body = the URL, as clients send it)',
    mtproto: '`sendMedia` of an uploaded document with a caption',
  },
  async run(source, ctx) {
    const { rig } = ctx;
    const bytes = fileBytes(source);
    const name = fileName(source);
    const caption = source === 'xmpp' ? '' : `file from ${source}`;
    const ids: Ids = { text: caption };
    const m = marks(rig);
    if (source === 'websocket') {
      const res = await fetch(`${rig.app.httpUrl}/media?name=${name}`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${rig.carolToken}`, 'content-type': 'text/plain' } });
      assert.equal(res.status, 201, 'upload accepted');
      ids.canonical = await wsSend(ctx, { kind: 'message', text: caption, attachments: [await res.json()] });
    }
    if (source === 'xmpp') {
      rig.files.set(`/${name}`, { body: bytes, type: 'text/plain' });
      const url = `${rig.uploadHost}/${name}`;
      await xmppSend(ctx, [xml('x', { xmlns: NS.oob }, xml('url', {}, url), xml('desc', {}, name))], url);
    }
    if (source === 'mtproto') {
      await rig.bob.sendFile(PEER, { file: new CustomFile(name, bytes.length, '', bytes), caption, forceDocument: true, workers: 1 });
    }
    return await observeMessage(ctx, source, m, ids, {
      websocket: (e) => (e['attachments'] as Array<{ name: string }> | undefined)?.[0]?.name === name,
      xmpp: (el) => el.getChild('x', NS.oob) !== undefined,
      mtproto: (msg) => msg.media !== undefined && documentName(msg) === name,
    }, {
      websocket: async (e) => {
        assert.equal(e['text'], caption);
        const [a] = e['attachments'] as Array<{ name: string; size: number; sha256: string; mime: string; url: string }>;
        assert.ok(a);
        assert.deepEqual([a.size, a.sha256], [bytes.length, sha256(bytes)]);
        assert.deepEqual(await download(a.url), bytes, 'the reference\'s URL serves the same bytes');
        return native(`attachment reference (name, ${a.mime}, size, sha256) with a signed media-store URL serving the same bytes`);
      },
      xmpp: async (el) => {
        const url = el.getChild('x', NS.oob)?.getChildText('url') ?? '';
        assert.equal(el.getChild('x', NS.oob)?.getChildText('desc'), name);
        assert.ok(url.startsWith(`${rig.app.httpUrl}/media/`), `a signed media-store URL: ${url}`);
        assert.deepEqual(await download(url), bytes);
        // What Conversations, Dino and Movim take for a file: the body is the URL alone.
        assert.equal(bodyOf(el), url, 'the body is the URL alone');
        await xmppNext(rig.alice, m.xmpp, (s) => fromPuppet(s, rig.roomJid) && bodyOf(s) === caption && s.getChild('x', NS.oob) === undefined, `the caption "${caption}"`);
        return native('XEP-0066 OOB `<x><url>` = a signed media-store URL (desc = file name), the body that URL alone (what clients take for a file); the caption a message of its own');
      },
      mtproto: async (msg) => {
        assert.equal(msg.media?.className, 'MessageMediaDocument');
        assert.equal(msg.message, caption);
        assert.deepEqual(Buffer.from(await rig.bot.downloadMedia(msg)), bytes, 'the client downloads the same bytes');
        return native(`\`messageMediaDocument\` (${msg.media?.document?.mimeType ?? '?'}, file name kept) the client downloads with \`upload.getFile\``);
      },
    });
  },
};

// ---- typing -------------------------------------------------------------------------------------

const typing: Kind = {
  key: 'typing', title: 'Typing', canonical: 'typing',
  sends: { websocket: '`typing` active', xmpp: 'XEP-0085 `<composing/>` (groupchat)', mtproto: '`messages.setTyping` (typing action)' },
  async run(source, ctx) {
    const { rig } = ctx;
    const m = marks(rig);
    if (source === 'websocket') await wsSend(ctx, { kind: 'typing', state: 'active' });
    if (source === 'xmpp') await xmppSendBare(ctx, [xml('composing', { xmlns: NS.chatStates }), xml('no-store', { xmlns: NS.hints })]);
    if (source === 'mtproto') await rig.bob.invoke(new ApiAny.messages['SetTyping']!({ peer: inputChat(), action: new ApiAny['SendMessageTypingAction']!() }));
    return await row({
      websocket: async () => {
        await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'typing' && ev['state'] === 'active' && (ev['sender'] as { network: string }).network === source, 'typing');
        return native('`typing` event, state active');
      },
      xmpp: async () => {
        if (source === 'xmpp') return ROOM_ITSELF;
        const nick = need(ctx.puppetNick[source], 'the puppet\'s nick');
        await xmppNext(rig.alice, m.xmpp, (s) => fromPuppet(s, rig.roomJid, nick) && s.getChild('composing', NS.chatStates) !== undefined, 'composing');
        return native('XEP-0085 `<composing/>` from the puppet occupant');
      },
      mtproto: async () => {
        const user = need(ctx.mtprotoUser[source], 'the sender\'s MTProto user');
        const u = await mtprotoNext(rig.botUpdates, m.mtproto, (x) => x.className === 'UpdateChatUserTyping' && String((x['fromId'] as { userId?: unknown } | undefined)?.userId) === user, 'typing');
        assert.equal((u['action'] as { className: string }).className, 'SendMessageTypingAction');
        assert.equal(String(u['chatId']), String(CHAT_ID));
        return native('`updateChatUserTyping` (typing action) from the sender\'s user');
      },
    });
  },
};

// ---- presence -----------------------------------------------------------------------------------

const STATUS = 'in a meeting';
const presence: Kind = {
  key: 'presence', title: 'Presence', canonical: 'presence',
  sends: {
    websocket: '`presence` away, status "in a meeting"',
    xmpp: 'MUC presence `<show>away</show>`, status "in a meeting"',
    mtproto: '`account.updateStatus` (online; MTProto has no away or status text)',
  },
  async run(source, ctx) {
    const { rig } = ctx;
    const state = source === 'mtproto' ? 'available' : 'away';
    const m = marks(rig);
    if (source === 'websocket') await wsSend(ctx, { kind: 'presence', state, status: STATUS });
    if (source === 'xmpp') await rig.alice.send(xml('presence', { to: `${rig.roomJid}/${ALICE_NICK}` }, xml('show', {}, 'away'), xml('status', {}, STATUS)));
    if (source === 'mtproto') await rig.bob.invoke(new ApiAny.account['UpdateStatus']!({ offline: false }));
    return await row({
      websocket: async () => {
        const e = await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'presence' && ev['state'] === state && (ev['sender'] as { network: string }).network === source, `presence ${state}`);
        if (source !== 'mtproto') assert.equal(e['status'], STATUS);
        return native(`\`presence\` event, state ${state}${source === 'mtproto' ? '' : ' with the status text'}`);
      },
      xmpp: async () => {
        if (source === 'xmpp') return ROOM_ITSELF;
        const nick = need(ctx.puppetNick[source], 'the puppet\'s nick');
        const el = await xmppNext(rig.alice, m.xmpp, (s) => s.name === 'presence' && s.attrs['from'] === `${rig.roomJid}/${nick}` && s.attrs['type'] === undefined
          && (s.getChildText('show') ?? 'available') === (state === 'away' ? 'away' : 'available'), `the puppet's presence (${state})`);
        if (source !== 'mtproto') assert.equal(el.getChildText('status'), STATUS);
        return native(source === 'mtproto' ? 'the puppet occupant\'s presence, available (no `<show>`)' : 'the puppet occupant\'s presence, `<show>away</show>` with the status');
      },
      mtproto: async () => {
        const user = need(ctx.mtprotoUser[source], 'the sender\'s MTProto user');
        const u = await mtprotoNext(rig.botUpdates, m.mtproto, (x) => x.className === 'UpdateUserStatus' && String(x['userId']) === user, 'the user status');
        assert.equal((u['status'] as { className: string }).className, 'UserStatusOnline');
        return state === 'away'
          ? degraded('`updateUserStatus` online: away has no MTProto status, the nearest shown is online; the status text is not carried')
          : native('`updateUserStatus` online');
      },
    });
  },
};

// ---- receipts -----------------------------------------------------------------------------------

const displayed: Kind = {
  key: 'read', title: 'Read receipt (displayed; of the plain message of next(source))', canonical: 'receipt',
  sends: {
    websocket: '`receipt` displayed',
    xmpp: 'XEP-0333 `<displayed id>` = the original\'s room stanza-id',
    mtproto: '`messages.readHistory` up to the original',
  },
  async run(source, ctx) {
    const { rig } = ctx;
    const original = need(ctx.plain[next(source)], `the plain message of ${next(source)}`);
    const m = marks(rig);
    if (source === 'websocket') await wsSend(ctx, { kind: 'receipt', target: need(original.canonical, 'its id'), receipt: 'displayed' });
    if (source === 'xmpp') await xmppSendBare(ctx, [xml('displayed', { xmlns: NS.markers, id: need(original.xmppStanzaId, 'its stanza-id') }), xml('store', { xmlns: NS.hints })]);
    if (source === 'mtproto') await rig.bob.invoke(new ApiAny.messages['ReadHistory']!({ peer: inputChat(), maxId: need(original.mtproto, 'its id') }));
    return await row({
      websocket: async () => {
        const e = await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'receipt' && (ev['sender'] as { network: string }).network === source, 'the receipt');
        assert.deepEqual([e['receipt'], e['target']], ['displayed', original.canonical]);
        return native('`receipt` displayed, `target` = the original\'s canonical id');
      },
      xmpp: async () => {
        if (source === 'xmpp') return ROOM_ITSELF;
        const nick = need(ctx.puppetNick[source], 'the puppet\'s nick');
        const el = await xmppNext(rig.alice, m.xmpp, (s) => fromPuppet(s, rig.roomJid, nick) && s.getChild('displayed', NS.markers) !== undefined, 'the marker');
        assert.equal(el.getChild('displayed', NS.markers)?.attrs['id'], original.xmppStanzaId);
        return native('XEP-0333 `<displayed id>` = the original\'s room stanza-id, from the puppet occupant');
      },
      mtproto: async () => {
        const u = await mtprotoNext(rig.botUpdates, m.mtproto, (x) => x.className === 'UpdateReadHistoryOutbox' && x['maxId'] === original.mtproto, 'the read mark');
        assert.equal(String((u['peer'] as { chatId?: unknown }).chatId), String(CHAT_ID));
        return native('`updateReadHistoryOutbox`, `max_id` = the original\'s message id');
      },
    });
  },
};

/** Sends a plain message from `source` that every target must get; returns how to recognise it on each. */
async function fence(ctx: Ctx, source: Net): Promise<string> {
  const text = `fence ${++ctx.fences} from ${source}`;
  if (source === 'websocket') await wsSend(ctx, { kind: 'message', text });
  if (source === 'xmpp') await xmppSend(ctx, [], text);
  if (source === 'mtproto') await ctx.rig.bob.sendMessage(PEER, { message: text });
  return text;
}

const delivered: Kind = {
  key: 'delivered', title: 'Delivery receipt (delivered; of the plain message of next(source))', canonical: 'receipt',
  sends: {
    websocket: '`receipt` delivered',
    xmpp: '— (XEP-0184 receipts are not used in groupchat: §5.3)',
    mtproto: '— (the API has no per-message delivery receipts)',
  },
  async run(source, ctx) {
    if (source === 'xmpp') return unsendable('XEP-0184 receipts are not for groupchat (XEP-0184 §5.3); the bridge reads none in rooms');
    if (source === 'mtproto') return unsendable('the MTProto API has no delivery receipt');
    const { rig } = ctx;
    const original = need(ctx.plain[next(source)], `the plain message of ${next(source)}`);
    const m = marks(rig);
    await wsSend(ctx, { kind: 'receipt', target: need(original.canonical, 'its id'), receipt: 'delivered' });
    const got = await row({
      websocket: async () => {
        const e = await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'receipt' && ev['receipt'] === 'delivered', 'the receipt');
        assert.equal(e['target'], original.canonical);
        return native('`receipt` delivered, `target` = the original\'s canonical id');
      },
      xmpp: async () => notCarried('pending'),
      mtproto: async () => notCarried('pending'),
    });
    // Nothing may arrive on XMPP and MTProto: a later message of the same sender arrives, nothing of the receipt before it.
    const text = await fence(ctx, source);
    const proven = await row({
      websocket: async () => got.websocket,
      xmpp: async () => {
        await xmppNext(rig.alice, m.xmpp, (s) => fromPuppet(s, rig.roomJid) && bodyOf(s) === text, 'the fence');
        const before = between(rig.alice.stanzas, m.xmpp, (s) => fromPuppet(s, rig.roomJid) && bodyOf(s) === text);
        assert.deepEqual(before.filter((s) => s.getChild('received', 'urn:xmpp:receipts') !== undefined || s.getChild('received', NS.markers) !== undefined).map(String), []);
        return notCarried('dropped by the connector: a MUC takes no XEP-0184 receipts (direct chats do)');
      },
      mtproto: async () => {
        await mtprotoNext(rig.botUpdates, m.mtproto, isNewMessage((msg) => msg.message === text), 'the fence');
        const before = between(rig.botUpdates.all, m.mtproto, (u: GramUpdate) => u.className === 'UpdateNewMessage' && messageOf(u).message === text);
        assert.deepEqual(before.filter((u) => u.className.startsWith('UpdateReadHistory')).map((u) => u.className), []);
        return notCarried('dropped by the mapper: MTProto declares only displayed receipts');
      },
    });
    await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'message' && ev['text'] === text, 'the fence');
    return proven;
  },
};

// ---- a room's topic -------------------------------------------------------------------------------

/**
 * Each network's moderator sets the room's topic: carol's token (a moderator), alice (the MUC's
 * owner: a subject change), Bob (the group's admin: its description). The relay, the room's
 * admin, may set the MUC's subject.
 */
const topic: Kind = {
  key: 'topic', title: 'Room topic (set by the network\'s moderator)', canonical: 'topic',
  sends: {
    websocket: '`topic` (a moderator token)',
    xmpp: 'groupchat `<subject>` without a body (XEP-0045 §8.1; the room\'s owner)',
    mtproto: '`messages.editChatAbout` (a moderator account: the group\'s admin)',
  },
  async run(source, ctx) {
    const { rig } = ctx;
    const text = `topic from ${source}: release day 🚀`;
    const m = marks(rig);
    if (source === 'websocket') await wsSend(ctx, { kind: 'topic', text });
    if (source === 'xmpp') await xmppSendBare(ctx, [xml('subject', {}, text)]);
    if (source === 'mtproto') assert.equal(await rig.bob.invoke(new ApiAny.messages['EditChatAbout']!({ peer: inputChat(), about: text })), true);
    return await row({
      websocket: async () => {
        const e = await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'topic', 'the topic');
        assert.equal(e['text'], text);
        assert.equal((e.sender as { network: string }).network, source, 'sent by who set it');
        return native('`topic` event, same text, from who set it');
      },
      xmpp: async () => {
        if (source === 'xmpp') return ROOM_ITSELF;
        const el = await xmppNext(rig.alice, m.xmpp, (s) => s.name === 'message' && s.getChild('subject') !== undefined, 'the room\'s subject');
        assert.equal(el.attrs['from'], `${rig.roomJid}/Switchboard`, 'set by the relay');
        assert.equal(el.getChildText('subject'), text);
        assert.equal(el.getChild('body'), undefined);
        return native('the room\'s subject (XEP-0045 §8.1), set by the bridge\'s relay, the room\'s admin');
      },
      mtproto: async () => {
        await mtprotoNext(rig.botUpdates, m.mtproto, (u) => u.className === 'UpdateChat' && String(u['chatId']) === String(CHAT_ID), 'the group\'s change');
        const full = await rig.bot.invoke(new ApiAny.messages['GetFullChat']!({ chatId: bigInt(CHAT_ID) })) as { fullChat: { about: string } };
        assert.equal(full.fullChat.about, text);
        return native('`updateChat`; the group\'s description (`messages.getFullChat` `about`) is the topic');
      },
    });
  },
};

// ---- a moderator's removal -----------------------------------------------------------------------

const MODERATE_LEGACY = 'urn:xmpp:message-moderate:0';

/**
 * Each network's moderator removes someone else's message: carol's token is a moderator, alice
 * owns the MUC (and has made the bridge's address its admin), Bob's account is the group's admin.
 * Last of the kinds: it removes the plain messages the kinds before point at.
 */
const moderation: Kind = {
  key: 'moderation', title: 'Moderator\'s removal (of the plain message of next(source), someone else\'s)', canonical: 'retract',
  sends: {
    websocket: '`retract` with `moderation` (a moderator token)',
    xmpp: 'XEP-0425 request to the room (its owner), which announces the removal',
    mtproto: '`messages.deleteMessages` of another\'s message (a moderator account: the group\'s admin)',
  },
  async run(source, ctx) {
    const { rig } = ctx;
    const original = need(ctx.plain[next(source)], `the plain message of ${next(source)}`);
    const m = marks(rig);
    if (source === 'websocket') await wsSend(ctx, { kind: 'retract', target: need(original.canonical, 'its id'), moderation: { reason: 'spam' } });
    if (source === 'xmpp') {
      await rig.alice.request(xml('iq', { type: 'set', to: rig.roomJid }, xml('apply-to', { xmlns: NS.fasten, id: need(original.xmppStanzaId, 'its stanza-id') },
        xml('moderate', { xmlns: MODERATE_LEGACY }, xml('retract', { xmlns: 'urn:xmpp:message-retract:0' }), xml('reason', {}, 'spam')))));
    }
    if (source === 'mtproto') await rig.bob.deleteMessages(PEER, [need(original.mtproto, 'its id')], { revoke: true });
    return await row({
      websocket: async () => {
        const e = await wsNext(rig.dave, m.ws, (ev) => ev.kind === 'retract' && ev['target'] === original.canonical, 'the removal');
        assert.deepEqual(e['moderation'], source === 'mtproto' ? {} : { reason: 'spam' });
        assert.equal((e.sender as { network: string }).network, source, 'sent by the moderator');
        return native(`\`retract\` with \`moderation\`${source === 'mtproto' ? '' : ' (its reason)'}, \`target\` = the original's canonical id, from the moderator`);
      },
      xmpp: async () => {
        if (source === 'xmpp') return ROOM_ITSELF;
        if (next(source) === 'xmpp') {
          // alice's own message: the relay, the room's admin, asks the room to remove it.
          const el = await xmppNext(rig.alice, m.xmpp, (s) => s.name === 'message' && s.attrs['from'] === rig.roomJid && s.getChild('apply-to', NS.fasten)?.attrs['id'] === original.xmppStanzaId, 'the room\'s moderation');
          assert.equal(el.getChild('apply-to', NS.fasten)?.getChild('moderated', MODERATE_LEGACY)?.attrs['by'], `${rig.roomJid}/Switchboard`);
          return native('XEP-0425: the bridge\'s relay, the room\'s admin, asks the room to remove the XMPP user\'s message; the room announces it');
        }
        // A puppet's message: that puppet retracts it, and the relay removes it as the room's moderator.
        await xmppNext(rig.alice, m.xmpp, (s) => fromPuppet(s, rig.roomJid, ctx.puppetNick[next(source)]) && s.getChild('retract', NS.retract)?.attrs['id'] === original.xmppStanzaId, 'the puppet\'s retraction');
        await xmppNext(rig.alice, m.xmpp, (s) => s.name === 'message' && s.attrs['from'] === rig.roomJid && s.getChild('apply-to', NS.fasten)?.attrs['id'] === original.xmppStanzaId, 'the room\'s moderation');
        return native('XEP-0424 `<retract id>` from the puppet that said it, then XEP-0425: the relay, the room\'s admin, has the room remove it (clients show one or the other)');
      },
      mtproto: async () => {
        const u = await mtprotoNext(rig.botUpdates, m.mtproto, (x) => x.className === 'UpdateDeleteMessages' && (x['messages'] as number[]).includes(need(original.mtproto, 'its id')), 'the deletion');
        assert.deepEqual(u['messages'], [original.mtproto]);
        return native('`updateDeleteMessages` for every member, whoever sent it (as a group admin\'s deletion)');
      },
    });
  },
};

export const KINDS: readonly Kind[] = [plain, formatted, reply, edit, reaction, retraction, attachment, typing, displayed, delivered, presence, topic, moderation];
