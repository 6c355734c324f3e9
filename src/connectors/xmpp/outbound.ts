import type { Element } from '@xmpp/xml';
import type { Bus, Delivery, StateStore } from '../../bus/types.ts';
import type { CanonicalEvent, EventOfKind } from '../../core/event.ts';
import type { Logger } from '../../core/logger.ts';
import type { ArchiveReader } from './archive.ts';
import { authorEndpoint, messageIdEndpoint } from './inbound.ts';
import { CAPTION_PIECE, linkedPieces, pieceEndpoint, piecesOf } from './message-pieces.ts';
import type { OriginIds } from './origin-ids.ts';
import { JoinError, type Occupancies } from './occupancy.ts';
import { PUPPET_RESOURCE, puppetFullJid, puppetNick } from './puppets.ts';
import { moderateInRoom } from './moderation.ts';

/** The piece name of a topic's notice, where the room keeps its subject (its origin-id is its own). */
const TOPIC_NOTICE_PIECE = 'topic';
import { hintsOf } from '../../mapper/types.ts';
import { topicNotice } from '../../mapper/fallbacks.ts';
import { buildChatState, buildCorrection, buildMarker, buildMessage, buildReactions, buildRetraction, type Envelope } from './stanza/message-out.ts';

/**
 * Canonical -> XMPP, for deliveries to linked rooms. The sender's puppet joins the room before
 * its first event there (lazily, without history), then speaks with an origin-id derived from the
 * canonical event id (OriginIds), so a retry sends the same origin-id and the room's reflection or
 * archive can be matched to the delivery. A room message counts as delivered when the room
 * reflects it; its room stanza-id then goes to the id map.
 */

export interface OutboundDeps {
  bus: Bus;
  domain: string;
  occupancies: Occupancies;
  reflections: Reflections;
  send(el: Element): Promise<void>;
  logger: Logger;
  reflectionTimeoutMs: number;
  originIds: OriginIds;
  /** Marks of origin-ids sent once (shared by every instance): a second send is a retry. */
  sent: StateStore;
  archive: ArchiveReader;
  /** Whether the room keeps an archive (asked once per room, then remembered). */
  hasArchive(room: string): Promise<boolean>;
  /** Told of each archive lookup of a retried delivery (for the metrics). */
  onRetryLookup(found: boolean): void;
  /** The relay's occupant JID: it moderates (XEP-0425) for moderators of other networks. */
  relayJid: string;
  /** Told how each moderator's removal went (for the metrics). */
  onModeration(outcome: 'moderated' | 'retracted' | 'not_done'): void;
  /** A room's topic from another network: the relay sets the room's subject (topics.ts). */
  setTopic(room: string, event: EventOfKind<'topic'>): Promise<'set' | 'unchanged' | 'refused'>;
  /** An iq to the server, answered (rejects with IqErrorReply on an error answer). */
  request(iq: Element): Promise<Element>;
  /** Remembers a puppet's display name (for its vCard and disco). */
  rememberPuppet(bareJid: string, name: string, avatar?: string): void;
  /**
   * The puppet is in the room: make its presence there advertise its avatar (XEP-0153), once the
   * avatar is fetched. Never waits and never throws: a message is not held up by an avatar.
   */
  advertiseAvatar(room: string, puppet: string): void;
}

/** How long a send is remembered (a retry later than this is sent without looking in the archive). */
const SENT_MARK_MS = 24 * 3_600_000;
/** Clock skew allowed between the bridge and the server when looking for a message in the archive. */
const ARCHIVE_SKEW_MS = 60_000;

/** A room answered one of our messages with an error (XEP-0045: not allowed to speak, not an occupant...). */
export class RoomAnswerError extends Error {
  constructor(readonly condition: string) {
    super(`room answered ${condition}`);
    this.name = 'RoomAnswerError';
  }
}

/**
 * What a room answers when it will not take us, now or on a retry soon: banned or not a member
 * (forbidden, registration-required), no voice (forbidden), a password (not-authorized), no new
 * rooms (not-allowed, item-not-found), a nick refused even plain (jid-malformed). Retrying such
 * a delivery in place would hold up every room's deliveries behind it (one egress queue per
 * connector) and end in the dead-letter queue anyway. What may pass is retried: the server away, a
 * timeout, a full room (service-unavailable), and not-acceptable (not an occupant: a puppet
 * kicked just before its message, which the retry's join fixes).
 */
