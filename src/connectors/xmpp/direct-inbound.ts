import type { Bus } from '../../bus/types.ts';
import { directReach, directRoom, type DirectParty } from '../../core/direct.ts';
import type { Endpoint, RoutingView } from '../../core/endpoint.ts';
import { LIMITS, validateEvent, type Actor, type CanonicalEvent } from '../../core/event.ts';
import { newEventId } from '../../core/ids.ts';
import type { Logger } from '../../core/logger.ts';
import type { MediaService } from '../../media/index.ts';
import { bareJid } from './address.ts';
import type { ShownPresence } from './contacts.ts';
import { CONNECTOR, fetchAttachments, messageIdEndpoint, messageToEvent, referencesAt, type InboundOutcome } from './inbound.ts';
import { parsePuppetJid } from './puppets.ts';
import type { ErrorType } from './stanza/errors.ts';
import type { InboundMessage } from './stanza/message-in.ts';
import { clip } from '../../core/text.ts';

/**
 * XMPP -> canonical for direct chats: a message (or presence) from an XMPP user to a puppet JID
 * becomes an event in the direct room of the user (`xmpp:<bare JID>`) and the puppet's person
 * (src/core/direct.ts), with the user's bare JID as its origin endpoint: the router sends it to
 * the person's network. What cannot reach anybody is refused with the XMPP error to answer with.
 */

export interface DirectInboundDeps {
  bus: Bus;
  routing: RoutingView;
  logger: Logger;
  media?: MediaService | undefined;
  /** The user's stored avatar (XEP-0153 hash in their presence, vCard photo in the media store). */
  avatarOf?: (user: string) => string | undefined;
}

/** An XMPP error for the sender (RFC 6120 §8.3): the stanza reached nobody and nothing was published. */
export interface Refusal {
  readonly refused: true;
  readonly type: ErrorType;
  readonly condition: string;
  readonly text: string;
}

function refuse(type: ErrorType, condition: string, text: string): Refusal {
  return { refused: true, type, condition, text };
}

export interface DirectChat {
  /** The puppet's bare JID. */
  readonly puppet: string;
  /** The person behind it. */
  readonly peer: DirectParty;
  /** The direct room of the user and that person. */
  readonly room: string;
  /** The user's party: `{ network: 'xmpp', id: <bare JID> }`. */
  readonly user: DirectParty;
}

/**
 * The direct chat a stanza from `user` to `to` (a JID on our domain) belongs to, or the error for
 * the sender: not a puppet address, a puppet that cannot be resolved, or a pair too long for a
 * room key.
 */
export function directChatOf(user: string, to: string, domain: string): DirectChat | Refusal {
  const puppet = bareJid(to);
  const address = puppet === undefined ? undefined : parsePuppetJid(puppet, domain);
  if (puppet === undefined || address === undefined) {
    return refuse('cancel', 'item-not-found', 'no such person: puppet addresses are <network>.<id> on this domain');
  }
  if (address.kind === 'hashed') return refuse('cancel', 'item-not-found', 'this puppet address is a digest and cannot be resolved to a person');
  const self: DirectParty = { network: CONNECTOR, id: user };
  const peer: DirectParty = { network: address.network, id: address.id };
  const room = directRoom(self, peer);
  if (room === undefined) return refuse('modify', 'not-acceptable', 'these two addresses are too long together for a direct chat');
  return { puppet, peer, room, user: self };
}

/**
 * Whether an event of the user in this chat reaches the person: their network's connector runs and
 * delivers here (`reaches`), or not (`unreachable`), or config.yaml's `ignore:` names the user, whose
 * direct chats then reach no one (`ignored`).
 */
export function peerReach(routing: RoutingView, chat: DirectChat): 'reaches' | 'unreachable' | 'ignored' {
  const probe = { v: 1, id: newEventId(), ts: 0, kind: 'typing', state: 'active', room: chat.room,
    sender: { network: CONNECTOR, id: chat.user.id }, origin: { connector: CONNECTOR, endpoint: chat.user.id } } as const;
  return directReach(routing, probe, chat.peer);
}

/** publishDirectMessage's `skipped` for a user config.yaml's `ignore:` names (counted apart: `ignored`). */
export const IGNORED_SENDER = 'ignored';

