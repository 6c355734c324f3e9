import type { Element } from '@xmpp/xml';
import type { StateStore } from '../../bus/types.ts';
import type { EventOfKind } from '../../core/event.ts';
import type { Logger } from '../../core/logger.ts';
import { roomStateKey } from './address.ts';
import type { OriginIds } from './origin-ids.ts';
import { RoomAnswerError, type Reflections } from './outbound.ts';
import { buildSubject } from './stanza/message-out.ts';

/**
 * A linked room's subject (XEP-0045 §8.1) as the canonical `topic`, both ways. The last subject
 * known per room is kept in the bus state (`subject:<room>`): a room sends its subject to every
 * occupant that joins (§7.2.15), which is no change, but tells what changed while the bridge was
 * away; and the relay's own change comes back from its nick, which says it was done.
 */

/**
 * What a subject message of a linked room (the relay's copy) is to the bridge:
 * - archived: read in an archive catch-up: an old state, not news (the join's subject is the current one);
 * - echo: from one of our occupants (the relay set it for another network): stored, not news;
 * - unchanged: the subject known already;
 * - initial: the room's subject at the relay's join and none known (a newly linked room): stored
 *   only, so that linking a room does not overwrite the other networks' topics;
 * - changed: a change to publish (a live one, or one made while the bridge was away, seen at the join).
 */
export type SubjectNews = 'archived' | 'echo' | 'unchanged' | 'initial' | 'changed';

export function subjectNews(s: { source: 'live' | 'archive'; atJoin: boolean; ours: boolean; known: string | undefined; text: string }): SubjectNews {
  if (s.source === 'archive') return 'archived';
  if (s.ours) return 'echo';
  if (s.known === s.text) return 'unchanged';
  if (s.atJoin && s.known === undefined) return 'initial';
  return 'changed';
}

/**
 * The subjects known per room (bus state, shared by the instances: a takeover knows them), and
 * the relay's change under way per room (for the component stream in hand).
 */
export class RoomSubjects {
  private readonly pending = new Map<string, { originId: string; text: string }>();

  constructor(private readonly state: StateStore) {}

  known(room: string): Promise<string | undefined> {
    return this.state.get(roomStateKey('subject', room));
  }

  remember(room: string, text: string): Promise<void> {
    return this.state.set(roomStateKey('subject', room), text);
  }

  /** The room is unlinked: its subject is forgotten, so linking it again is a first link (topics of a newly linked room). */
  async forgetRoom(room: string): Promise<void> {
    this.pending.delete(room);
    await this.state.delete(roomStateKey('subject', room));
  }

  /** The relay asked the room to set this subject (under this origin-id). */
  asked(room: string, originId: string, text: string): void {
    this.pending.set(room, { originId, text });
  }

  /** The room broadcast the relay's subject: the origin-id of the change it answers, if one waits. */
  broadcast(room: string, text: string): string | undefined {
    const p = this.pending.get(room);
    if (p?.text !== text) return undefined;
    this.pending.delete(room);
    return p.originId;
  }

  /** The change is over (done, refused or failed). */
  forget(room: string, originId: string): void {
    if (this.pending.get(room)?.originId === originId) this.pending.delete(room);
  }
}

/** How the relay's subject changes went (for the metrics). */
export type TopicOutcome = 'set' | 'unchanged' | 'not_done' | 'failed';

export interface TopicDeps {
  /** The relay's occupant JID: it sets the subject (its role, or the room's configuration, must let it). */
  relayJid: string;
  /** The relay in the room, joined (it is, but for a moment after a reconnect). */
  relayIn(room: string): Promise<string>;
  send(el: Element): Promise<void>;
  /** Where the room's answer is waited for: its broadcast from the relay's nick, or its error. */
  reflections: Reflections;
  reflectionTimeoutMs: number;
  originIds: OriginIds;
  subjects: RoomSubjects;
  onTopic(outcome: TopicOutcome): void;
  logger: Logger;
}

/**
 * A `topic` from another network: the relay sets the room's subject and waits for the room's
 * answer. Its broadcast from the relay's nick: done (the inbound side stores it). An error (the
 * relay is no moderator and the room does not let occupants change the subject): not done,
 * logged and counted, not retried (a retry would be refused alike, holding up every room's
 * deliveries meanwhile): `refused`, and the caller tells the room's occupants otherwise. A timeout or a lost stream throws: the bus retries it. A subject the room
 * has already is not sent (Prosody broadcasts nothing when its setter sets it again: it would
 * look like a timeout).
 */
export async function setRoomSubject(deps: TopicDeps, room: string, event: EventOfKind<'topic'>): Promise<'set' | 'unchanged' | 'refused'> {
  await deps.relayIn(room);
  if (await deps.subjects.known(room) === event.text) {
    deps.onTopic('unchanged');
    return 'unchanged';
  }
  const originId = deps.originIds.of(event.id);
  const answered = deps.reflections.expect(originId, room, deps.reflectionTimeoutMs);
  deps.subjects.asked(room, originId, event.text);
  try {
    await deps.send(buildSubject({ from: deps.relayJid, to: room, type: 'groupchat', originId }, event.text))
      .catch((err: Error) => deps.reflections.failed(originId, err));
    await answered;
  } catch (err) {
    if (!(err instanceof RoomAnswerError)) {
      deps.onTopic('failed');
      throw err;
    }
    deps.onTopic('not_done');
    deps.logger.warn({ room, event: event.id, condition: err.condition },
      'the room refused the relay\'s subject change: the topic was not set there (its occupants get a notice instead). The bridge\'s address must be the room\'s moderator (admin or owner), or the room must let occupants change the subject (muc#roomconfig_changesubject)');
    return 'refused';
  } finally {
    deps.subjects.forget(room, originId);
  }
  deps.onTopic('set');
  deps.logger.info({ room, event: event.id }, 'room subject set for another network\'s topic');
  return 'set';
}