const REFUSALS = new Set(['forbidden', 'registration-required', 'not-authorized', 'not-allowed', 'item-not-found', 'jid-malformed']);

/** The room's condition when `err` is a refusal a retry will not change; undefined otherwise. */
export function roomRefusal(err: unknown): string | undefined {
  const condition = err instanceof JoinError || err instanceof RoomAnswerError ? err.condition : undefined;
  return condition !== undefined && REFUSALS.has(condition) ? condition : undefined;
}

export class ReflectionTimeout extends Error {
  constructor(originId: string, room: string, ms: number) {
    super(`room ${room} did not reflect ${originId} within ${ms} ms`);
    this.name = 'ReflectionTimeout';
  }
}

/** Origin-ids remembered per stream for late reflections and in-flight sends, at most. */
const MAX_REMEMBERED_SENDS = 4_096;

/** What is known of a send being retried, without sending again. */
export type RetryState = { readonly kind: 'reflected'; readonly stanzaId: string | undefined } | { readonly kind: 'in-flight' } | { readonly kind: 'unknown' };

function remember<K>(set: Set<K> | Map<K, unknown>, key: K, value?: unknown): void {
  set.delete(key);
  if (set instanceof Set) set.add(key); else set.set(key, value);
  if (set.size > MAX_REMEMBERED_SENDS) set.delete(set.keys().next().value as K);
}

/**
 * Puppet messages sent and not yet reflected by their room, by origin-id. It also remembers, for
 * the component stream in hand, what was sent on it and what the room reflected after its
 * delivery had stopped waiting: a slow room is not a lost message. As long as the stream that
 * carried a stanza is up, the server has it, and a retry waits for its reflection instead of
 * sending it again (which the archive, not holding it yet, could not have prevented).
 */
export class Reflections {
  private readonly pending = new Map<string, { room: string; resolve: (stanzaId: string | undefined) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }>();
  /** Sent on the current stream and not refused by the room. */
  private readonly sentOnStream = new Set<string>();
  /** Reflected when nobody waited for it any more. */
  private readonly late = new Map<string, string | undefined>();

  /** The stanza of `originId` went out on the current stream. */
  markSent(originId: string): void {
    remember(this.sentOnStream, originId);
  }

  retryState(originId: string): RetryState {
    if (this.late.has(originId)) return { kind: 'reflected', stanzaId: this.late.get(originId) };
    return this.sentOnStream.has(originId) ? { kind: 'in-flight' } : { kind: 'unknown' };
  }

  expect(originId: string, room: string, timeoutMs: number): Promise<string | undefined> {
    this.pending.get(originId)?.reject(new Error('superseded by a resend'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(originId); reject(new ReflectionTimeout(originId, room, timeoutMs)); }, timeoutMs);
      this.pending.set(originId, { room, resolve, reject, timer });
    });
  }

  /** The room reflected our message: done. */
  reflected(originId: string, stanzaId: string | undefined): boolean {
    const p = this.pending.get(originId);
    this.sentOnStream.delete(originId);
    if (!p) {
      remember(this.late, originId, stanzaId);
      return false;
    }
    this.pending.delete(originId);
    clearTimeout(p.timer);
    p.resolve(stanzaId);
    return true;
  }

  /** The room answered our message with an error (or the stream went): fail it, the bus retries. */
  failed(originId: string, err: Error): void {
    this.sentOnStream.delete(originId);
    const p = this.pending.get(originId);
    if (!p) return;
    this.pending.delete(originId);
    clearTimeout(p.timer);
    p.reject(err);
  }

  /** The room is not served any more (unlinked): nobody waits for its reflections, which are not read. */
  failRoom(room: string, err: Error): void {
    for (const [id, p] of [...this.pending]) if (p.room === room) this.failed(id, err);
  }

  /** The stream went (or the component closes): what was sent on it may be lost, a retry must look. */
  failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.failed(id, err);
    this.sentOnStream.clear();
  }
}

/**
 * Sends a puppet's stanza and resolves with the room's stanza-id once the room reflected it. A
 * stanza sent before (a retry after a lost stream or a crashed holder) is first looked up in the
 * room's archive by its origin-id, and sent again only if it is not there: neither lost nor doubled.
 */
