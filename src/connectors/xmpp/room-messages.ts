import type { Bus } from '../../bus/types.ts';
import { validateEvent, type Actor } from '../../core/event.ts';
import { newEventId } from '../../core/ids.ts';
import type { MediaService } from '../../media/index.ts';
import type { RoomTopics } from '../room-topics.ts';
import { parseJid } from './address.ts';
import type { ArchiveCatchUp } from './catch-up.ts';
import { publishTarget, type PublishTargetDeps } from './directions.ts';
import { CONNECTOR, publishRoomMessage } from './inbound.ts';
import type { Occupancies } from './occupancy.ts';
import type { OriginIds } from './origin-ids.ts';
import type { Reflections } from './outbound.ts';
import { roomActor, type RoomOccupants } from './room-occupants.ts';
import type { InboundMessage } from './stanza/message-in.ts';
import { subjectNews, type RoomSubjects } from './topics.ts';

/**
 * What the linked rooms say, as the relay reads it, live or caught up from their archives
 * (catch-up.ts): their messages (and their corrections, retractions, moderations...: inbound.ts
 * makes the canonical events) and their subject changes (topics.ts), each published once, from the
 * sender its occupant makes (room-occupants.ts), through the one door of a room's traffic
 * (directions.ts publishTarget). Our own messages, reflected, complete their deliveries here.
 */

export interface RoomMessagesDeps extends PublishTargetDeps {
  /** The relay's occupant JID: only its copy of a live message is read. */
  readonly relayJid: string;
  /** Our messages' origin-ids: a message of ours is no news. */
  readonly originIds: OriginIds;
  readonly bus: Bus;
  /** The media store: a message's OOB links are fetched into it (inbound.ts). */
  readonly media: MediaService | undefined;
  /** Each canonical room's current topic (../room-topics.ts). */
  readonly roomTopics: RoomTopics;
  readonly occupants: RoomOccupants;
  /** Where each room's archive position moves as its messages are read. */
  readonly catchUp: ArchiveCatchUp;
}

/** What of the component stream held here a room message's path uses. */
export interface RoomMessagesHolding {
  readonly occupancies: Occupancies;
  readonly reflections: Reflections;
  readonly subjects: RoomSubjects;
  /** Rooms the relay has just joined: their next subject message is the join's (XEP-0045 §7.2.15). */
  readonly joinSubjects: Set<string>;
}

export class RoomMessages {
  constructor(private readonly deps: RoomMessagesDeps) {}

  /**
   * One room message, live (the relay's copy) or from the archive (catch-up): not ours, not a
   * copy, not history -> published once, and the room's archive position advanced.
   */
  async bridgeRoomMessage(msg: InboundMessage, room: string, source: 'live' | 'archive', holding: RoomMessagesHolding): Promise<void> {
    const nick = parseJid(msg.from)?.resource;
    // The room itself speaks for status codes (not bridged), subjects (onSubject) and for a moderator's
    // removal of a message (XEP-0425), which only it may announce.
    if (!nick && msg.moderated === undefined) return;
    if (nick && (holding.occupancies.isOurs(room, nick) || this.deps.originIds.isOurs(msg.originId))) {
      // Our own message, reflected (or archived): its delivery is done, and it is not news.
      if (msg.originId !== undefined) holding.reflections.reflected(msg.originId, msg.stanzaId);
      this.deps.metrics.inbound.inc({ outcome: 'echo' });
      return;
    }
    if (source === 'live') {
      // Every occupant of ours gets a copy: only the relay's is read.
      if (msg.to !== this.deps.relayJid) return;
      if (msg.delay !== undefined && msg.delay.from === room) { this.deps.metrics.inbound.inc({ outcome: 'history' }); return; }
    }
    // (Checked on the relay's copy only: every occupant of ours gets one.)
    if (nick && msg.moderated !== undefined) {
      this.deps.metrics.inbound.inc({ outcome: 'forged_moderation' });
      this.deps.logger.warn({ room, from: msg.from, target: msg.moderated.id }, 'an occupant sent a moderator\'s retraction, which only the room announces; not bridged');
      return;
    }
    // The relay's own moderation (for a moderator of another network), announced back: not news.
    const moderatorNick = !nick ? parseJid(msg.moderated?.by)?.resource : undefined;
    if (moderatorNick && holding.occupancies.isOurs(room, moderatorNick)) {
      this.deps.metrics.inbound.inc({ outcome: 'echo' });
      return;
    }
    const target = publishTarget(room, this.deps, { kind: 'message', nick, source });
    if (target === undefined) return;
    if (target !== 'kept') {
      let sender: Actor;
      if (nick) sender = await this.deps.occupants.occupantActor(room, nick, msg.occupantId);
      else sender = await this.deps.occupants.moderatorOf(room, msg.moderated);
      const outcome = await publishRoomMessage(msg, target.endpoint, target.canonicalRoom, sender, { bus: this.deps.bus, logger: this.deps.logger, media: this.deps.media });
      this.deps.metrics.inbound.inc({ outcome: 'skipped' in outcome ? 'skipped' : outcome.duplicate ? 'duplicate' : 'published' });
      this.deps.logger.debug({ room, nick, source, stanzaId: msg.stanzaId, outcome }, 'room message bridged');
    }
    // (A message kept in a receive-only room is read all the same: no catch-up reads it again, nor
    // publishes it once the room is bridged both ways again.)
    this.deps.catchUp.notePosition(room, msg.stanzaId, source);
  }

