import type { StateStore } from '../../bus/types.ts';
import { LIMITS, type Actor } from '../../core/event.ts';
import type { Logger } from '../../core/logger.ts';
import { clip } from '../../core/text.ts';
import { parseJid } from './address.ts';
import { CONNECTOR } from './inbound.ts';
import type { InboundMessage } from './stanza/message-in.ts';
import type { CanonicalPresenceState } from './stanza/presence.ts';

/**
 * The other occupants of the linked rooms, as the relay sees them (ours, the relay and the
 * puppets, are occupancy.ts's): who is behind each nick, which rooms' occupant-ids are trusted,
 * the real JIDs seen behind occupant-ids, and the canonical sender (Actor) each of them makes, so
 * that the same person is the same sender in their messages, presences, subjects and moderations,
 * live and caught up. What fills the roster is occupant-presence.ts.
 */

export interface RosterEntry {
  jid?: string;
  occupantId?: string;
  state?: CanonicalPresenceState;
  status?: string;
  /** XEP-0153 hash the occupant advertises ('' = none). */
  photo?: string;
  /** Its avatar in the media store, once fetched (occupant-avatars.ts). */
  avatar?: string;
}

/** Bus-state key prefix of the real JID behind an occupant-id (see rememberRealJid). */
const OCCUPANT_JID_KEY = 'occupant:';
/** How long it is kept: as long as a room's archive is read back at most (a catch-up reads what was said while away). */
const OCCUPANT_JID_TTL_MS = 30 * 24 * 3_600_000;

export interface RoomOccupantsDeps {
  /** The bus state: real JIDs behind occupant-ids outlive a restart (see rememberRealJid). */
  readonly state: StateStore;
  readonly logger: Logger;
}

export class RoomOccupants {
  /** Who is behind a nick in a room (from presences), by occupant JID (`<room>/<nick>`): real bare JID when the room tells, occupant-id otherwise. */
  readonly roster = new Map<string, RosterEntry>();
  /**
   * Rooms that stamp XEP-0421 occupant-ids: the relay's own presence there carries one (a room that
   * does not would pass on whatever a client put in its stanzas, so ids from it are not trusted).
   */
  private readonly occupantIdRooms = new Set<string>();
  /** Real bare JIDs seen behind occupant-ids (`<room>#<occupant-id>`): a message from the archive names its sender by occupant-id only. */
  private readonly realJidOfOccupant = new Map<string, string>();

  constructor(private readonly deps: RoomOccupantsDeps) {}

  /** The relay's own presence in `room` carried an occupant-id: the room stamps them, and ids from it are trusted. */
  trustOccupantIds(room: string): void {
    this.occupantIdRooms.add(room);
  }

  /** The room is unlinked: what is known of its occupants goes. */
  forgetRoom(room: string): void {
    this.occupantIdRooms.delete(room);
    for (const key of [...this.roster.keys()]) if (key.startsWith(`${room}/`)) this.roster.delete(key);
  }

  /**
   * The real bare JID seen behind an occupant-id (`<room>#<occupant-id>`): kept in memory, and in
   * the bus state (`occupant:<room>#<occupant-id>`, for OCCUPANT_JID_TTL_MS after it was last
   * seen to change), so that after a restart (or on another instance) a person's messages caught
   * up from the archive, said while the component was away by someone who left before it came
   * back, still name them by their JID, as live ones do (one person, one sender elsewhere).
   */
  rememberRealJid(occupant: string, real: string): void {
    if (this.realJidOfOccupant.get(occupant) === real) return;
    if (this.realJidOfOccupant.size >= 100_000 && !this.realJidOfOccupant.has(occupant)) this.realJidOfOccupant.delete(this.realJidOfOccupant.keys().next().value as string);
    this.realJidOfOccupant.set(occupant, real);
    this.deps.state.set(`${OCCUPANT_JID_KEY}${occupant}`, real, OCCUPANT_JID_TTL_MS)
      .catch((err: Error) => this.deps.logger.debug({ occupant, err: err.message }, 'the real JID behind an occupant-id was not saved'));
  }

  /** Reads back the real JID behind a message's occupant-id when this process has not seen it (a restart): see rememberRealJid. */
  private async recallRealJid(room: string, occupantId: string | undefined): Promise<void> {
    if (occupantId === undefined || !this.occupantIdRooms.has(room)) return;
    const occupant = `${room}#${occupantId}`;
    if (this.realJidOfOccupant.has(occupant)) return;
    const real = await this.deps.state.get(`${OCCUPANT_JID_KEY}${occupant}`).catch(() => undefined);
    if (real !== undefined && this.realJidOfOccupant.size < 100_000) this.realJidOfOccupant.set(occupant, real);
  }

  /**
   * Who removed a message, as the room announced it (XEP-0425 `by`: the moderator's occupant JID,
   * with its occupant-id in 0.3): that occupant as any of its messages names it; the room itself
   * when it did not say.
   */
  async moderatorOf(room: string, moderated: InboundMessage['moderated']): Promise<Actor> {
    const by = parseJid(moderated?.by);
    if (by !== undefined && by.resource && by.bare().toString().toLowerCase() === room.toLowerCase()) {
      if (this.roster.get(by.toString())?.occupantId !== moderated?.occupantId) await this.recallRealJid(room, moderated?.occupantId);
      return this.actorOf(room, by.resource, undefined, moderated?.occupantId);
    }
    return roomActor(room);
  }

  /** A room occupant as the sender of what it did: as for its messages (see actorOf). */
  async occupantActor(room: string, nick: string, occupantId: string | undefined): Promise<Actor> {
    // Someone no longer (or not yet) seen behind this nick here: who it was may be known from before a restart.
    if (this.roster.get(`${room}/${nick}`)?.occupantId !== occupantId) await this.recallRealJid(room, occupantId);
    return this.actorOf(room, nick, undefined, occupantId);
  }

  /**
   * The canonical sender for a room occupant: its real bare JID when known, else the room's
   * occupant-id (XEP-0421, stable across nick changes and visits), else the occupant JID. A
   * message's own occupant-id (`messageOccupantId`) names its sender when the nick is no longer in
   * the room, or now someone else's (a message from the archive), so the same person is the same
   * sender live and caught up.
   */
  actorOf(room: string, nick: string, entry?: RosterEntry, messageOccupantId?: string): Actor {
    const trusted = this.occupantIdRooms.has(room);
    let known = entry ?? this.roster.get(`${room}/${nick}`);
    const fromMessage = trusted ? messageOccupantId : undefined;
    if (fromMessage !== undefined && known?.occupantId !== undefined && known.occupantId !== fromMessage) known = undefined;
    const occupantId = trusted ? known?.occupantId ?? fromMessage : undefined;
    const realJid = known?.jid ?? (occupantId !== undefined ? this.realJidOfOccupant.get(`${room}#${occupantId}`) : undefined);
    const id = realJid ?? (occupantId !== undefined ? `${room}#${occupantId}` : `${room}/${nick}`);
    const avatar = known?.avatar !== undefined && known.avatar.length <= LIMITS.urlChars ? { avatar: known.avatar } : {};
    return { network: CONNECTOR, id: clip(id, LIMITS.idChars), name: clip(nick, LIMITS.nameChars), ...avatar };
  }
}

/** The room itself as a sender: for what it did and names nobody for. */
export function roomActor(room: string): Actor {
  return { network: CONNECTOR, id: clip(room, LIMITS.idChars), name: clip(parseJid(room)?.local || room, LIMITS.nameChars) };
}
