import type { Element } from '@xmpp/xml';
import { LIMITS } from '../../../core/event.ts';
import { bareJid } from '../address.ts';
import { NS } from '../ns.ts';
import { clip } from '../../../core/text.ts';

/**
 * Inbound <message> -> a structured record: every XEP the bridge understands, parsed once, with
 * no protocol knowledge left for inbound.ts. Pure; never throws on peer input (what does not
 * parse is simply absent, with `problems` saying why, so a caller can log it).
 */

export type MessageType = 'chat' | 'groupchat' | 'normal' | 'headline' | 'error';
export type ChatState = 'active' | 'composing' | 'paused' | 'inactive' | 'gone';
export type MarkerType = 'received' | 'displayed' | 'acknowledged';

export interface InboundMessage {
  from: string;
  to: string;
  type: MessageType;
  /** The sender-chosen stanza id (only meaningful together with `from`; never trusted alone). */
  id?: string;
  /** XEP-0359 origin-id: the sender's own id for this message. */
  originId?: string;
  /** XEP-0359 stanza-id, only when stamped by an entity we trust (the room for groupchat, or our domain). */
  stanzaId?: string;
  /** The body with any reply fallback (XEP-0461/0428) removed; absent when only a fallback was there. */
  body?: string;
  /** XEP-0393 §6: the sender asked that the body not be styled. */
  unstyled: boolean;
  /** XEP-0308: this message replaces the one with this id. */
  replaces?: string;
  /** XEP-0424: retracts the message with this id (`legacy` = the XEP-0422 fasten form). */
  retract?: { id: string; legacy: boolean };
  /**
   * XEP-0425: a room moderator retracted the message with this room stanza-id (`by`: the
   * moderator's occupant JID, when the room says). Only worth anything from the room's own bare
   * JID: an occupant can write the same elements (the caller checks; parsing trusts nobody).
   */
  moderated?: { id: string; by?: string; occupantId?: string; reason?: string };
  /** XEP-0444: the sender's full reaction set on the message with this id. */
  reactions?: { id: string; emojis: string[] };
  /** XEP-0461: a reply to the message with this id (of `to`, when given). */
  reply?: { id: string; to?: string };
  /** XEP-0184. */
  receiptRequest: boolean;
  receiptFor?: string;
  /** XEP-0333. */
  markable: boolean;
  marker?: { type: MarkerType; id: string };
  /** XEP-0085. */
  chatState?: ChatState;
  /** XEP-0066 out-of-band links. */
  oob: { url: string; desc?: string }[];
  /** XEP-0203: when it was originally sent (ms since the epoch). */
  delay?: { stamp: number; from?: string };
  /** XEP-0421: the room's stable id for the occupant (groupchat). */
  occupantId?: string;
  /** XEP-0172 nick the sender announced. */
  nick?: string;
  /**
   * XEP-0045 §8.1: the room's whole new subject ('' = cleared), when this is a subject change: a
   * `<subject>` without `<body>` or `<thread>` (with either it is a normal message, which the XEP
   * says SHALL NOT be taken as one). Said of any message type; only a room's counts (the caller).
   */
  subject?: string;
  /** For type=error: the defined condition. */
  errorCondition?: string;
  /** What was present but not usable (oversized, malformed): for the log. */
  problems: string[];
}

const CHAT_STATES: readonly ChatState[] = ['active', 'composing', 'paused', 'inactive', 'gone'];
const MARKERS: readonly MarkerType[] = ['received', 'displayed', 'acknowledged'];
const MAX_ID = LIMITS.idChars;

function idAttr(el: Element | undefined, problems: string[], what: string): string | undefined {
  const id = el?.attrs['id'];
  if (id === undefined) return undefined;
  if (id.length === 0 || id.length > MAX_ID) { problems.push(`${what}: id missing or over ${MAX_ID} chars`); return undefined; }
  return id;
}

/**
 * Converts XEP-0426 character offsets (Unicode code points) into a UTF-16 index of `s`, or
 * undefined if it lies outside.
 */
function codePointIndex(s: string, cp: number): number | undefined {
  let units = 0;
  let count = 0;
  for (const ch of s) {
    if (count === cp) return units;
    units += ch.length;
    count++;
  }
  return count === cp ? units : undefined;
}