  /**
   * A linked room's subject message (XEP-0045 §8.1; what it is: topics.ts subjectNews): a change
   * is published as a `topic` from who set it (the room itself when it names nobody), and the
   * room's subject stored. Only the relay's copy is read (each occupant of ours gets one).
   */
  async onSubject(msg: InboundMessage, text: string, room: string, source: 'live' | 'archive', holding: RoomMessagesHolding): Promise<void> {
    if (source === 'live' && msg.to !== this.deps.relayJid) return;
    const nick = parseJid(msg.from)?.resource;
    // XEP-0045 §7.2.15: a room MUST send its subject (even empty) as the last stanza of a join.
    const atJoin = source === 'live' && holding.joinSubjects.delete(room);
    const ours = nick !== undefined && holding.occupancies.isOurs(room, nick);
    const known = source === 'live' ? await holding.subjects.known(room) : undefined;
    const news = subjectNews({ source, atJoin, ours, known, text });
    const count = (outcome: string): void => this.deps.metrics.inbound.inc({ outcome });
    if (news === 'archived' || news === 'unchanged') { count(`subject_${news}`); return; }
    if (news === 'echo') {
      // The relay's change for another network, done: what its delivery waits for (stored first,
      // so the next topic delivery finds it).
      await holding.subjects.remember(room, text);
      const originId = holding.subjects.broadcast(room, text);
      if (originId !== undefined) holding.reflections.reflected(originId, undefined);
      count('subject_echo');
      return;
    }
    // (Asked only for what may be published: a receive-only room's subject is counted as kept then.)
    const target = news === 'changed' || (news === 'initial' && text !== '') ? publishTarget(room, this.deps, { kind: 'topic', nick, source }) : undefined;
    const canonicalRoom = target !== undefined && target !== 'kept' ? target.canonicalRoom : undefined;
    // A room's subject first seen (a room linked just now) is the room's first topic when no
    // network has given it one yet; else the topic it has stays (linking a room overwrites nothing).
    const first = news === 'initial' && text !== '' && canonicalRoom !== undefined && await this.deps.roomTopics.of(canonicalRoom) === undefined;
    if ((news === 'changed' || first) && canonicalRoom !== undefined) {
      const sender = nick ? await this.deps.occupants.occupantActor(room, nick, msg.occupantId) : roomActor(room);
      const now = Date.now();
      const checked = validateEvent({ v: 1, id: newEventId(now), ts: now, kind: 'topic', room: canonicalRoom, sender, text, origin: { connector: CONNECTOR, endpoint: room } });
      if (!checked.ok || checked.event.kind !== 'topic') { count('skipped'); this.deps.logger.warn({ room, error: checked.ok ? 'not a topic' : checked.error }, 'room subject does not make a valid topic; dropped'); return; }
      await this.deps.bus.publish([checked.event]);
      this.deps.roomTopics.record(checked.event);
      this.deps.logger.info({ room, nick, atJoin }, first ? 'a newly linked room\'s subject is the room\'s first topic: bridged'
        : atJoin ? 'the room\'s subject changed while the bridge was away: topic bridged' : 'room subject changed: topic bridged');
    }
    // (Kept in a receive-only room, it is the room's subject still: known, so it is not news when the room is bridged both ways again.)
    await holding.subjects.remember(room, text);
    if (target !== 'kept') count(news === 'changed' ? 'subject_published' : first ? 'subject_first' : 'subject_initial');
  }
}
