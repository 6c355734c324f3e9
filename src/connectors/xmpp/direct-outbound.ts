import type { Element } from '@xmpp/xml';
import type { Bus, Delivery } from '../../bus/types.ts';
import { peerOf } from '../../core/direct.ts';
import type { CanonicalEvent } from '../../core/event.ts';
import type { EventId } from '../../core/ids.ts';
import type { Logger } from '../../core/logger.ts';
import { parseJid } from './address.ts';
import type { Contacts } from './contacts.ts';
import { directIdEndpoint } from './direct-inbound.ts';
import { CONNECTOR, messageIdEndpoint } from './inbound.ts';
import { CAPTION_PIECE, linkedPieces, pieceEndpoint, piecesOf } from './message-pieces.ts';
import type { OriginIds } from './origin-ids.ts';
import { puppetFullJid, puppetNick } from './puppets.ts';
import { buildChatState, buildCorrection, buildMarker, buildMessage, buildReactions, buildReceipt, buildRetraction, type Envelope } from './stanza/message-out.ts';
import { buildPresence } from './stanza/presence.ts';

/**
 * Canonical -> XMPP for direct chats: a delivery to `{ xmpp, <bare JID> }` in a direct room is a
 * `type='chat'` stanza from the other party's puppet to that JID. There is no reflection in a
 * direct chat (and no archive of ours to look in), so a delivery counts as done once written on
 * a live component stream: at least once. A retry while that stream is still up sends nothing
 * again (SentOnStream); a retry after the stream went sends again, with the same origin-id (and id),
 * which clients that deduplicate by it (XEP-0359) show once.
 */

export type DirectOutcome = 'sent' | 'skipped' | 'not_shown' | 'bad_address' | 'loop';

/** Origin-ids written on the current component stream (bounded): a retried batch does not send them twice. */
export class SentOnStream {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 4_096) {}
  has(id: string): boolean { return this.ids.has(id); }
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
  }
  clear(): void { this.ids.clear(); }
}

export interface DirectOutboundDeps {
  bus: Bus;
  domain: string;
  send(el: Element): Promise<void>;
  logger: Logger;
  originIds: OriginIds;
  contacts: Contacts;
  sentOnStream: SentOnStream;
  rememberPuppet(bareJid: string, name: string, avatar?: string): void;
  /** XEP-0153: the puppet's avatar hash for its presence, when its avatar is fetched already (`{}` otherwise). */
  photoOf(puppetBare: string): { photo?: string };
}

/**
 * The XMPP user a delivery is for, as a bare JID in lower case (RFC 7622 compares localparts and
 * domains case-insensitively), or why it cannot be: not a bare JID, or an address on our own
 * domain (a puppet writing to a puppet would loop through the server back to us).
 */
export function userAddress(address: string, domain: string): { ok: true; jid: string } | { ok: false; outcome: 'bad_address' | 'loop' } {
  const parsed = parseJid(address);
  if (!parsed || parsed.resource || !parsed.local) return { ok: false, outcome: 'bad_address' };
  if (parsed.domain.toLowerCase() === domain.toLowerCase()) return { ok: false, outcome: 'loop' };
  return { ok: true, jid: parsed.bare().toString().toLowerCase() };
}

