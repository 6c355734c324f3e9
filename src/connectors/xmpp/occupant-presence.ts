import type { Element } from '@xmpp/xml';
import type { Bus } from '../../bus/types.ts';
import { validateEvent } from '../../core/event.ts';
import { newEventId } from '../../core/ids.ts';
import { bareJid, parseJid } from './address.ts';
import { publishTarget, publishTargetOf, type PublishTargetDeps } from './directions.ts';
import { CONNECTOR } from './inbound.ts';
import type { InboundOrder } from './inbound-order.ts';
import type { OccupantAvatars } from './occupant-avatars.ts';
import type { Occupancies } from './occupancy.ts';
import { leftoverOfOurs } from './puppets.ts';
import type { RoomOccupants, RosterEntry } from './room-occupants.ts';
import { canonicalState, isSelfPresence, type CanonicalPresenceState, type InboundPresence } from './stanza/presence.ts';

/**
 * The presences of linked rooms' occupants, as the relay receives them: they keep the roster
 * (room-occupants.ts) and are bridged as canonical presence events, with the occupant's avatar
 * (XEP-0153, occupant-avatars.ts) once it is stored.
 */

export interface OccupantPresenceDeps extends PublishTargetDeps {
  /** The component's domain: a leftover puppet of ours (a former stream's) is recognised by it. */
  readonly domain: string;
  /** The relay's occupant JID: only the presences it receives count. */
  readonly relayJid: string;
  readonly bus: Bus;
  readonly occupants: RoomOccupants;
  /** Undefined without a media store: occupants' avatars are then not bridged. */
  readonly occupantAvatars: OccupantAvatars | undefined;
  readonly order: InboundOrder;
}

/** What of the component stream held here an occupant's presence needs. */
export interface OccupantPresenceHolding {
  readonly occupancies: Occupancies;
  readonly link: { send(el: Element): Promise<void> };
}

export class OccupantPresence {
  constructor(private readonly deps: OccupantPresenceDeps) {}

  /**
   * Keeps who is behind each nick (for the canonical sender of their messages) and bridges
   * occupants' presence as canonical presence events, on change only. Only what the relay sees
   * counts (each of our occupants gets the same presences), and our own occupants are not news.
   */
  trackOccupant(room: string, p: InboundPresence, holding: OccupantPresenceHolding): void {
    if (p.to !== this.deps.relayJid) return;
    const nick = parseJid(p.from)?.resource;
    if (nick && isSelfPresence(p) && p.occupantId !== undefined) this.deps.occupants.trustOccupantIds(room);
    if (!nick || isSelfPresence(p) || holding.occupancies.isOurs(room, nick)) return;
    const leftover = leftoverOfOurs(p, this.deps.domain);
    if (leftover !== undefined) {
      if (leftover.leave) holding.link.send(leftover.leave).catch(() => { /* counted in send */ });
      return;
    }
    const roster = this.deps.occupants.roster;
    const key = `${room}/${nick}`;
    const state = canonicalState(p);
    if (state === undefined) return;
    const known = roster.get(key);
    let entry: RosterEntry | undefined;
    if (p.type === 'unavailable') roster.delete(key);
    else {
      entry = { ...(known ?? {}), state, ...(p.status !== undefined ? { status: p.status } : {}) };
      if (p.status === undefined) delete entry.status;
      const real = bareJid(p.muc?.jid);
      if (real) entry.jid = real;
      if (p.occupantId) entry.occupantId = p.occupantId;
      if (real && p.occupantId) this.deps.occupants.rememberRealJid(`${room}#${p.occupantId}`, real);
      // XEP-0153: a presence without the hash says nothing about the avatar (the last one holds).
      // A receive-only room's occupants are shown nowhere else: their vCards are not asked for
      // (nor is their hash noted, so that a reload bridging the room both ways asks at their next presence).
      const mirror = publishTargetOf(this.deps.rooms, this.deps.routing, room) === 'kept';
      if (p.photo !== undefined && p.photo !== entry.photo && !mirror) {
        const hash = p.photo;
        entry.photo = hash;
        delete entry.avatar;
        const stored = this.deps.occupantAvatars?.follow(hash, `${room}/${nick}`, this.deps.relayJid, (url) => this.occupantAvatarStored(room, nick, hash, url));
        if (stored !== undefined) entry.avatar = stored;
      }
      if (roster.size < 100_000 || known) roster.set(key, entry);
    }
    const avatarChanged = entry !== undefined && known?.avatar !== entry.avatar;
    if (known?.state === state && known.status === p.status && !avatarChanged) return;
    if (!known && state === 'offline') return;
    this.publishOccupantPresence(room, nick, state, entry ?? known);
  }

  /** An occupant's presence (state, status, avatar) as a canonical presence event, in the room's order. */
  private publishOccupantPresence(room: string, nick: string, state: CanonicalPresenceState, entry: RosterEntry | undefined): void {
    if (!this.deps.rooms.has(room)) return;
    const status = state !== 'offline' ? entry?.status : undefined;
    const sender = this.deps.occupants.actorOf(room, nick, entry);
    this.deps.order.run(room, async () => {
      // The room as linked when its turn comes: a reload may have unlinked it, moved it to another canonical room or made it receive-only.
      const target = publishTarget(room, this.deps, { kind: 'presence', nick });
      if (target === undefined || target === 'kept') return;
      const now = Date.now();
      const checked = validateEvent({
        v: 1, id: newEventId(now), ts: now, kind: 'presence', room: target.canonicalRoom, sender, state,
        ...(status !== undefined ? { status } : {}),
        origin: { connector: CONNECTOR, endpoint: room },
      });
      if (!checked.ok) { this.deps.logger.debug({ room, nick, error: checked.error }, 'occupant presence not bridged'); return; }
      await this.deps.bus.publish([checked.event]).catch((err: Error) => this.deps.logger.warn({ room, err: err.message }, 'publishing an occupant presence failed'));
    });
  }

  /**
   * The avatar an occupant advertises is stored now: if they still advertise it, their sender
   * carries it and the other networks hear of it.
   */
  private occupantAvatarStored(room: string, nick: string, hash: string, url: string): void {
    const entry = this.deps.occupants.roster.get(`${room}/${nick}`);
    if (entry === undefined || entry.photo !== hash || entry.avatar === url) return;
    entry.avatar = url;
    const state = entry.state;
    if (state !== undefined && state !== 'offline') this.publishOccupantPresence(room, nick, state, entry);
  }
}
