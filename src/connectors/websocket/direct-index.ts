import type { Delivery, StateStore } from '../../bus/types.ts';
import { isDirectRoom } from '../../core/direct.ts';
import type { Logger } from '../../core/logger.ts';
import { KeyedLock } from '../../core/keyed-lock.ts';
import { valueWithin } from '../../core/within.ts';
import { addressFor } from './direct.ts';
import { CONNECTOR } from './inbound.ts';

/**
 * Which direct chats each token has, most recently active first: what `hello.directChats` lists,
 * so a client that was away learns of a chat someone began meanwhile (it then joins it with
 * `since: null`, or with the cursor it kept). Kept in the bus state (namespace `websocket`, key
 * `dm-chats:<token>`), so it survives restarts and every instance reads the same.
 *
 * Written only from the egress path (one consumer in the cluster), never from the fan-in of other
 * instances, and off the delivery's path: a write is queued per token and never awaited there.
 * Each write reads the list afresh first, so a consumer that changed hands writes no stale list.
 */

/** Chats listed per token at most (the least recently active are dropped from the list, not from the streams). */
export const MAX_LISTED_CHATS = 100;
/** Tokens whose first-listed chat is remembered here (to skip writes that would change nothing). */
const MAX_CACHED_TOKENS = 10_000;
/** A hello does not wait longer than this for the list (a stalled store must not hold up connections). */
const LIST_TIMEOUT_MS = 2_000;

function keyOf(user: string): string {
  return `dm-chats:${user}`;
}

function parseList(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').slice(0, MAX_LISTED_CHATS) : [];
  } catch {
    return [];
  }
}

export class DirectIndex {
  /** Per token: the chat last written at the head of its list. */
  private readonly heads = new Map<string, string>();
  /** A token's writes, one after the other (each reads the list the one before wrote). */
  private readonly writes = new KeyedLock();

  constructor(private readonly state: StateStore, private readonly logger: Logger) {}

  /** A token's chats (WS room names `@<network>:<id>`), most recently active first; empty when the store does not answer in time. */
  async list(user: string): Promise<string[]> {
    try {
      return parseList(await valueWithin(this.state.get(keyOf(user)), LIST_TIMEOUT_MS));
    } catch (err) {
      this.logger.warn({ user, err: (err as Error).message }, 'could not read a token\'s direct chats for its hello');
      return [];
    }
  }

  /** Notes the direct chats of a batch of deliveries (egress path only). Never throws, never waits. */
  record(deliveries: readonly Delivery[]): void {
    for (const { event, target } of deliveries) {
      if (target.connector !== CONNECTOR || !isDirectRoom(event.room)) continue;
      const wsRoom = addressFor(target.address, event.room);
      if (wsRoom === undefined || this.heads.get(target.address) === wsRoom) continue;
      this.setHead(target.address, wsRoom);
      this.touch(target.address, wsRoom);
    }
  }

  /** Resolves when every queued write is done (tests, shutdown). */
  idle(): Promise<void> {
    return this.writes.idle();
  }

  private setHead(user: string, wsRoom: string): void {
    this.heads.delete(user);
    this.heads.set(user, wsRoom);
    if (this.heads.size > MAX_CACHED_TOKENS) this.heads.delete(this.heads.keys().next().value as string);
  }

  private touch(user: string, wsRoom: string): void {
    void this.writes.run(user, async () => {
      const list = parseList(await this.state.get(keyOf(user)));
      if (list[0] === wsRoom) return;
      const next = [wsRoom, ...list.filter((room) => room !== wsRoom)].slice(0, MAX_LISTED_CHATS);
      await this.state.set(keyOf(user), JSON.stringify(next));
    }).catch((err: unknown) => {
      this.heads.delete(user); // try again with the chat's next event
      this.logger.warn({ user, err: (err as Error).message }, 'could not note a direct chat for its token');
    });
  }
}
