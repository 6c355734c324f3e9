import type { Bus } from '../../bus/types.ts';
import type { Endpoint } from '../../core/endpoint.ts';
import { LIMITS, validateEvent, type Actor, type Attachment, type CanonicalEvent, type Span } from '../../core/event.ts';
import { isEventId, newEventId, type EventId } from '../../core/ids.ts';
import type { Logger } from '../../core/logger.ts';
import type { MediaService } from '../../media/index.ts';
import { parseStyling } from './styling.ts';
import { parseJid } from './address.ts';
import type { InboundMessage } from './stanza/message-in.ts';
import { pieceOwner } from './message-pieces.ts';
import { clip } from '../../core/text.ts';

/**
 * XMPP -> canonical: one room message (already parsed, already known to be news: not ours, not a
 * copy) becomes one canonical event, published once per room stanza-id (Bus.publishOnce with the
 * room as the scope, so a copy or a replay of the same archived message is recognised on any
 * instance), and its ids are linked in the id map so later corrections, replies, reactions and
 * retractions from any network find it.
 */

export const CONNECTOR = 'xmpp';

export interface InboundDeps {
  bus: Bus;
  logger: Logger;
  /** The media store: OOB links are fetched into it and become attachments (else they stay links). */
  media?: MediaService | undefined;
}

/**
 * XEP-0066 OOB links of a message, fetched into the media store (SSRF-safe, size and type limits
 * of the store) as canonical attachments. A link that cannot be fetched stays a link in the text.
 */
export async function fetchAttachments(msg: InboundMessage, media: MediaService | undefined, logger: Logger): Promise<{ attachments: Attachment[]; fetched: Set<string> }> {
  const attachments: Attachment[] = [];
  const fetched = new Set<string>();
  if (!media) return { attachments, fetched };
  for (const link of msg.oob) {
    try {
      const got = await media.fetcher.fetch(link.url, link.desc !== undefined ? { name: link.desc } : {});
      attachments.push(media.attachmentFor(got, got.name));
      fetched.add(link.url);
    } catch (err) {
      logger.info({ url: link.url.slice(0, 200), err: (err as Error).message }, 'OOB link not fetched; bridged as a link');
    }
  }
  return { attachments, fetched };
}

/** What the published event was, for the caller's counters (undefined: nothing to publish). */
export type InboundOutcome = { kind: CanonicalEvent['kind']; id: EventId; duplicate: boolean } | { skipped: string };

/** Canonical text, spans and links of a body: styling parsed (unless <unstyled/>), OOB URLs as link spans. */
export function bodyToText(msg: InboundMessage, fetched: ReadonlySet<string> = new Set()): { text: string; spans: Span[] } {
  const parsed = msg.body === undefined ? { text: '', spans: [] as Span[] } : msg.unstyled ? { text: msg.body, spans: [] as Span[] } : parseStyling(msg.body);
  let { text } = parsed;
  const spans = [...parsed.spans];
  for (const link of msg.oob) {
    if (fetched.has(link.url)) {
      // Now an attachment: a body that was only its URL (what XEP-0066 clients send) says nothing more.
      if (text.trim() === link.url) { text = ''; spans.length = 0; }
      continue;
    }
    // XEP-0066 clients put the URL in the body too; mark it there, or add it on a line of its own.
    let at = text.indexOf(link.url);
    if (at === -1) {
      text = text.length > 0 ? `${text}\n${link.url}` : link.url;
      at = text.length - link.url.length;
    }
    spans.push({ type: 'link', offset: at, length: link.url.length, url: link.url });
  }
  if (text.length > LIMITS.textChars) {
    text = clip(text, LIMITS.textChars);
    return { text, spans: spans.filter((s) => s.offset + s.length <= text.length).slice(0, LIMITS.spans) };
  }
  return { text, spans: spans.slice(0, LIMITS.spans) };
}

/**
 * The id map holds one native id per event and endpoint. A room message has two that others
 * point at: its room stanza-id (replies, reactions, retractions: XEP-0461, 0444, 0424 in a MUC)
 * and its id attribute (corrections: XEP-0308 §4). The stanza-id is kept at the room's endpoint;
 * the id attribute at this alias of it.
 */
export function messageIdEndpoint(endpoint: Endpoint): Endpoint {
  return { connector: endpoint.connector, address: `${endpoint.address}#id` };
}

/**
 * Where the id map keeps who said each message in a room: a puppet's bare JID (only that puppet
 * may correct or retract it), or an XMPP user's occupant JID (`room/nick`, as the room showed it).
 * Replies name that author (XEP-0461 `to`).
 */