async function sendAndAwaitReflection(deps: OutboundDeps, el: Element, originId: string, room: string, since: number): Promise<string | undefined> {
  const known = deps.reflections.retryState(originId);
  if (known.kind === 'reflected') return known.stanzaId;
  // Sent on this very stream, which is still up: the room is slow, the message is not lost.
  if (known.kind === 'in-flight') return await deps.reflections.expect(originId, room, deps.reflectionTimeoutMs);
  const first = await deps.sent.setIfAbsent(`sent:${originId}`, String(since), SENT_MARK_MS);
  if (!first && await deps.hasArchive(room)) {
    const archived = await deps.archive.findOriginId(room, originId, since - ARCHIVE_SKEW_MS);
    deps.onRetryLookup(archived !== undefined);
    if (archived !== undefined) {
      deps.logger.info({ room, originId }, 'a retried delivery was already in the room archive; not sent again');
      return archived;
    }
  }
  const reflection = deps.reflections.expect(originId, room, deps.reflectionTimeoutMs);
  try {
    deps.reflections.markSent(originId);
    await deps.send(el);
  } catch (err) {
    deps.reflections.failed(originId, err as Error);
  }
  return await reflection;
}

/**
 * A moderator's removal from another network (`moderation`: a WS moderator token, an MTProto
 * moderator account, another linked room's moderator). Clients show one of two things: a sender's
 * retraction (XEP-0424: Conversations, Dino, Gajim, slixmpp's) or a room's moderation (XEP-0425:
 * Converse.js, Gajim, Cheogram). So a puppet's message is retracted by that puppet while it is in
 * the room, and then, as every message, removed by the relay as the room's moderator
 * (moderation.ts), every piece of it. What could not be removed at all is logged, naming what the
 * room needs; a moderation refused after the puppet's retraction only at debug.
 */
async function removeAsModerator(event: EventOfKind<'retract'>, native: string, originOfTarget: string, deps: OutboundDeps,
  at: { target: Delivery['target']; room: string; retract(from: string): Promise<void> }): Promise<'sent' | 'skipped'> {
  let retracted = false;
  if (deps.originIds.isOurs(originOfTarget)) {
    const author = await deps.bus.idMap.nativeOf(event.target, authorEndpoint(at.target));
    const authorJid = author !== undefined ? `${author}/${PUPPET_RESOURCE}` : undefined;
    if (authorJid !== undefined && deps.occupancies.nickOf(at.room, authorJid) !== undefined) {
      await at.retract(authorJid);
      deps.onModeration('retracted');
      retracted = true;
    }
  }
  // A puppet's message sent as several (its caption, its files: message-pieces.ts) goes whole.
  const pieces = (await linkedPieces(deps.bus.idMap, at.target, event.target)).map((p) => p.native);
  const outcome = await moderateInRoom(deps, at.room, [native, ...pieces], event.moderation?.reason);
  if (outcome.done) {
    deps.onModeration('moderated');
    return 'sent';
  }
  if (retracted) {
    deps.logger.debug({ room: at.room, target: event.target, why: outcome.why }, 'a moderator\'s removal: the puppet retracted its message; the room\'s moderation was not done');
    return 'sent';
  }
  deps.onModeration('not_done');
  deps.logger.warn({ room: at.room, target: event.target, why: outcome.why },
    'a moderator\'s removal could not be carried out in this room: the bridge\'s address must be its moderator (admin or owner), and the room must support XEP-0425 (Prosody: mod_muc_moderation)');
  return 'skipped';
}

/**
 * Whom a reply names as the author of the message it answers (XEP-0461 `to`: their occupant JID
 * in the room): an XMPP user as the room showed them then, a puppet by its nick now. Nothing when
 * not known (messages from before authors were kept; a puppet no longer in the room).
 */
async function replyAuthor(replyTo: CanonicalEvent['id'], deps: OutboundDeps, target: Delivery['target'], room: string): Promise<{ to?: string }> {
  const author = await deps.bus.idMap.nativeOf(replyTo, authorEndpoint(target));
  if (author === undefined) return {};
  if (author.includes('/')) return { to: author };
  const nick = deps.occupancies.nickOf(room, `${author}/${PUPPET_RESOURCE}`);
  return nick !== undefined ? { to: `${room}/${nick}` } : {};
}

