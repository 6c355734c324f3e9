import type { Element } from '@xmpp/xml';
import type { Bus } from '../../bus/types.ts';
import type { Endpoint, RoutingView } from '../../core/endpoint.ts';
import type { Logger } from '../../core/logger.ts';
import type { Counter } from '../../core/metrics.ts';
import type { MediaService } from '../../media/index.ts';
import { parseJid } from './address.ts';
import type { ComponentLink } from './component-link.ts';
import type { Contacts, ShownPresence } from './contacts.ts';
import { directChatOf, IGNORED_SENDER, publishDirectMessage, publishDirectPresence, type DirectChat, type Refusal } from './direct-inbound.ts';
import type { InboundOrder } from './inbound-order.ts';
import { NS } from './ns.ts';
import type { OccupantAvatars } from './occupant-avatars.ts';
import { puppetFullJid, PUPPET_RESOURCE } from './puppets.ts';
import { errorReply, mayBounce, type ErrorType } from './stanza/errors.ts';
import type { InboundMessage } from './stanza/message-in.ts';
import { buildPresence, canonicalState, type InboundPresence } from './stanza/presence.ts';
import { UserPresence } from './user-presence.ts';

/**
 * Direct chats on the component stream: what XMPP users send to puppets (messages, and presence:
 * subscriptions, probes, their own presence and avatar), published into their direct chats
 * (direct-inbound.ts), and the puppets' presence announced to their subscribers when the stream
 * comes online. What goes the other way, from the other networks, is direct-outbound.ts.
 */

export interface DirectChatsDeps {
  /** The component's domain: puppets are addressed under it, and a stanza from it is a loop. */
  readonly domain: string;
  readonly bus: Bus;
  readonly routing: RoutingView;
  readonly logger: Logger;
  /** The media store: files sent to a puppet are fetched into it (direct-inbound.ts). */
  readonly media: MediaService | undefined;
  /** The linked rooms: an error is never bounced to one (mayBounce). */
  readonly rooms: ReadonlyMap<string, Endpoint>;
  /** The connector's direct-chat outcomes (switchboard_xmpp_direct_total). */
  readonly metrics: { readonly direct: Counter<string> };
  /** Undefined without a media store: users' avatars are then not bridged. */
  readonly occupantAvatars: OccupantAvatars | undefined;
  readonly order: InboundOrder;
  /** Whether a sender is within its message rate (`dm:<user>`: shared by a user's messages and presences). */
  senderAllowed(key: string): boolean;
  /** A puppet's XEP-0153 avatar hash for its presence, when fetched (puppet-profiles.ts). */
  photoOf(puppetBare: string): { photo?: string };
  /** The component stream held here now: announcing stops when it is not the one announced on. */
  holding(): DirectChatsHolding | undefined;
}

/** What of the component stream held here direct chats need. */
export interface DirectChatsHolding {
  readonly link: Pick<ComponentLink, 'send' | 'status'>;
  /** Subscriptions, chat marks and presences (contacts.ts). */
  readonly contacts: Contacts;
}

export class DirectChats {
  /** Direct chats: the XEP-0153 hash each XMPP user last advertised to a puppet, and its stored avatar. */
  private readonly userPhotos = new Map<string, { photo: string; avatar?: string; nick?: string }>();
  /** XMPP users' presence towards each puppet, over their resources. */
  private readonly userPresence = new UserPresence();

  constructor(private readonly deps: DirectChatsDeps) {}

