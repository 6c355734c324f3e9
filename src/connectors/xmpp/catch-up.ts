import type { StateStore } from '../../bus/types.ts';
import type { Endpoint } from '../../core/endpoint.ts';
import type { Logger } from '../../core/logger.ts';
import type { Counter } from '../../core/metrics.ts';
import { roomStateKey } from './address.ts';
import type { ArchiveReader } from './archive.ts';
import { IqErrorReply } from './component-link.ts';
import type { InboundOrder } from './inbound-order.ts';
import { parseMessage, type InboundMessage } from './stanza/message-in.ts';

/**
 * After the relay (re)joined a room: everything the room archived after the last stanza-id
 * bridged, in order, through the same path as live messages (published once per stanza-id,
 * so overlap with live traffic is harmless). Rooms without an archive are logged, once.
 *
 * The position (the last stanza-id read) is kept per room in the bus state, so the next holder
 * of the component catches up from where this one stopped. What is read is bounded in age
 * (xmpp.catchUpMaxAgeSeconds, the query's `start`), so that a long outage or a room linked again
 * long after a restart unlinked it does not post old conversations; and paced: a turn reads at
 * most xmpp.catchUpPagesPerTurn pages, then the room's catch-up pauses for
 * xmpp.catchUpPauseSeconds and goes on from where it stopped, so a long backlog reaches the other
 * networks in bursts instead of all at once, and none of it is skipped. Live messages go on
 * meanwhile (their positions are not saved until the end, so a restart reads the rest again).
 */

/** Messages asked for per archive page (servers may give fewer: Prosody gives 50 at most by default). */
const PAGE_SIZE = 100;

/** How a catch-up turn ended (switchboard_xmpp_catch_ups_total{outcome}); `no_archive` is not counted. */
type CatchUpOutcome = 'read' | 'read_from_age_bound' | 'read_from_archive_start' | 'paused' | 'failed' | 'first_link' | 'later' | 'no_archive';

/** A catch-up that could not read (the room or the bus away) is tried again after 2 s, then twice as long each time, up to 30 s. */
const FIRST_RETRY_MS = 2_000;
const MAX_RETRY_MS = 30_000;

/** Archive position meaning "from the beginning" (the archive was empty when the relay first joined). */
const ARCHIVE_START = '^';

/** State key of a room's archive position (hashed when a long room JID would pass the store's key limit). */
function positionKey(room: string): string {
  return roomStateKey('mam', room);
}

export interface ArchiveCatchUpDeps {
  /** The component's domain (parseMessage). */
  readonly domain: string;
  /** The linked rooms: a room unlinked meanwhile is not read. */
  readonly rooms: ReadonlyMap<string, Endpoint>;
  /** The bus state: where each room's archive position is kept. */
  readonly state: StateStore;
  readonly logger: Logger;
  /** A retry is queued in the room's order, behind what arrived meanwhile. */
  readonly order: InboundOrder;
  /** Archived messages older than this are not read (xmpp.catchUpMaxAgeSeconds); 0: no bound. */
  readonly maxAgeMs: number;
  /** Archive pages one turn of a catch-up reads (xmpp.catchUpPagesPerTurn). */
  readonly pagesPerTurn: number;
  /** The pause between two turns of one catch-up (xmpp.catchUpPauseSeconds). */
  readonly pauseMs: number;
  /** How each catch-up ended (switchboard_xmpp_catch_ups_total). */
  readonly outcomes?: Counter<'outcome'>;
  readonly now?: () => number;
  /** The component stream held here now, and the path of live room messages; undefined while it is not held here. */
  held(): HeldArchive | undefined;
}

/** The archive of the component stream held here, and the path an archived room message takes there. */
export interface HeldArchive {
  readonly archive: ArchiveReader;
  /** Whether the room keeps an archive (archive.ts roomHasArchive: asked once per stream). */
  hasArchive(room: string): Promise<boolean>;
  /** An archived subject message, as from the archive (room-messages.ts onSubject). */
  onSubject(msg: InboundMessage, text: string, room: string): Promise<void>;
  /** An archived room message, as from the archive (room-messages.ts bridgeRoomMessage). */
  bridge(msg: InboundMessage, room: string): Promise<void>;
}

