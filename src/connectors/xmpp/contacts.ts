import { createHash } from 'node:crypto';
import type { StateStore } from '../../bus/types.ts';
import type { Logger } from '../../core/logger.ts';
import type { CanonicalPresenceState } from './stanza/presence.ts';

/**
 * What the component remembers of XMPP users and puppets in direct chats, in the bus state
 * (`xmpp` namespace, so it survives a restart and moves with the component lease):
 *
 * - **subscriptions**: who subscribed to which puppet's presence (RFC 6121 §3). One entry holds
 *   them all (the state store cannot list keys), bounded by MAX_SUBSCRIPTIONS and
 *   MAX_SUBSCRIPTIONS_PER_USER: after a restart each subscriber is sent its puppets' presence again.
 * - **chats**: which user and puppet have exchanged messages (for 30 days after the last one):
 *   a puppet's presence goes only to users subscribed to it or chatting with it.
 * - **presence**: the last presence a person showed in their chat with a user, sent again on a
 *   subscription, a probe or a restart.
 *
 * Only the holder of the component lease writes (one writer); a new holder reads it afresh.
 */

export interface ShownPresence {
  readonly state: CanonicalPresenceState;
  readonly status?: string;
}

const SUBSCRIPTIONS_KEY = 'dm-subscriptions';
/** Subscriptions kept at most: one state value of about 100 bytes each stays well under the store's 1 MiB. */
export const MAX_SUBSCRIPTIONS = 5_000;
/** Subscriptions of one user kept at most: nobody fills the table for everyone. */
export const MAX_SUBSCRIPTIONS_PER_USER = 200;
const CHAT_MARK_MS = 30 * 24 * 3_600_000;
/** Pairs whose chat mark is cached in memory at most. */
const MAX_CACHED_CHATS = 100_000;

/** A state key for a pair of JIDs, hashed when the JIDs would pass the store's key limit. */
function pairKey(prefix: string, a: string, b: string): string {
  const raw = `${prefix}:${a}|${b}`;
  return raw.length <= 400 ? raw : `${prefix}#${createHash('sha256').update(`${a}\u0000${b}`).digest('hex')}`;
}

function isShownPresence(value: unknown): value is ShownPresence {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['available', 'away', 'dnd', 'xa', 'offline'].includes(v['state'] as string) && (v['status'] === undefined || typeof v['status'] === 'string');
}

export class Contacts {
  private readonly subscriptions = new Map<string, readonly [string, string]>();
  private loading: Promise<void> | undefined;
  private writes: Promise<void> = Promise.resolve();
  private readonly chats = new Map<string, true>();

  private readonly perUser = new Map<string, number>();
  private readonly max: number;
  private readonly maxPerUser: number;

  constructor(private readonly state: StateStore, private readonly logger: Logger,
    limits: { maxSubscriptions?: number; maxPerUser?: number } = {}) {
    this.max = limits.maxSubscriptions ?? MAX_SUBSCRIPTIONS;
    this.maxPerUser = limits.maxPerUser ?? MAX_SUBSCRIPTIONS_PER_USER;
  }

  /** Reads the subscriptions (once; again after a failed read). Every change waits for it, so nothing persisted is overwritten. */
  load(): Promise<void> {
    this.loading ??= this.state.get(SUBSCRIPTIONS_KEY).then((text) => {
      if (text === undefined) return;
      let pairs: unknown;
      try { pairs = JSON.parse(text); } catch { pairs = []; }
      if (!Array.isArray(pairs)) return;
      for (const pair of pairs) {
        if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string' && this.subscriptions.size < this.max) {
          this.add(pair[0], pair[1]);
        }
      }
    }, (err: unknown) => {
      this.loading = undefined;
      throw err;
    });
    return this.loading;
  }

  /** Every (user, puppet) subscription, as loaded. */
  all(): readonly (readonly [string, string])[] {
    return [...this.subscriptions.values()];
  }

  isSubscribed(user: string, puppet: string): boolean {
    return this.subscriptions.has(`${user}\n${puppet}`);
  }

  /**
   * Records that `user` subscribed to `puppet`; false when the table (or the user's share of it)
   * is full: the subscription is still answered, but not remembered across a restart.
   */
  async subscribe(user: string, puppet: string): Promise<boolean> {
    await this.load();
    if (this.subscriptions.has(`${user}\n${puppet}`)) return true;
    if (this.subscriptions.size >= this.max || (this.perUser.get(user) ?? 0) >= this.maxPerUser) {
      this.logger.warn({ user, puppet, max: this.max, maxPerUser: this.maxPerUser }, 'presence subscriptions table full (or this user\'s share of it): this one is answered but not remembered across a restart');
      return false;
    }
    this.add(user, puppet);
    await this.persist();
    return true;
  }

  async unsubscribe(user: string, puppet: string): Promise<void> {
    await this.load();
    if (!this.subscriptions.delete(`${user}\n${puppet}`)) return;
    const n = (this.perUser.get(user) ?? 1) - 1;
    if (n > 0) this.perUser.set(user, n); else this.perUser.delete(user);
    await this.persist();
  }

  private add(user: string, puppet: string): void {
    const key = `${user}\n${puppet}`;
    if (this.subscriptions.has(key)) return;
    this.subscriptions.set(key, [user, puppet]);
    this.perUser.set(user, (this.perUser.get(user) ?? 0) + 1);
  }

  /** Writes the table as it is when the write runs: writes are chained, and a later one carries every earlier change. */
  private persist(): Promise<void> {
    const write = this.writes.then(() => this.state.set(SUBSCRIPTIONS_KEY, JSON.stringify(this.all())));
    this.writes = write.catch((err: unknown) => this.logger.warn({ err }, 'could not save the presence subscriptions'));
    return write;
  }

  /** The user and the puppet exchanged a message: the puppet's presence may now reach the user. */
  async markChat(user: string, puppet: string): Promise<void> {
    const key = pairKey('dm-chat', user, puppet);
    if (this.chats.get(key) === true) return;
    await this.state.set(key, '1', CHAT_MARK_MS);
    this.cacheChat(key);
  }

  async hasChat(user: string, puppet: string): Promise<boolean> {
    const key = pairKey('dm-chat', user, puppet);
    const cached = this.chats.get(key);
    if (cached === true) return true;
    const found = (await this.state.get(key)) !== undefined;
    if (found) this.cacheChat(key);
    return found;
  }

  private cacheChat(key: string): void {
    this.chats.delete(key);
    this.chats.set(key, true);
    if (this.chats.size > MAX_CACHED_CHATS) this.chats.delete(this.chats.keys().next().value as string);
  }

  /** Whether the puppet's presence may be sent to the user: subscribed, or chatting. */
  async mayShowPresence(user: string, puppet: string): Promise<boolean> {
    await this.load();
    return this.isSubscribed(user, puppet) || await this.hasChat(user, puppet);
  }

  /** The last presence the person behind `puppet` showed to `user`. */
  async presenceOf(puppet: string, user: string): Promise<ShownPresence | undefined> {
    const text = await this.state.get(pairKey('dm-presence', puppet, user));
    if (text === undefined) return undefined;
    try {
      const value: unknown = JSON.parse(text);
      return isShownPresence(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  async setPresence(puppet: string, user: string, presence: ShownPresence): Promise<void> {
    await this.state.set(pairKey('dm-presence', puppet, user), JSON.stringify(presence), CHAT_MARK_MS);
  }
}
