import type { Delivery, StateStore } from '../../bus/types.ts';
import { validateEvent, type EventOfKind } from '../../core/event.ts';
import type { Logger } from '../../core/logger.ts';
import { CONNECTOR } from './inbound.ts';

/**
 * The current topic of each bridged room with a WS endpoint: the last `topic` event delivered to
 * it, which `joined` carries, as an XMPP room sends its subject on a join and an MTProto group has
 * its description. Kept in the bus state (namespace `websocket`, key `topic:<room>`), so it
 * survives restarts and every instance reads the same.
 *
 * Written only from the egress path (one consumer in the cluster) and off the delivery's path: a
 * write is queued per room and never awaited there. A write that finds a newer topic stored (a
 * consumer that changed hands) leaves it.
 */

/** A join does not wait longer than this for the topic (a stalled store must not hold up joins). */
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
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly state: StateStore, private readonly logger: Logger) {}

  /** The room's current topic event; undefined when it never had one, or the store does not answer in time. */
  async of(room: string): Promise<TopicEvent | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), READ_TIMEOUT_MS); });
    try {
      return parseTopic(await Promise.race([this.state.get(keyOf(room)), timeout]));
    } catch (err) {
      this.logger.warn({ room, err: (err as Error).message }, 'could not read a room\'s topic for a join');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Notes the topics of a batch of deliveries (egress path only). Never throws, never waits. */
  record(deliveries: readonly Delivery[]): void {
    for (const { event, target } of deliveries) {
      if (target.connector !== CONNECTOR || event.kind !== 'topic') continue;
      this.write(event);
    }
  }

  /** Resolves when every queued write is done (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private write(event: TopicEvent): void {
    const room = event.room;
    const previous = this.chains.get(room) ?? Promise.resolve();
    const next = previous.then(async () => {
      const stored = parseTopic(await this.state.get(keyOf(room)));
      // Ids are ULIDs: later is larger. The same event again (another WS endpoint of the room) changes nothing.
      if (stored !== undefined && stored.id >= event.id) return;
      await this.state.set(keyOf(room), JSON.stringify(event));
    }).catch((err: unknown) => {
      this.logger.warn({ room, err: (err as Error).message }, 'could not keep a room\'s topic; a join shows the one before until the next');
    }).finally(() => {
      if (this.chains.get(room) === next) this.chains.delete(room);
    });
    this.chains.set(room, next);
  }
}