export class ArchiveCatchUp {
  /** Rooms whose archive position is not saved until a catch-up from the saved one succeeded (catchUpLater). */
  private readonly unsavedRooms = new Set<string>();
  private readonly catchUpTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: ArchiveCatchUpDeps) {}

  /**
   * Catches up now; what could not be bridged (the bus away) is tried again later, and a turn
   * that read its pages goes on after the pause (both: catchUpLater).
   */
  async catchUpOrLater(room: string, nextDelayMs?: number): Promise<void> {
    const outcome = await this.catchUp(room);
    if (outcome === 'later') this.catchUpLater(room, nextDelayMs);
    else if (outcome === 'paused') this.catchUpLater(room, this.deps.pauseMs, FIRST_RETRY_MS);
    else this.unsavedRooms.delete(room);
  }

  /**
   * The room's archive is read again from the last position saved, after `delayMs`; live
   * positions are not saved until a catch-up gets to the end. For a message that could not be
   * bridged (the bus away: tried again until it works, each wait `nextDelayMs`, doubling up to
   * 30 s) and for the next turn of a paced catch-up (after the pause). What was bridged meanwhile
   * is recognised by its stanza-id and published once.
   */
  catchUpLater(room: string, delayMs = FIRST_RETRY_MS, nextDelayMs = Math.min(delayMs * 2, MAX_RETRY_MS)): void {
    if (this.catchUpTimers.has(room)) return;
    this.unsavedRooms.add(room);
    const timer = setTimeout(() => {
      this.catchUpTimers.delete(room);
      if (this.deps.held() === undefined) return;
      this.deps.order.run(room, () => this.catchUpOrLater(room, nextDelayMs));
    }, delayMs);
    timer.unref();
    this.catchUpTimers.set(room, timer);
  }

  /**
   * A room message read (`stanzaId`, live or from the archive): the room's archive position moves
   * to it; a live one's is not saved while the room waits for a catch-up (catchUpLater), which
   * reads from the last position saved.
   */
  notePosition(room: string, stanzaId: string | undefined, source: 'live' | 'archive'): void {
    if (stanzaId !== undefined && !(source === 'live' && this.unsavedRooms.has(room))) {
      this.deps.state.set(positionKey(room), stanzaId).catch((err: Error) => this.deps.logger.warn({ room, err: err.message }, 'could not save the archive position'));
    }
  }

  /** The room is unlinked: no catch-up is due for it any more. (Its position: forgetPosition.) */
  forgetRoom(room: string): void {
    clearTimeout(this.catchUpTimers.get(room));
    this.catchUpTimers.delete(room);
    this.unsavedRooms.delete(room);
  }

  /** The room is unlinked: its archive position is forgotten, so a later link reads no history. */
  forgetPosition(room: string): Promise<void> {
    return this.deps.state.delete(positionKey(room));
  }

  /** The component is released here: the catch-ups due are called off. */
  stop(): void {
    for (const timer of this.catchUpTimers.values()) clearTimeout(timer);
    this.catchUpTimers.clear();
  }

  /** A turn of reading the room's archive after the saved position, counted. */
  private async catchUp(room: string): Promise<CatchUpOutcome> {
    const done = await this.readArchive(room);
    if (done !== 'no_archive') this.deps.outcomes?.inc({ outcome: done });
    return done;
  }

  private async readArchive(room: string): Promise<CatchUpOutcome> {
    const held = this.deps.held();
    if (!held) return 'later';
    // Unlinked meanwhile (a retry timer's turn, say): nothing to catch up on, and no position to
    // note, which would make a later link read from here.
    if (!this.deps.rooms.has(room)) return 'no_archive';
    let hasArchive: boolean;
    try {
      hasArchive = await held.hasArchive(room);
    } catch {
      // The room did not say (a timeout, an error answer; roomHasArchive logged it): not "no
      // archive", or what was said while away would be skipped for good. Tried again later, with
      // live positions unsaved meanwhile (catchUpLater).
      return 'later';
    }
    if (!hasArchive) return 'no_archive';
    let stored: string | undefined;
    try {
      stored = await this.deps.state.get(positionKey(room));
    } catch (err) {
      this.deps.logger.warn({ room, err: (err as Error).message }, 'could not read the archive position; catching up later');
      return 'later';
    }
    if (stored === undefined) {
      // First join ever: remember where the archive ends now (or that it is empty), so that a crash
      // before the first bridged message is saved still leaves a place to catch up from.
      try {
        const newest = await held.archive.page(room, { last: true, max: 1 });
        await this.deps.state.set(positionKey(room), newest.messages[0]?.id ?? ARCHIVE_START);
      } catch (err) {
        this.deps.logger.warn({ room, err: (err as Error).message }, 'could not read where the room archive ends');
      }
      return 'first_link';
    }
    const start = this.deps.maxAgeMs > 0 ? (this.deps.now ?? Date.now)() - this.deps.maxAgeMs : undefined;
    let after: string | undefined = stored === ARCHIVE_START ? undefined : stored;
    let from: CatchUpOutcome = 'read';
    let caught = 0;
    let pages = 0;
    const readPage = async (): Promise<Awaited<ReturnType<ArchiveReader['page']>> | undefined> => {
      try {
        return await held.archive.page(room, { ...(after !== undefined ? { after } : {}), ...(start !== undefined ? { start } : {}), max: PAGE_SIZE });
      } catch (err) {
        if (pages === 0 && after !== undefined && err instanceof IqErrorReply && err.condition === 'item-not-found') {
          // The archive no longer holds the saved position among what the query asks for: the
          // server expired it (Prosody keeps a week by default), or it is older than `start`
          // (Prosody looks for `after` among the messages from `start` on). Either way every
          // message the archive has from `start` on (or at all) came after it: read those.
          from = start !== undefined ? 'read_from_age_bound' : 'read_from_archive_start';
          this.deps.logger.info({ room, position: after, ...(start !== undefined ? { start: new Date(start).toISOString() } : {}) },
            start !== undefined ? 'the room archive no longer holds the saved position among its messages of the age bound (xmpp.catchUpMaxAgeSeconds): catching up from that bound'
              : 'the room archive no longer holds the saved position (expired): catching up from what it still holds');
          after = undefined;
          return await readPage();
        }
        // The archive does not answer (a room that refuses queries, a server without it): as if read.
        this.deps.logger.warn({ room, after, err: (err as Error).message }, 'catch-up from the room archive failed; continuing live only');
        return undefined;
      }
    };
    while (pages < this.deps.pagesPerTurn) {
      const page = await readPage();
      if (page === undefined) return 'failed';
      pages++;
      for (const m of page.messages) {
        const msg = parseMessage(m.message, { componentDomain: this.deps.domain });
        msg.stanzaId = m.id; // the archive's id is the room's stanza-id
        if (msg.type === 'groupchat') {
          try {
            if (msg.subject !== undefined) await held.onSubject(msg, msg.subject, room);
            else await held.bridge(msg, room);
          } catch (err) {
            this.deps.logger.warn({ room, stanzaId: m.id, err: (err as Error).message }, 'catch-up could not bridge an archived message; trying again later');
            return 'later';
          }
        }
        after = m.id;
        caught++;
      }
      if (page.end.complete || page.messages.length === 0) {
        this.deps.logger.info({ room, messages: caught }, 'caught up from the room archive');
        return from;
      }
      after = page.end.last ?? after;
    }
    // The turn's pages are read: the rest after a pause, from the last message bridged (saved as
    // the position; live positions are not saved meanwhile, so a restart reads the rest too).
    this.deps.logger.info({ room, messages: caught, pauseMs: this.deps.pauseMs },
      `catch-up read ${this.deps.pagesPerTurn} pages of the room archive: going on after a pause (xmpp.catchUpPauseSeconds)`);
    return 'paused';
  }
}