/** Removes the XEP-0428 fallback ranges that are `for` the given namespaces from the body. */
function stripFallback(el: Element, body: string, forNs: readonly string[], noForIsOurs: boolean, problems: string[]): { body: string; whole: boolean } {
  const ranges: [number, number][] = [];
  let whole = false;
  // The old namespace too: replies from slixmpp-based clients (and gateways built on it) use it.
  for (const fb of [...el.getChildren('fallback', NS.fallback), ...el.getChildren('fallback', NS.fallbackLegacy)]) {
    const target = fb.attrs['for'];
    // Early XEP-0461 fallbacks carried no `for`: they belong to the reply element beside them.
    if (target === undefined ? !noForIsOurs : !forNs.includes(target)) continue;
    const parts = fb.getChildren('body');
    if (parts.length === 0) { whole = true; continue; }
    for (const part of parts) {
      const start = Number(part.attrs['start'] ?? 0);
      const end = Number(part.attrs['end'] ?? Number.NaN);
      const a = Number.isInteger(start) ? codePointIndex(body, start) : undefined;
      const b = Number.isInteger(end) ? codePointIndex(body, end) : undefined;
      if (a === undefined || b === undefined || b < a) { problems.push('fallback: range outside the body'); continue; }
      ranges.push([a, b]);
    }
  }
  if (whole) return { body: '', whole: true };
  ranges.sort((x, y) => y[0] - x[0]);
  let out = body;
  let lastStart = Number.POSITIVE_INFINITY;
  for (const [a, b] of ranges) {
    if (b > lastStart) continue; // overlapping ranges: the first one removed already covered it
    out = out.slice(0, a) + out.slice(b);
    lastStart = a;
  }
  return { body: out, whole: false };
}

function parseStamp(stamp: string | undefined): number | undefined {
  if (stamp === undefined || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(stamp)) return undefined;
  const ms = Date.parse(stamp);
  return Number.isFinite(ms) ? ms : undefined;
}

/** XEP-0425's <moderated/>: who (the occupant JID and, 0.3, occupant-id, each when given and sane) and why. */
function moderationOf(id: string, el: Element, reason: string | undefined): NonNullable<InboundMessage['moderated']> {
  const by = el.attrs['by'];
  const occupantId = el.getChild('occupant-id', NS.occupantId)?.attrs['id'];
  const why = reason?.trim();
  return {
    id,
    ...(by !== undefined && by.length > 0 && by.length <= 3_071 ? { by } : {}),
    ...(occupantId !== undefined && occupantId.length > 0 && occupantId.length <= MAX_ID ? { occupantId } : {}),
    ...(why ? { reason: clip(why, LIMITS.statusChars) } : {}),
  };
}

export interface ParseContext {
  /** Our component domain: a stanza-id by it is ours, so trusted. */
  componentDomain: string;
}

