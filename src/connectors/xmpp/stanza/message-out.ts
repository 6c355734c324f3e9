import xml, { type Element } from '@xmpp/xml';
import type { Span } from '../../../core/event.ts';
import { NS } from '../ns.ts';
import { renderStyling } from '../styling.ts';
import type { ChatState, MarkerType } from './message-in.ts';

/**
 * Outbound <message> builders. Pure. Every message a puppet sends carries a XEP-0359 origin-id
 * (also used as the stanza id): it is how the room's reflection and the room's archive are
 * matched to what we sent, since servers may rewrite the stanza id.
 */

export interface Envelope {
  from: string;
  to: string;
  type: 'chat' | 'groupchat';
  /** Our id for this stanza: sent as both the id attribute and the origin-id. */
  originId: string;
}

function envelope(e: Envelope, ...children: Array<Element | undefined>): Element {
  return xml('message', { from: e.from, to: e.to, type: e.type, id: e.originId },
    ...children.filter((c): c is Element => c !== undefined),
    xml('origin-id', { xmlns: NS.sid, id: e.originId }));
}

/** XEP-0426: fallback offsets count Unicode code points, not UTF-16 units. */
function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export interface ReplyRef {
  /** The id of the replied-to message as the recipients know it (stanza-id in a room, else its id). */
  id: string;
  /** The replied-to message's author (occupant JID in a room, bare JID in a chat). */
  to?: string;
  /** Name and text for the fallback quote that clients without XEP-0461 show. */
  quotedName?: string;
  quotedText?: string;
}

export interface TextContent {
  text: string;
  spans?: readonly Span[];
}

/** `> name:\n> line\n` quote for XEP-0461 clients that do not know replies; bounded so a reply never balloons. */
export function replyFallback(ref: ReplyRef): string {
  const quoted = (ref.quotedText ?? '').split('\n').slice(0, 3).map((l) => (Array.from(l).length > 200 ? `${Array.from(l).slice(0, 200).join('')}…` : l));
  const lines = [ref.quotedName ? `${ref.quotedName}:` : undefined, ...quoted].filter((l): l is string => l !== undefined && l.length > 0);
  return lines.length === 0 ? '' : `${lines.map((l) => `> ${l}`).join('\n')}\n`;
}

function bodyElements(content: TextContent, reply?: ReplyRef): Element[] {
  const styled = renderStyling(content.text, content.spans ?? []);
  const prefix = reply ? replyFallback(reply) : '';
  const out = [xml('body', {}, prefix + styled.body)];
  if (styled.unstyled) out.push(xml('unstyled', { xmlns: NS.styling }));
  if (reply) {
    out.push(xml('reply', { xmlns: NS.reply, id: reply.id, ...(reply.to ? { to: reply.to } : {}) }));
    if (prefix.length > 0) {
      out.push(xml('fallback', { xmlns: NS.fallback, for: NS.reply }, xml('body', { start: '0', end: String(codePoints(prefix)) })));
    }
  }
  return out;
}

export interface OobLink { url: string; desc?: string }

export interface MessageOptions {
  reply?: ReplyRef;
  oob?: readonly OobLink[];
  /** Ask for XEP-0184 receipts and mark XEP-0333 markable (direct chats). */
  requestReceipt?: boolean;
  markable?: boolean;
  /** XEP-0172, for the first message of a direct chat. */
  nick?: string;
}

/** A message: styled body, reply with its fallback, OOB links (a body carrying the URL, as XEP-0066 clients expect). */
export function buildMessage(e: Envelope, content: TextContent, opts: MessageOptions = {}): Element {
  const children: Element[] = [];
  const oob = opts.oob ?? [];
  if (content.text.length > 0 || oob.length === 0) children.push(...bodyElements(content, opts.reply));
  else {
    // An attachment without text: the body is the URL itself (what OOB-aware clients render inline).
    children.push(xml('body', {}, oob.map((o) => o.url).join('\n')));
    if (opts.reply) children.push(xml('reply', { xmlns: NS.reply, id: opts.reply.id, ...(opts.reply.to ? { to: opts.reply.to } : {}) }));
  }
  for (const o of oob) children.push(xml('x', { xmlns: NS.oob }, xml('url', {}, o.url), o.desc ? xml('desc', {}, o.desc) : undefined));
  if (opts.requestReceipt) children.push(xml('request', { xmlns: NS.receipts }));
  if (opts.markable) children.push(xml('markable', { xmlns: NS.markers }));
  if (opts.nick) children.push(xml('nick', { xmlns: NS.nick }, opts.nick));
  return envelope(e, ...children);
}

/** XEP-0308 correction of the message `replaces` (the id the recipients know it by). */
export function buildCorrection(e: Envelope, replaces: string, content: TextContent): Element {
  return envelope(e, ...bodyElements(content), xml('replace', { xmlns: NS.correction, id: replaces }));
}

const RETRACT_FALLBACK = 'This person attempted to retract a previous message, but it\'s unsupported by your client.';

/**
 * XEP-0424 retraction, with the older XEP-0422 fasten form beside it for clients that only know
 * that (slixmpp 1.8 and its clients). The two name the message differently: XEP-0424 0.4+ by the
 * room's stanza-id in a MUC (`target`), 0.3 and before by the message's origin-id everywhere
 * (`originIdTarget`; the same as `target` where that already is the origin-id, in direct chats).
 */
export function buildRetraction(e: Envelope, target: string, originIdTarget = target): Element {
  return envelope(e,
    xml('retract', { xmlns: NS.retract, id: target }),
    xml('apply-to', { xmlns: NS.fasten, id: originIdTarget }, xml('retract', { xmlns: NS.retractLegacy })),
    xml('fallback', { xmlns: NS.fallback, for: NS.retract }),
    xml('body', {}, RETRACT_FALLBACK),
    xml('store', { xmlns: NS.hints }));
}

/**
 * XEP-0045 §8.1: the room's new subject, set by an occupant (the relay): a groupchat message with
 * a `<subject>` and no body (with one it would be a normal message); an empty element clears it.
 * Its id and origin-id are ours, so the room's error answer finds the change it refuses.
 */
export function buildSubject(e: Envelope, text: string): Element {
  return envelope(e, xml('subject', {}, text)); // '' adds no text: <subject/>
}

/** XEP-0444: the sender's complete reaction set on `target` (empty = all removed). */
export function buildReactions(e: Envelope, target: string, emojis: readonly string[]): Element {
  return envelope(e,
    xml('reactions', { xmlns: NS.reactions, id: target }, ...emojis.map((r) => xml('reaction', {}, r))),
    xml('store', { xmlns: NS.hints }));
}

/** XEP-0184 receipt for `id` (no origin-id: a receipt is not a message of its own). */
export function buildReceipt(from: string, to: string, id: string): Element {
  return xml('message', { from, to, type: 'chat' }, xml('received', { xmlns: NS.receipts, id }), xml('store', { xmlns: NS.hints }));
}

/** XEP-0333 chat marker. */
export function buildMarker(from: string, to: string, type: 'chat' | 'groupchat', marker: MarkerType, id: string): Element {
  return xml('message', { from, to, type }, xml(marker, { xmlns: NS.markers, id }), xml('store', { xmlns: NS.hints }));
}

/** XEP-0085 standalone chat state notification (not stored). */
export function buildChatState(from: string, to: string, type: 'chat' | 'groupchat', state: ChatState): Element {
  return xml('message', { from, to, type }, xml(state, { xmlns: NS.chatStates }), xml('no-store', { xmlns: NS.hints }));
}