export function authorEndpoint(endpoint: Endpoint): Endpoint {
  return { connector: endpoint.connector, address: `${endpoint.address}#by` };
}

async function canonicalOf(bus: Bus, endpoint: Endpoint, nativeId: string | undefined): Promise<EventId | undefined> {
  if (nativeId === undefined) return undefined;
  const id = await bus.idMap.canonicalOf(endpoint, nativeId);
  return id !== undefined && isEventId(id) ? id : undefined;
}

/**
 * What a native id in a message points at: `correction` (XEP-0308: the id attribute), `origin`
 * (a retraction in the XEP-0422 fasten form of XEP-0424 before 0.4, as slixmpp 1.8 sends it: the
 * origin-id, which clients set as the id attribute too) or any other reference (reply, reaction,
 * retraction, marker, receipt).
 */
export type ReferenceKind = 'correction' | 'origin' | 'other';

/** Resolves the native ids a message refers to into canonical event ids (through the id map). */
export type ResolveReference = (kind: ReferenceKind, nativeId: string) => Promise<EventId | undefined>;

/**
 * Reference resolution at an endpoint whose messages are linked under two native ids (see
 * messageIdEndpoint): a correction names the id attribute (XEP-0308 §4), an old-style retraction
 * the origin-id (alike), each falling back to the primary id; everything else names the primary
 * id (room: the room's stanza-id). In a direct chat
 * (`aliasFallback`) those fall back to the id attribute too: the id attributes there are all of
 * one conversation, and clients name a 1:1 message by its origin-id or, without one, its id.
 * Last, a piece of a message sent as several (message-pieces.ts) names that message.
 */
export function referencesAt(bus: Bus, endpoint: Endpoint, aliasFallback = false): ResolveReference {
  const alias = messageIdEndpoint(endpoint);
  const ofPiece = async (nativeId: string): Promise<EventId | undefined> => {
    const id = await pieceOwner(bus.idMap, endpoint, nativeId);
    return id !== undefined && isEventId(id) ? id : undefined;
  };
  return async (kind, nativeId) => kind !== 'other'
    ? await canonicalOf(bus, alias, nativeId) ?? await canonicalOf(bus, endpoint, nativeId)
    : await canonicalOf(bus, endpoint, nativeId) ?? (aliasFallback ? await canonicalOf(bus, alias, nativeId) : undefined) ?? await ofPiece(nativeId);
}

/** The fields every event of a message gets from where it came from. */
export interface EventBase {
  room: string;
  sender: Actor;
  origin: CanonicalEvent['origin'];
}

/**
 * Builds the canonical event for a message (room or direct chat), or says why there is none.
 * `receipts`: XEP-0184 receipts become `receipt` events (direct chats; rooms do not use them).
 * `fromRoom`: the message comes from the room's own bare JID, so a XEP-0425 moderation in it is
 * the room's word (it checked the moderator's role); from anyone else one is a forgery, dropped.
 */