export function parseMessage(el: Element, ctx: ParseContext): InboundMessage {
  const problems: string[] = [];
  const rawType = el.attrs['type'];
  const type: MessageType = rawType === 'chat' || rawType === 'groupchat' || rawType === 'headline' || rawType === 'error' ? rawType : 'normal';
  const from = el.attrs['from'] ?? '';
  const msg: InboundMessage = {
    from, to: el.attrs['to'] ?? '', type, unstyled: false, receiptRequest: false, markable: false, oob: [], problems,
  };
  const id = el.attrs['id'];
  if (id !== undefined && id.length > 0 && id.length <= MAX_ID) msg.id = id;

  // XEP-0359: origin-id is the sender's; a stanza-id counts only if stamped by whom we trust.
  const originId = idAttr(el.getChild('origin-id', NS.sid), problems, 'origin-id');
  if (originId !== undefined) msg.originId = originId;
  const room = type === 'groupchat' ? bareJid(from) : undefined;
  for (const sid of el.getChildren('stanza-id', NS.sid)) {
    const by = sid.attrs['by'];
    if (by === undefined || (by !== room && by !== ctx.componentDomain)) continue;
    const value = idAttr(sid, problems, 'stanza-id');
    if (value !== undefined) { msg.stanzaId = value; break; }
  }

  const replace = el.getChild('replace', NS.correction);
  const replaces = idAttr(replace, problems, 'replace');
  if (replaces !== undefined) msg.replaces = replaces;

  const retract = el.getChild('retract', NS.retract);
  const retractId = idAttr(retract, problems, 'retract');
  const applyTo = el.getChild('apply-to', NS.fasten);
  // XEP-0425 0.3: <retract id><moderated by/><reason/></retract>; before 0.3: <apply-to id><moderated by><retract/><reason/></moderated></apply-to>.
  const moderated = retract?.getChild('moderated', NS.moderate);
  const moderatedLegacy = applyTo?.getChild('moderated', NS.moderateLegacy);
  if (retractId !== undefined && moderated) {
    msg.moderated = moderationOf(retractId, moderated, retract?.getChildText('reason') ?? undefined);
  } else if (moderatedLegacy?.getChild('retract', NS.retractLegacy)) {
    const legacyId = idAttr(applyTo, problems, 'apply-to');
    if (legacyId !== undefined) msg.moderated = moderationOf(legacyId, moderatedLegacy, moderatedLegacy.getChildText('reason') ?? undefined);
  } else if (retractId !== undefined) msg.retract = { id: retractId, legacy: false };
  else if (applyTo?.getChild('retract', NS.retractLegacy)) {
    const legacyId = idAttr(applyTo, problems, 'apply-to');
    if (legacyId !== undefined) msg.retract = { id: legacyId, legacy: true };
  }

  const reactions = el.getChild('reactions', NS.reactions);
  const reactionsId = idAttr(reactions, problems, 'reactions');
  if (reactions && reactionsId !== undefined) {
    const emojis: string[] = [];
    for (const r of reactions.getChildren('reaction')) {
      const e = r.getText().trim();
      if (e.length === 0 || e.length > LIMITS.reactionChars) { problems.push('reaction: empty or too long'); continue; }
      if (!emojis.includes(e)) emojis.push(e);
    }
    if (emojis.length > LIMITS.reactions) problems.push(`reactions: more than ${LIMITS.reactions}, the rest ignored`);
    msg.reactions = { id: reactionsId, emojis: emojis.slice(0, LIMITS.reactions) };
  }

  const reply = el.getChild('reply', NS.reply);
  const replyId = idAttr(reply, problems, 'reply');
  if (reply && replyId !== undefined) {
    msg.reply = { id: replyId };
    if (reply.attrs['to']) msg.reply.to = reply.attrs['to'];
  }

  const bodyEl = el.getChild('body');
  if (bodyEl) {
    const raw = bodyEl.getText();
    // Fallback bodies of a retraction/reaction are for clients without support: the record has the real thing.
    const stripped = stripFallback(el, raw, [NS.reply, NS.retract, NS.retractLegacy, NS.reactions], msg.reply !== undefined, problems);
    const body = stripped.whole || msg.retract || msg.moderated ? '' : stripped.body;
    if (body.length > LIMITS.textChars) problems.push(`body over ${LIMITS.textChars} chars`);
    if (body.length > 0) msg.body = body;
  }
  msg.unstyled = el.getChild('unstyled', NS.styling) !== undefined;

  msg.receiptRequest = el.getChild('request', NS.receipts) !== undefined;
  const received = idAttr(el.getChild('received', NS.receipts), problems, 'receipt');
  if (received !== undefined) msg.receiptFor = received;

  msg.markable = el.getChild('markable', NS.markers) !== undefined;
  for (const m of MARKERS) {
    const markerId = idAttr(el.getChild(m, NS.markers), problems, m);
    if (markerId !== undefined) { msg.marker = { type: m, id: markerId }; break; }
  }

  for (const s of CHAT_STATES) if (el.getChild(s, NS.chatStates)) { msg.chatState = s; break; }

  for (const x of el.getChildren('x', NS.oob)) {
    const url = x.getChildText('url')?.trim();
    if (!url || url.length > LIMITS.urlChars || !/^https?:\/\//i.test(url)) { problems.push('oob: missing, oversized or non-http(s) url'); continue; }
    if (msg.oob.length >= LIMITS.attachments) { problems.push('oob: too many links'); break; }
    const desc = x.getChildText('desc')?.trim();
    msg.oob.push(desc ? { url, desc: clip(desc, LIMITS.nameChars) } : { url });
  }

  const delay = el.getChild('delay', NS.delay);
  if (delay) {
    const stamp = parseStamp(delay.attrs['stamp']);
    if (stamp === undefined) problems.push('delay: bad stamp');
    else msg.delay = delay.attrs['from'] ? { stamp, from: delay.attrs['from'] } : { stamp };
  }

  const occupant = el.getChild('occupant-id', NS.occupantId)?.attrs['id'];
  if (occupant && occupant.length <= MAX_ID) msg.occupantId = occupant;
  const nick = el.getChildText('nick', NS.nick)?.trim();
  if (nick) msg.nick = clip(nick, LIMITS.nameChars);

  const subject = el.getChild('subject');
  if (subject && !bodyEl && !el.getChild('thread')) {
    const text = subject.getText();
    if (text.length > LIMITS.topicChars) problems.push(`subject over ${LIMITS.topicChars} chars, clipped`);
    msg.subject = clip(text, LIMITS.topicChars);
  }

  if (type === 'error') {
    const cond = el.getChild('error')?.getChildElements().find((c) => c.attrs['xmlns'] === NS.stanzas);
    msg.errorCondition = cond?.name ?? 'undefined-condition';
  }
  return msg;
}