  /**
   * A message from an XMPP user to a puppet: published into their direct chat, or answered with
   * the error that says why not (never to a room or an occupant: rooms kick occupants that send
   * errors). Messages from our own domain (a puppet writing to a puppet) and private messages
   * through a room (from an occupant, not an account) are dropped, counted.
   */
  async onDirectMessage(el: Element, msg: InboundMessage, holding: DirectChatsHolding): Promise<void> {
    const count = (outcome: string): void => this.deps.metrics.direct.inc({ direction: 'in', outcome });
    const from = parseJid(msg.from);
    if (!from?.local) { count('bad_from'); return; }
    if (from.domain.toLowerCase() === this.deps.domain.toLowerCase()) { count('loop'); return; }
    if (el.getChild('x', NS.mucUser)) { count('muc_private'); return; }
    const user = from.bare().toString().toLowerCase();
    const bounce = (r: { type: ErrorType; condition: string; text: string }): void => {
      if (mayBounce(el, (bare) => this.deps.rooms.has(bare))) void holding.link.send(errorReply(el, r.type, r.condition, r.text)).catch(() => {});
    };
    const chat: DirectChat | Refusal = directChatOf(user, msg.to, this.deps.domain);
    if ('refused' in chat) { count('refused'); bounce(chat); return; }
    if (!this.deps.senderAllowed(`dm:${user}`)) {
      count('flood');
      this.deps.logger.warn({ user }, 'direct-chat sender over its message rate; message not bridged');
      return;
    }
    let outcome;
    try {
      outcome = await publishDirectMessage(msg, chat, { bus: this.deps.bus, routing: this.deps.routing, logger: this.deps.logger, media: this.deps.media, avatarOf: this.avatarOfUser });
    } catch (err) {
      count('failed');
      this.deps.logger.error({ err: (err as Error).message, user }, 'publishing a direct message failed');
      bounce({ type: 'wait', condition: 'internal-server-error', text: 'not bridged now: send it again later (with the same origin-id it is bridged once)' });
      return;
    }
    if ('refused' in outcome) { count('refused'); bounce(outcome); return; }
    if ('skipped' in outcome) { count(outcome.skipped === IGNORED_SENDER ? 'ignored' : 'skipped'); this.deps.logger.debug({ user, reason: outcome.skipped }, 'direct message not bridged'); return; }
    count(outcome.duplicate ? 'duplicate' : 'published');
    if (outcome.kind === 'message') {
      await holding.contacts.markChat(user, chat.puppet).catch((err: Error) => this.deps.logger.warn({ user, err: err.message }, 'could not mark a direct chat'));
    }
  }

  /**
   * Presence between an XMPP user and a puppet (RFC 6121): subscriptions are accepted (and
   * remembered), answered with the puppet's presence, and the puppet asks for the user's in
   * return; probes are answered; the user's own presence (directed to the puppet, or broadcast
   * to it once it is subscribed) becomes a presence event in their direct chat, once per change.
   * Presence never gets an error back.
   */
  onUserPresence(p: InboundPresence, holding: DirectChatsHolding): void {
    const from = parseJid(p.from);
    if (!from?.local || from.domain.toLowerCase() === this.deps.domain.toLowerCase()) return;
    const user = from.bare().toString().toLowerCase();
    const chat = directChatOf(user, p.to, this.deps.domain);
    if ('refused' in chat) return;
    const puppetFull = puppetFullJid(chat.peer, this.deps.domain);
    const send = (el: Element): void => { holding.link.send(el).catch(() => { /* refused sends are logged and counted by the link */ }); };
    const count = (outcome: string): void => this.deps.metrics.direct.inc({ direction: 'in', outcome: `presence_${outcome}` });
    const current = async (): Promise<ShownPresence> => await holding.contacts.presenceOf(chat.puppet, user).catch(() => undefined) ?? { state: 'available' };
    // A user's own presence stanzas share the rate of their direct messages: each case that acts
    // takes its token (probes are the server's; what no case acts on costs nothing).
    const withinRate = (): boolean => {
      if (this.deps.senderAllowed(`dm:${user}`)) return true;
      count('flood');
      return false;
    };
    switch (p.type) {
      case 'subscribe':
        if (!withinRate()) return;
        this.deps.order.run(user, async () => {
          await holding.contacts.subscribe(user, chat.puppet).catch((err: Error) => this.deps.logger.warn({ user, err: err.message }, 'could not remember a presence subscription'));
          // RFC 6121 §3.1.5: subscription answers come from the bare JID.
          send(buildPresence({ from: chat.puppet, to: user, type: 'subscribed' }));
          send(buildPresence({ from: puppetFull, to: user, ...await current(), ...this.deps.photoOf(chat.puppet) }));
          // Ask for theirs in return: their presence then reaches the person (the server answers by itself if already granted).
          send(buildPresence({ from: chat.puppet, to: user, type: 'subscribe' }));
          count('subscribed');
        });
        return;
      case 'probe':
        // To the address that asked: ejabberd probes from the new session's full JID, and an answer to the bare JID would reach every session again.
        this.deps.order.run(user, async () => { send(buildPresence({ from: puppetFull, to: p.from, ...await current(), ...this.deps.photoOf(chat.puppet) })); });
        return;
      case 'unsubscribe':
        if (!withinRate()) return;
        this.deps.order.run(user, async () => {
          await holding.contacts.unsubscribe(user, chat.puppet).catch((err: Error) => this.deps.logger.warn({ user, err: err.message }, 'could not forget a presence subscription'));
          send(buildPresence({ from: puppetFull, to: user, type: 'unavailable' }));
          count('unsubscribed');
        });
        return;
      case 'available':
      case 'unavailable': {
        if (!withinRate()) return;
        const state = canonicalState(p);
        if (state === undefined) return;
        const avatarChanged = p.type === 'available' && p.photo !== undefined && this.noteUserPhoto(user, p.photo, chat.puppet, p.nick);
        const changed = this.userPresence.update(user, chat.puppet, from.resource ?? '', { state, ...(p.status !== undefined ? { status: p.status } : {}) });
        const shown = changed ?? (avatarChanged ? this.userPresence.shownOf(user, chat.puppet) : undefined);
        if (!shown) return;
        this.deps.order.run(user, async () => {
          const published = await publishDirectPresence(chat, shown, p.nick, { bus: this.deps.bus, routing: this.deps.routing, logger: this.deps.logger, avatarOf: this.avatarOfUser })
            .catch((err: Error) => { this.deps.logger.warn({ user, err: err.message }, 'publishing a user\'s presence failed'); return false; });
          count(published ? 'published' : 'unrouted');
        });
        return;
      }
      default:
        return;
    }
  }

