import type { Bus, StateStore } from '../bus/types.ts';
import { validateEvent, type EventOfKind } from '../core/event.ts';
import type { Logger } from '../core/logger.ts';
import { KeyedLock } from '../core/keyed-lock.ts';
import { valueWithin } from '../core/within.ts';

/**
 * The current topic of each canonical room: its last `topic` event, whichever network set it.
 * What a WS `join` answers (`joined.topic`), what an MTProto group newly linked to the room shows
 * as its description, and what tells an XMPP room's first-seen subject whether the room already
 * has a topic (topics.ts). Kept in the bus state (namespace `rooms`, key `topic:<room>`), so it
 * survives restarts and every instance reads the same.
 *
 * Written by the connector that published the topic, once the bus took it (every topic has
 * exactly one publisher, and the record is there whatever endpoints the room has), off the
 * caller's path: a write is queued per room and never awaited there. A write that finds a newer
 * topic stored (another instance's, or a slower writer's) leaves it: ids are ULIDs, later is larger.
 */

export const ROOM_STATE_NAMESPACE = 'rooms';

/** A reader does not wait longer than this (a stalled store must not hold up a join or a call). */
const READ_TIMEOUT_MS = 2_000;

export type TopicEvent = EventOfKind<'topic'>;

function keyOf(room: string): string {
  return `topic:${room}`;
}

function parseTopic(text: string | undefined): TopicEvent | undefined {
  if (text === undefined) return undefined;
  try {
    const checked = validateEvent(JSON.parse(text));
    return checked.ok && checked.event.kind === 'topic' ? checked.event : undefined;
  } catch {
    return undefined;
  }
}

export class RoomTopics {
  /** A room's writes, one after the other (each reads what the one before wrote). */
  private readonly writes = new KeyedLock();

  constructor(private readonly state: StateStore, private readonly logger: Logger) {}

  /** The room topics of the bus this connector runs on. */
  static of(bus: Bus, logger: Logger): RoomTopics {
    return new RoomTopics(bus.state(ROOM_STATE_NAMESPACE), logger);
  }

  /** The room's current topic event; undefined when it never had one, or the store does not answer in time. */
  async of(room: string): Promise<TopicEvent | undefined> {
    try {
      return parseTopic(await valueWithin(this.state.get(keyOf(room)), READ_TIMEOUT_MS));
    } catch (err) {
      this.logger.warn({ room, err: (err as Error).message }, 'could not read a room\'s topic');
      return undefined;
    }
  }

  /** Notes a topic the bus took (its publisher's). Never throws, never waits. */
  record(event: TopicEvent): void {
    const room = event.room;
    void this.writes.run(room, async () => {
      const stored = parseTopic(await this.state.get(keyOf(room)));
      if (stored !== undefined && stored.id >= event.id) return;
      await this.state.set(keyOf(room), JSON.stringify(event));
    }).catch((err: unknown) => {
      this.logger.warn({ room, err: (err as Error).message }, 'could not keep a room\'s topic; it shows the one before until the next');
    });
  }

  /** Resolves when every queued write is done (tests, shutdown). */
  idle(): Promise<void> {
    return this.writes.idle();
  }
}
