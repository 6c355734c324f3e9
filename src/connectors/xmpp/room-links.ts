import type { StateStore } from '../../bus/types.ts';
import type { EndpointChange } from '../connector.ts';
import type { Direction, Endpoint } from '../../core/endpoint.ts';
import type { Logger } from '../../core/logger.ts';
import type { Counter } from '../../core/metrics.ts';
import type { ArchiveCatchUp } from './catch-up.ts';
import type { LinkStatus } from './component-link.ts';
import { relayStatusFor, SEND_ONLY_STATUS } from './directions.ts';
import type { InboundOrder } from './inbound-order.ts';
import type { Occupancies } from './occupancy.ts';
import type { Reflections } from './outbound.ts';
import { roomJidProblem } from './room-jid.ts';
import type { RoomOccupants } from './room-occupants.ts';
import { RoomSubjects } from './topics.ts';

/** The status text of our occupants' leave when a reload unlinks their room: what the room's people see. */
const UNLINKED_STATUS = 'This room was unlinked from the bridge by its operator';
/** Rooms unlinked by a reload remembered (to name what a delivery to one still queued is): at most. */
const MAX_UNLINKED_REMEMBERED = 10_000;

/** What a bridges/ reload asks of the XMPP connector, room by room (see planRoomLinks). */
export interface RoomLinkPlan {
  /** Every room served from now on, by room JID. */
  readonly serve: ReadonlyMap<string, Endpoint>;
  /** Rooms to serve from now on that were not served: the relay joins them. */
  readonly link: readonly Endpoint[];
  /** Rooms served until now and no more: everyone of ours leaves them. */
  readonly unlink: readonly string[];
  /** Rooms served still, under another canonical room: nothing to do with the server. */
  readonly moved: readonly { readonly room: string; readonly from: string; readonly to: string }[];
  /** Rooms served still (or linked now), bridged another way from now on (directions.ts); also when moved at once. */
  readonly redirected: readonly { readonly room: string; readonly from: Direction; readonly to: Direction }[];
  /** Addresses that are no room JID (the app's check refuses them first): not served, logged. */
  readonly refused: readonly { readonly address: string; readonly problem: string }[];
}

/**
 * Compares the rooms served now (`served`, keyed by room JID) with a reload's change. What is
 * served from now on is `change.endpoints` (the new table's word), not the served set patched
 * with added/removed: the same change told twice, or one told after an endpoint was refused at
 * start, still ends with exactly the new table's rooms served.
 */
export function planRoomLinks(served: ReadonlyMap<string, Endpoint>, change: EndpointChange): RoomLinkPlan {
  const refused: { address: string; problem: string }[] = [];
  const next = new Map<string, Endpoint>();
  for (const e of change.endpoints) {
    const problem = roomJidProblem(e.address);
    if (problem !== undefined) refused.push({ address: e.address, problem });
    else next.set(e.address, e);
  }
  return {
    serve: next,
    link: [...next.values()].filter((e) => !served.has(e.address)),
    unlink: [...served.keys()].filter((room) => !next.has(room)),
    moved: change.moved.filter((m) => next.has(m.endpoint.address) && served.has(m.endpoint.address))
      .map((m) => ({ room: m.endpoint.address, from: m.from, to: m.to })),
    redirected: change.redirected.filter((r) => next.has(r.endpoint.address))
      .map((r) => ({ room: r.endpoint.address, from: r.from, to: r.to })),
    refused,
  };
}

export interface RoomLinksDeps {
  readonly logger: Logger;
  /** The connector's room-link changes (switchboard_xmpp_room_links_total). */
  readonly metrics: { readonly roomLinks: Counter<string> };
  /** The bus state: an unlinked room's subject is forgotten there, also with no stream held here. */
  readonly state: StateStore;
  /** The relay's occupant JID: it stays in a room made send-only. */
  readonly relayJid: string;
  readonly order: InboundOrder;
  readonly catchUp: ArchiveCatchUp;
  readonly occupants: RoomOccupants;
  /** The component stream held here now (undefined: a standby, or a takeover under way). */
  holding(): RoomLinksHolding | undefined;
  /** The relay joins the room after `delayMs` (one join due per room). */
  scheduleRelayJoin(room: string, delayMs: number): void;
}

/** What of the component stream held here our occupants' leaving needs. */
export interface LeavingHolding {
  readonly link: { readonly status: LinkStatus };
  readonly occupancies: Occupancies;
}

/** What of the component stream held here a reload changes (see Holding in connector.ts). */
export interface RoomLinksHolding extends LeavingHolding {
  readonly stopping?: boolean | undefined;
  readonly reflections: Reflections;
  readonly relayJoins: Map<string, NodeJS.Timeout>;
  readonly hasArchive: Map<string, Promise<boolean>>;
  readonly subjects: RoomSubjects;
  readonly joinSubjects: Set<string>;
}

/**
 * What a bridges/ reload does to the linked rooms, room by room (the plan: planRoomLinks; the
 * rooms served are changed by XmppConnector.endpointsChanged): a room linked is joined, a room
 * unlinked is left and forgotten, a room made send-only is left by the puppets.
 */
export class RoomLinks {
  /** Rooms a bridges/ reload unlinked (and not linked since): a delivery to one still queued is dropped as `unlinked`. */
  private readonly unlinkedRooms = new Set<string>();

  constructor(private readonly deps: RoomLinksDeps) {}