/** The id map's endpoint of a direct chat: native ids are per conversation (a client's ids are unique only there). */
export function directIdEndpoint(room: string): Endpoint {
  return { connector: CONNECTOR, address: room };
}

function senderOf(user: string, nick: string | undefined, deps: DirectInboundDeps): Actor {
  const avatar = deps.avatarOf?.(user);
  return {
    network: CONNECTOR, id: clip(user, LIMITS.idChars), ...(nick !== undefined ? { name: clip(nick, LIMITS.nameChars) } : {}),
    ...(avatar !== undefined && avatar.length <= LIMITS.urlChars ? { avatar } : {}),
  };
}

/**
 * Publishes a user's message to a puppet. The user's origin-id (XEP-0359), else the stanza id,
 * is its transaction (scope `xmpp:<bare JID>`): a resend is published once. A new message's
 * origin-id (else id) and id attribute go to the id map, so the other side's replies, reactions,
 * receipts and corrections can name it, and the user's later ones find it.
 */
export async function publishDirectMessage(msg: InboundMessage, chat: DirectChat, deps: DirectInboundDeps): Promise<InboundOutcome | Refusal> {
  const reach = peerReach(deps.routing, chat);
  // An ignored sender (a spammer, most likely) is not told: what they send just goes nowhere.
  if (reach === 'ignored') return { skipped: IGNORED_SENDER };
  if (reach === 'unreachable') {
    return refuse('cancel', 'item-not-found', `no network "${chat.peer.network}" takes direct chats here`);
  }
  const nativeId = msg.originId ?? msg.id;
  const idEndpoint = directIdEndpoint(chat.room);
  const origin = { connector: CONNECTOR, endpoint: chat.user.id, ...(nativeId !== undefined ? { nativeId } : {}) };
  const isNewMessage = msg.oob.length > 0 && !msg.retract && !msg.reactions && !msg.replaces;
  const media = isNewMessage ? await fetchAttachments(msg, deps.media, deps.logger) : undefined;
  const built = await messageToEvent(msg, { room: chat.room, sender: senderOf(chat.user.id, msg.nick, deps), origin },
    referencesAt(deps.bus, idEndpoint, true), media, { receipts: true });
  if (typeof built === 'string') return { skipped: built };
  const checked = validateEvent(built);
  if (!checked.ok) {
    deps.logger.info({ from: msg.from, to: msg.to, error: checked.error }, 'direct message does not make a valid canonical event');
    return refuse('modify', 'bad-request', `not bridged: ${checked.error}`.slice(0, 500));
  }
  const event: CanonicalEvent = checked.event;
  const result = nativeId !== undefined
    ? await deps.bus.publishOnce(event, { scope: `${CONNECTOR}:${chat.user.id}`, id: nativeId })
    : await deps.bus.publish([event]).then(() => ({ id: event.id, duplicate: false }));
  if (event.kind === 'message' && !result.duplicate) {
    if (nativeId !== undefined) await deps.bus.idMap.link(result.id, idEndpoint, nativeId);
    if (msg.id !== undefined) await deps.bus.idMap.link(result.id, messageIdEndpoint(idEndpoint), msg.id);
  }
  return { kind: event.kind, id: result.id, duplicate: result.duplicate };
}

/** Publishes a user's presence towards a puppet as a presence event in their direct chat (nothing when it reaches nobody). */
export async function publishDirectPresence(chat: DirectChat, presence: ShownPresence, nick: string | undefined, deps: DirectInboundDeps): Promise<boolean> {
  if (peerReach(deps.routing, chat) !== 'reaches') return false;
  const now = Date.now();
  const checked = validateEvent({
    v: 1, id: newEventId(now), ts: now, kind: 'presence', room: chat.room, sender: senderOf(chat.user.id, nick, deps),
    origin: { connector: CONNECTOR, endpoint: chat.user.id }, state: presence.state,
    ...(presence.status !== undefined && presence.state !== 'offline' ? { status: presence.status } : {}),
  });
  if (!checked.ok) {
    deps.logger.debug({ user: chat.user.id, error: checked.error }, 'direct presence not bridged');
    return false;
  }
  await deps.bus.publish([checked.event]);
  return true;
}