export async function messageToEvent(msg: InboundMessage, from: EventBase, resolve: ResolveReference,
  media: { attachments: Attachment[]; fetched: ReadonlySet<string> } = { attachments: [], fetched: new Set() },
  options: { receipts?: boolean; fromRoom?: boolean } = {}, now = Date.now()): Promise<CanonicalEvent | string> {
  const base = { v: 1 as const, id: newEventId(now), ts: now, ...from };
  // A subject change is a room's topic (topics.ts) or nothing: never a message, a typing or the
  // like of whatever else it carries (a direct chat's, one from a room's archive).
  if (msg.subject !== undefined) return 'a subject change';
  if (msg.moderated) {
    if (!options.fromRoom) return 'a moderation not announced by the room';
    // XEP-0425 names the message by the room's stanza-id.
    const target = await resolve('other', msg.moderated.id);
    const moderation = msg.moderated.reason !== undefined ? { reason: msg.moderated.reason } : {};
    return target ? { ...base, kind: 'retract', target, moderation } : `moderation of an unknown message ${msg.moderated.id}`;
  }
  if (msg.retract) {
    // XEP-0424 0.4 names a room message by the room's stanza-id; Converse.js (14) names it by its
    // origin-id, as the older fasten form did: looked for there when no stanza-id matches.
    const target = msg.retract.legacy
      ? await resolve('origin', msg.retract.id)
      : await resolve('other', msg.retract.id) ?? await resolve('origin', msg.retract.id);
    return target ? { ...base, kind: 'retract', target } : `retraction of an unknown message ${msg.retract.id}`;
  }
  if (msg.reactions) {
    const target = await resolve('other', msg.reactions.id);
    return target ? { ...base, kind: 'reaction', target, reactions: msg.reactions.emojis } : `reaction to an unknown message ${msg.reactions.id}`;
  }
  if (msg.replaces) {
    const target = await resolve('correction', msg.replaces);
    const { text, spans } = bodyToText(msg);
    if (!target) return `correction of an unknown message ${msg.replaces}`;
    if (text.length === 0) return 'correction without text';
    return { ...base, kind: 'edit', target, text, ...(spans.length > 0 ? { spans } : {}) };
  }
  if (msg.body !== undefined || msg.oob.length > 0) {
    const { text, spans } = bodyToText(msg, media.fetched);
    const attachments = media.attachments.slice(0, LIMITS.attachments);
    if (text.length === 0 && attachments.length === 0) return 'empty message';
    const replyTo = msg.reply ? await resolve('other', msg.reply.id) : undefined;
    return {
      ...base, kind: 'message', text, ...(spans.length > 0 ? { spans } : {}), ...(attachments.length > 0 ? { attachments } : {}), ...(replyTo ? { replyTo } : {}),
    };
  }
  if (msg.marker?.type === 'displayed') {
    const target = await resolve('other', msg.marker.id);
    return target ? { ...base, kind: 'receipt', target, receipt: 'displayed' } : 'marker for an unknown message';
  }
  if (options.receipts && msg.receiptFor !== undefined) {
    const target = await resolve('other', msg.receiptFor);
    return target ? { ...base, kind: 'receipt', target, receipt: 'delivered' } : 'receipt for an unknown message';
  }
  if (msg.chatState) {
    const state = msg.chatState === 'composing' ? 'active' : msg.chatState === 'paused' ? 'paused' : 'stopped';
    return { ...base, kind: 'typing', state };
  }
  return 'nothing to bridge';
}

/** Builds the canonical event for a room message, or says why there is none. */
export async function roomMessageToEvent(msg: InboundMessage, endpoint: Endpoint, room: string, sender: Actor, bus: Bus,
  media: { attachments: Attachment[]; fetched: ReadonlySet<string> } = { attachments: [], fetched: new Set() }, now = Date.now()): Promise<CanonicalEvent | string> {
  const origin = { connector: CONNECTOR, endpoint: endpoint.address, ...(msg.stanzaId ?? msg.id ? { nativeId: (msg.stanzaId ?? msg.id) as string } : {}) };
  const from = parseJid(msg.from);
  const fromRoom = from !== undefined && !from.resource;
  return await messageToEvent(msg, { room, sender, origin }, referencesAt(bus, endpoint), media, { fromRoom }, now);
}

/**
 * Publishes a room message's event. With a stanza-id by the room it is a transaction of that room
 * (a second copy, a catch-up from the archive, another instance: published once). The id map gets
 * its stanza-id and its id attribute (see messageIdEndpoint).
 */
export async function publishRoomMessage(msg: InboundMessage, endpoint: Endpoint, room: string, sender: Actor, deps: InboundDeps): Promise<InboundOutcome> {
  const isNewMessage = msg.oob.length > 0 && !msg.retract && !msg.reactions && !msg.replaces;
  const media = isNewMessage ? await fetchAttachments(msg, deps.media, deps.logger) : undefined;
  const built = await roomMessageToEvent(msg, endpoint, room, sender, deps.bus, media);
  if (typeof built === 'string') return { skipped: built };
  const checked = validateEvent(built);
  if (!checked.ok) {
    deps.logger.warn({ room, from: msg.from, error: checked.error }, 'room message does not make a valid canonical event; dropped');
    return { skipped: `invalid: ${checked.error}` };
  }
  const event = checked.event;
  const result = msg.stanzaId !== undefined
    ? await deps.bus.publishOnce(event, { scope: `${CONNECTOR}:${endpoint.address}`, id: msg.stanzaId })
    : await deps.bus.publish([event]).then(() => ({ id: event.id, duplicate: false }));
  if (event.kind === 'message' && !result.duplicate) {
    const primary = msg.stanzaId ?? msg.id;
    // Its author's occupant JID too: what the puppets' replies to it name (XEP-0461 `to`).
    await Promise.all([
      primary !== undefined ? deps.bus.idMap.link(result.id, endpoint, primary) : undefined,
      msg.id !== undefined ? deps.bus.idMap.link(result.id, messageIdEndpoint(endpoint), msg.id) : undefined,
      deps.bus.idMap.link(result.id, authorEndpoint(endpoint), msg.from),
    ]);
  }
  return { kind: event.kind, id: result.id, duplicate: result.duplicate };
}