  /** Whether a bridges/ reload unlinked the room (and it was not linked since). */
  wasUnlinked(room: string): boolean {
    return this.unlinkedRooms.has(room);
  }

  /**
   * A room linked by a reload is served as one linked at start: the relay joins it now when the
   * stream is up here, else at the next 'online' with the others. Its first join reads no
   * history: there is no archive position for it (none ever, or forgotten when it was unlinked),
   * so catchUp only notes where the archive ends, as for a room linked for the first time.
   */
  linkRoom(room: string): void {
    this.unlinkedRooms.delete(room);
    this.deps.metrics.roomLinks.inc({ change: 'linked' });
    const holding = this.deps.holding();
    const now = holding !== undefined && !holding.stopping && holding.link.status === 'online';
    this.deps.logger.info({ room, joining: now ? 'now' : 'when this instance holds the stream' }, 'bridges/ reload: room linked');
    if (now) this.deps.scheduleRelayJoin(room, 0);
  }

  /**
   * A room unlinked by a reload stops being served at once: its stanzas are not read from now on
   * (every handler asks live.rooms), its timers stop, whatever waits for it fails, everyone of ours
   * leaves it with a status saying why, and what is kept for it goes. Its archive position and
   * subject are forgotten after the room's queued work (which may still save them), so a later
   * link is a first link: what was said meanwhile is not replayed. Every instance forgets them, not
   * only the holder: there may be no holder at this moment (a takeover under way).
   */
  unlinkRoom(room: string): void {
    this.deps.metrics.roomLinks.inc({ change: 'unlinked' });
    if (!this.unlinkedRooms.has(room) && this.unlinkedRooms.size >= MAX_UNLINKED_REMEMBERED) this.unlinkedRooms.delete(this.unlinkedRooms.values().next().value as string);
    this.unlinkedRooms.add(room);
    this.deps.catchUp.forgetRoom(room);
    this.deps.occupants.forgetRoom(room);
    const holding = this.deps.holding();
    if (holding) {
      clearTimeout(holding.relayJoins.get(room));
      holding.relayJoins.delete(room);
      holding.joinSubjects.delete(room);
      holding.hasArchive.delete(room);
      holding.reflections.failRoom(room, new Error(`${room} was unlinked`));
      this.leaveUnlinked(room, holding);
    }
    this.deps.logger.info({ room }, 'bridges/ reload: room unlinked; the bridge\'s occupants leave it');
    // (Also when the room is linked again before this runs: that link's first catch-up is queued
    // behind it, at its relay's join, and so finds nothing kept.)
    this.deps.order.run(room, async () => {
      const subjects = holding?.subjects ?? new RoomSubjects(this.deps.state);
      await Promise.all([this.deps.catchUp.forgetPosition(room), subjects.forgetRoom(room)])
        .catch((err: Error) => this.deps.logger.warn({ room, err: err.message }, 'could not forget an unlinked room\'s archive position and subject: linking it again may bridge what was said meanwhile'));
    }, { essential: true });
  }

  /**
   * A room bridged another way by a reload (directions.ts). To receive-only, or back to both,
   * nothing is to be done here: the direction is read from the routing view at each stanza and
   * each delivery, and the puppets join again as they always do, when someone of another network
   * speaks. To send-only: nothing of the others is posted there any more, so the puppets present
   * leave; the relay stays, as it reads the room.
   */
  redirectRoom(room: string, from: Direction, to: Direction): void {
    this.deps.metrics.roomLinks.inc({ change: 'redirected' });
    this.deps.logger.info({ room, from, to }, 'bridges/ reload: a linked room is bridged another way now');
    const holding = this.deps.holding();
    if (to === 'send-only' && holding !== undefined) this.withdrawPuppets(room, holding);
    // The room's people see how it is bridged now in the relay's status (told only when it joined, or changed).
    if ((from === 'receive-only') !== (to === 'receive-only') && holding !== undefined) {
      void holding.occupancies.updatePresence(room, this.deps.relayJid, relayStatusFor(to)).catch((err: Error) => this.deps.logger.warn({ room, err: err.message }, 'the relay\'s status could not be updated'));
    }
  }

  /** Our puppets leave a room that only sends to the bridge now, saying so; the relay stays. */
  withdrawPuppets(room: string, holding: LeavingHolding): void {
    if (holding.link.status !== 'online') return; // the server removed them with the stream, and nothing joins them there again
    holding.occupancies.leaveRoom(room, SEND_ONLY_STATUS, { except: this.deps.relayJid }).then(({ left, failed }) => {
      if (left + failed > 0) this.deps.logger.info({ room, left, failed }, 'the puppets left a room that only sends to the bridge now');
    }, (err: Error) => this.deps.logger.warn({ room, err: err.message }, 'the puppets could not leave a room that only sends to the bridge now'));
  }

  /** Everyone of ours leaves a room that is not linked (any more), with the status that says why. */
  leaveUnlinked(room: string, holding: LeavingHolding): void {
    if (holding.link.status !== 'online') return; // the server removed them with the stream
    holding.occupancies.leaveRoom(room, UNLINKED_STATUS).then(({ left, failed }) => {
      if (left + failed > 0) this.deps.logger.info({ room, left, failed }, 'the bridge\'s occupants left an unlinked room');
    }, (err: Error) => this.deps.logger.warn({ room, err: err.message }, 'leaving an unlinked room failed'));
  }
}