  /** An XMPP user's avatar as their direct chats show it (undefined: none known). */
  private readonly avatarOfUser = (user: string): string | undefined => this.userPhotos.get(user)?.avatar;

  /**
   * A user's presence to a puppet carried an XEP-0153 hash: remembered, and its vCard asked for
   * (from the puppet, to the user's bare JID, which their server answers) when the photo is not
   * stored yet. True when the avatar shown changed now; when it is stored later, the user's
   * presence goes out again with it, in every direct chat they show a presence in.
   */
  private noteUserPhoto(user: string, photo: string, puppet: string, nick: string | undefined): boolean {
    const before = this.userPhotos.get(user);
    if (before?.photo === photo) return false;
    const stored = this.deps.occupantAvatars?.follow(photo, user, puppet, (url) => {
      const now = this.userPhotos.get(user);
      if (now?.photo !== photo || now.avatar === url) return;
      now.avatar = url;
      for (const shownTo of this.userPresence.puppetsOf(user)) this.republishUserPresence(user, shownTo);
    });
    this.userPhotos.delete(user);
    this.userPhotos.set(user, { photo, ...(stored !== undefined ? { avatar: stored } : {}), ...(nick !== undefined ? { nick } : {}) });
    if (this.userPhotos.size > 100_000) this.userPhotos.delete(this.userPhotos.keys().next().value as string);
    return before?.avatar !== stored;
  }

  /** The user's current presence in their direct chat with `puppet` again (its sender now has the avatar). */
  private republishUserPresence(user: string, puppet: string): void {
    const shown = this.userPresence.shownOf(user, puppet);
    const chat = directChatOf(user, puppet, this.deps.domain);
    if (!shown || 'refused' in chat) return;
    this.deps.order.run(user, async () => {
      await publishDirectPresence(chat, shown, this.userPhotos.get(user)?.nick, { bus: this.deps.bus, routing: this.deps.routing, logger: this.deps.logger, avatarOf: this.avatarOfUser })
        .catch((err: Error) => { this.deps.logger.warn({ user, err: err.message }, 'publishing a user\'s presence failed'); });
    });
  }

  /**
   * The stream is (back) online: every remembered subscriber gets its puppets' presence again
   * (what the person last showed in their chat, else available), so a restart of the bridge or the
   * server does not leave contacts looking offline.
   */
  async announcePresences(holding: DirectChatsHolding): Promise<void> {
    try {
      await holding.contacts.load();
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'could not read the presence subscriptions; puppets\' presence not announced');
      return;
    }
    for (const [user, puppet] of holding.contacts.all()) {
      if (this.deps.holding() !== holding || holding.link.status !== 'online') return;
      const shown = await holding.contacts.presenceOf(puppet, user).catch(() => undefined) ?? { state: 'available' as const };
      await holding.link.send(buildPresence({ from: `${puppet}/${PUPPET_RESOURCE}`, to: user, ...shown, ...this.deps.photoOf(puppet) })).catch(() => {});
    }
  }
}