/** Delivers one event to one linked room. Throws when the room did not take it: offline, join refused, no reflection, an error answer (the caller tells a refusal from what a retry can help: roomRefusal). */
export async function deliverToRoom(delivery: Delivery, deps: OutboundDeps): Promise<'sent' | 'skipped'> {
  const { event, target } = delivery;
  const room = target.address;
  const sender = event.sender;
  const puppet = puppetFullJid(sender, deps.domain);
  const nick = puppetNick(sender);
  // The avatar the mapper resolved for this person (identities.yaml), else the one its network gave.
  deps.rememberPuppet(puppet.split('/')[0] as string, nick, hintsOf(delivery)?.identity.avatar ?? sender.avatar);
  const originIdOf = (id: string): string => deps.originIds.of(id);
  const env = (ev: CanonicalEvent): Envelope => ({ from: puppet, to: room, type: 'groupchat', originId: originIdOf(ev.id) });
  const joined = async (): Promise<string> => {
    const mine = await deps.occupancies.ensureJoined(room, puppet, nick, sender.network);
    deps.advertiseAvatar(room, puppet);
    return mine;
  };
  const nativeOf = (id: string): Promise<string | undefined> => deps.bus.idMap.nativeOf(id as CanonicalEvent['id'], target);
  const puppetBare = puppet.split('/')[0] as string;
  /**
   * Whether this puppet said the message an edit or retraction changes: each room message's
   * author is kept (authorEndpoint: a puppet's bare JID, an XMPP user's occupant JID). The bus
   * carries anyone's edit of any message (docs/websocket-protocol.md, "Whose edit counts"), and
   * not every client checks the sender as XEP-0308 and XEP-0424 ask (slixmpp's plugins do not).
   * Unknown (sent before this was kept): as before.
   */
  const byAuthor = async (): Promise<boolean> => {
    if (event.kind !== 'edit' && event.kind !== 'retract') return true;
    const author = await deps.bus.idMap.nativeOf(event.target, authorEndpoint(target));
    if (author === undefined || author === puppetBare) return true;
    deps.logger.info({ room, kind: event.kind, target: event.target }, 'an edit or retraction of a message someone else said (another puppet, an XMPP user); not sent');
    return false;
  };

  /** `from` (a puppet in the room) retracts the message, and its caption and further files with it. */
  const retractAs = async (from: string, targetId: CanonicalEvent['id'], native: string, originOfTarget: string): Promise<void> => {
    await sendAndAwaitReflection(deps, buildRetraction({ from, to: room, type: 'groupchat', originId: originIdOf(event.id) }, native, originOfTarget), originIdOf(event.id), room, event.ts);
    const pieces = await linkedPieces(deps.bus.idMap, target, targetId);
    for (const [i, { piece, native: pieceId }] of pieces.entries()) {
      const originId = deps.originIds.of(event.id, `r${i + 1}`);
      const retraction = buildRetraction({ from, to: room, type: 'groupchat', originId }, pieceId, deps.originIds.of(targetId, piece));
      await sendAndAwaitReflection(deps, retraction, originId, room, event.ts);
    }
  };

  switch (event.kind) {
    case 'message': {
      await joined();
      const replyId = event.replyTo ? await nativeOf(event.replyTo) : undefined;
      const replyTo = replyId !== undefined && event.replyTo !== undefined ? { id: replyId, ...await replyAuthor(event.replyTo, deps, target, room) } : undefined;
      // Its text, then one message per file (message-pieces.ts).
      for (const part of piecesOf(event.text, event.spans ?? [], event.attachments ?? [])) {
        const originId = deps.originIds.of(event.id, part.piece);
        const el = buildMessage({ from: puppet, to: room, type: 'groupchat', originId }, part.content, {
          ...(replyTo && part.carriesReply ? { reply: replyTo } : {}),
          oob: part.oob,
        });
        const stanzaId = await sendAndAwaitReflection(deps, el, originId, room, event.ts);
        // What others point at in a MUC is the room's stanza-id; a room without stanza-ids only has our id.
        if (part.piece !== undefined) {
          await deps.bus.idMap.link(event.id, pieceEndpoint(target, part.piece), stanzaId ?? originId);
          continue;
        }
        await Promise.all([
          deps.bus.idMap.link(event.id, target, stanzaId ?? originId),
          deps.bus.idMap.link(event.id, messageIdEndpoint(target), originId),
          deps.bus.idMap.link(event.id, authorEndpoint(target), puppetBare),
        ]);
      }
      return 'sent';
    }
    case 'edit': {
      if (!await byAuthor()) return 'skipped';
      await joined();
      // A puppet corrects only its own messages, whose id attribute is their origin-id (XEP-0308 §4):
      // the caption's, when the message went with files.
      const captioned = await deps.bus.idMap.nativeOf(event.target, pieceEndpoint(target, CAPTION_PIECE)) !== undefined;
      const el = buildCorrection(env(event), deps.originIds.of(event.target, captioned ? CAPTION_PIECE : undefined), { text: event.text, spans: event.spans ?? [] });
      await sendAndAwaitReflection(deps, el, originIdOf(event.id), room, event.ts);
      return 'sent';
    }
    case 'retract':
    case 'reaction': {
      const native = await nativeOf(event.target);
      if (native === undefined) {
        deps.logger.info({ room, kind: event.kind, target: event.target }, 'target message unknown in this room; nothing to send');
        return 'skipped';
      }
      // The older fasten form of a retraction names the message's origin-id, kept at the id alias
      // (a puppet's message: its own origin-id, which is its id); see buildRetraction.
      const originOfTarget = event.kind === 'retract' ? await deps.bus.idMap.nativeOf(event.target, messageIdEndpoint(target)) ?? native : undefined;
      // A moderator's removal is carried out whoever said the message (removeAsModerator).
      if (event.kind === 'retract' && event.moderation !== undefined) {
        return await removeAsModerator(event, native, originOfTarget ?? native, deps, { target, room, retract: (from) => retractAs(from, event.target, native, originOfTarget ?? native) });
      }
      // Otherwise a puppet retracts only what puppets said: never an XMPP user's message. The bus carries anyone's
      // retraction of any message (docs/websocket-protocol.md, "Whose edit counts"), and not every
      // client checks the sender as XEP-0424 asks (slixmpp's plugin does not). (Which puppet said it
      // is checked next, byAuthor: receivers that check, as the XEP asks, would refuse one puppet's retraction of another's.)
      if (originOfTarget !== undefined && !deps.originIds.isOurs(originOfTarget)) {
        deps.logger.info({ room, target: event.target }, 'a retraction of an XMPP user\'s message from another network; not sent');
        return 'skipped';
      }
      if (event.kind === 'retract' && !await byAuthor()) return 'skipped';
      await joined();
      if (event.kind === 'retract') await retractAs(puppet, event.target, native, originOfTarget ?? native);
      else await sendAndAwaitReflection(deps, buildReactions(env(event), native, event.reactions), originIdOf(event.id), room, event.ts);
      return 'sent';
    }
    case 'typing': {
      const mine = deps.occupancies.nickOf(room, puppet);
      if (mine === undefined) return 'skipped'; // not worth a join: typing is ephemeral
      await deps.send(buildChatState(puppet, room, 'groupchat', event.state === 'active' ? 'composing' : event.state === 'paused' ? 'paused' : 'active'));
      return 'sent';
    }
    case 'receipt': {
      if (event.receipt !== 'displayed' || deps.occupancies.nickOf(room, puppet) === undefined) return 'skipped';
      const native = await nativeOf(event.target);
      if (native === undefined) return 'skipped';
      await deps.send(buildMarker(puppet, room, 'groupchat', 'displayed', native));
      return 'sent';
    }
    case 'presence': {
      if (event.state === 'offline') { await deps.occupancies.leave(room, puppet); return 'sent'; }
      // Not in the room (yet): nothing to show now; a join later carries the state.
      const shown = await deps.occupancies.updatePresence(room, puppet, { state: event.state, status: event.status });
      return shown ? 'sent' : 'skipped';
    }
    case 'membership': {
      if (event.action === 'leave') await deps.occupancies.leave(room, puppet);
      else await joined();
      return 'sent';
    }
    case 'topic': {
      // The room's, not its sender's: the relay sets it (no puppet joins for it).
      if (await deps.setTopic(room, event) !== 'refused') return 'sent';
      // The room keeps its subject (the relay may not change it): its occupants still learn of the
      // change, as a notice from who made it, in the words a network without topics gets (the mapper's).
      await joined();
      const originId = deps.originIds.of(event.id, TOPIC_NOTICE_PIECE);
      const notice = buildMessage({ from: puppet, to: room, type: 'groupchat', originId }, { text: topicNotice(event.text), spans: [] });
      await sendAndAwaitReflection(deps, notice, originId, room, event.ts);
      return 'sent';
    }
  }
}