/** Delivers one event of a direct room to the XMPP user named by the delivery's target. Throws when a retry can help (stream offline). */
export async function deliverToUser(delivery: Delivery, deps: DirectOutboundDeps): Promise<DirectOutcome> {
  const { event, target } = delivery;
  const user = userAddress(target.address, deps.domain);
  if (!user.ok) {
    deps.logger.info({ target: target.address.slice(0, 200), reason: user.outcome }, 'direct-chat delivery to an address that is not an XMPP user; dropped');
    return user.outcome;
  }
  const peer = peerOf(event.room, { network: CONNECTOR, id: target.address });
  if (!peer) return 'skipped'; // the router never sends this
  const to = user.jid;
  // The puppet of the chat's other party (not the event's sender name): the JID the user writes to.
  const puppet = puppetFullJid(peer, deps.domain);
  const puppetBare = puppet.split('/')[0] as string;
  deps.rememberPuppet(puppetBare, puppetNick(event.sender), event.sender.avatar);
  const idEndpoint = directIdEndpoint(event.room);
  const originIdOf = (id: string): string => deps.originIds.of(id);
  const env = (ev: CanonicalEvent): Envelope => ({ from: puppet, to, type: 'chat', originId: originIdOf(ev.id) });
  /** A message's id as the user's client knows it: origin-id first (XEP-0359), else its id attribute. */
  const nativeOf = async (id: EventId): Promise<string | undefined> =>
    await deps.bus.idMap.nativeOf(id, idEndpoint) ?? await deps.bus.idMap.nativeOf(id, messageIdEndpoint(idEndpoint));
  /** A message's id attribute (what corrections, receipts and markers name), else its origin-id. */
  const idAttrOf = async (id: EventId): Promise<string | undefined> =>
    await deps.bus.idMap.nativeOf(id, messageIdEndpoint(idEndpoint)) ?? await deps.bus.idMap.nativeOf(id, idEndpoint);
  /**
   * A puppet corrects and retracts only its own messages: the bus carries anyone's edit of any
   * message (docs/websocket-protocol.md, "Whose edit counts"), and the user's client may not check
   * the sender as XEP-0308 and XEP-0424 ask (slixmpp's plugins do not).
   */
  const notOwn = (kind: string, target: string): DirectOutcome => {
    deps.logger.info({ kind, target }, 'an edit or retraction of a message its sender did not send in this direct chat; not sent');
    return 'skipped';
  };
  const sendOnce = async (el: Element, originId: string): Promise<void> => {
    if (deps.sentOnStream.has(originId)) return;
    await deps.send(el);
    deps.sentOnStream.add(originId);
  };

  switch (event.kind) {
    case 'message': {
      const replyId = event.replyTo ? await nativeOf(event.replyTo) : undefined;
      // XEP-0461 §3: `to` SHOULD name the replied-to message's author (a bare JID will do in 1:1):
      // the puppet for its own messages (our origin-ids), else the user.
      const replyTo = replyId === undefined ? undefined : { id: replyId, to: deps.originIds.isOurs(replyId) ? puppet : to };
      // Its text, then one message per file (message-pieces.ts). The last one sent asks for the
      // receipt and the read marker (clients mark the newest message read) and is the event's
      // id-attribute alias, so what the user's client says of it finds the event.
      const parts = piecesOf(event.text, event.spans ?? [], event.attachments ?? []);
      for (const [i, part] of parts.entries()) {
        const last = i === parts.length - 1;
        const originId = deps.originIds.of(event.id, part.piece);
        const el = buildMessage({ from: puppet, to, type: 'chat', originId }, part.content, {
          ...(replyTo && part.carriesReply ? { reply: replyTo } : {}),
          oob: part.oob,
          requestReceipt: last, markable: last,
          // XEP-0172 §4.2 asks for it in a first message; in every one, the person's current name
          // reaches the user whichever message they see first (after a restart, on a new device).
          nick: puppetNick(event.sender),
        });
        await sendOnce(el, originId);
        if (part.piece === undefined) await deps.bus.idMap.link(event.id, idEndpoint, originId);
        else await deps.bus.idMap.link(event.id, pieceEndpoint(idEndpoint, part.piece), originId);
        if (last) await deps.bus.idMap.link(event.id, messageIdEndpoint(idEndpoint), originId);
      }
      await deps.contacts.markChat(to, puppetBare);
      return 'sent';
    }
    case 'edit': {
      // The caption's message, when the message went with files (message-pieces.ts).
      const caption = await deps.bus.idMap.nativeOf(event.target, pieceEndpoint(idEndpoint, CAPTION_PIECE));
      const replaces = caption ?? await idAttrOf(event.target) ?? originIdOf(event.target);
      if (!deps.originIds.isOurs(replaces)) return notOwn(event.kind, event.target);
      await sendOnce(buildCorrection(env(event), replaces, { text: event.text, spans: event.spans ?? [] }), originIdOf(event.id));
      return 'sent';
    }
    case 'retract':
    case 'reaction': {
      const native = await nativeOf(event.target);
      if (native === undefined) {
        deps.logger.info({ kind: event.kind, target: event.target }, 'target message unknown in this direct chat; nothing to send');
        return 'skipped';
      }
      if (event.kind === 'retract' && !deps.originIds.isOurs(native)) return notOwn(event.kind, event.target);
      const el = event.kind === 'retract' ? buildRetraction(env(event), native) : buildReactions(env(event), native, event.reactions);
      await sendOnce(el, originIdOf(event.id));
      // A retraction takes the message's caption and further files with it.
      if (event.kind === 'retract') {
        for (const [i, piece] of (await linkedPieces(deps.bus.idMap, idEndpoint, event.target)).entries()) {
          const originId = deps.originIds.of(event.id, `r${i + 1}`);
          await sendOnce(buildRetraction({ from: puppet, to, type: 'chat', originId }, piece.native), originId);
        }
      }
      return 'sent';
    }
    case 'typing':
      await deps.send(buildChatState(puppet, to, 'chat', event.state === 'active' ? 'composing' : event.state === 'paused' ? 'paused' : 'active'));
      return 'sent';
    case 'receipt': {
      const native = await idAttrOf(event.target);
      if (native === undefined) return 'skipped';
      await deps.send(event.receipt === 'delivered' ? buildReceipt(puppet, to, native) : buildMarker(puppet, to, 'chat', 'displayed', native));
      return 'sent';
    }
    case 'presence': {
      const shown = { state: event.state, ...(event.status !== undefined && event.state !== 'offline' ? { status: event.status } : {}) };
      await deps.contacts.setPresence(puppetBare, to, shown);
      // Presence goes only where it was asked for (a subscription) or where a chat is going on.
      if (!(await deps.contacts.mayShowPresence(to, puppetBare))) return 'not_shown';
      await deps.send(buildPresence({ from: puppet, to, ...shown, ...deps.photoOf(puppetBare) }));
      return 'sent';
    }
    case 'membership':
    case 'topic': // the router sends no topic to a direct chat
      return 'skipped';
  }
}
