import { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import { MAX_NOTE_BYTES, type Notes, type Stoppable } from '../types.ts';
import type { BusKeys } from './keys.ts';

/**
 * Notes over Redis pub/sub on `<prefix>:notes:<channel>`: published on the bus's command
 * connection, received on one subscriber connection of their own (opened at the first subscribe;
 * ioredis subscribes again after a reconnect). Best effort (see Notes): nothing is resent and
 * nothing is kept, so nothing needs a resync. Each note carries its sender's instance id, so an
 * instance drops its own.
 */
export class RedisNotes implements Notes {
  readonly #listeners = new Map<string, Set<(note: string) => void>>();
  /** Each channel's SUBSCRIBE, settled once the subscriber connection listens on it (listening()). */
  readonly #subscribed = new Map<string, Promise<void>>();
  #sub: Redis | undefined;
  #closed = false;

  constructor(private readonly url: string, private readonly keys: BusKeys, private readonly instanceId: string,
    private readonly redis: Redis, private readonly logger: Logger) {}

  async publish(channel: string, note: string): Promise<void> {
    if (Buffer.byteLength(note) > MAX_NOTE_BYTES) throw new Error(`a note of more than ${MAX_NOTE_BYTES} bytes`);
    await this.redis.publish(this.keys.notes(channel), JSON.stringify({ from: this.instanceId, note }));
  }

  subscribe(channel: string, onNote: (note: string) => void): Stoppable {
    if (this.#closed) throw new Error('bus is closed');
    const key = this.keys.notes(channel);
    let set = this.#listeners.get(key);
    if (set === undefined) {
      this.#listeners.set(key, set = new Set());
      this.#subscribed.set(key, this.#connection().subscribe(key).then(() => undefined, (err: unknown) => {
        this.logger.warn({ err, channel }, 'notes: subscribe failed');
        throw err;
      }));
      this.#subscribed.get(key)?.catch(() => undefined);
    }
    set.add(onNote);
    return {
      close: async () => {
        const current = this.#listeners.get(key);
        current?.delete(onNote);
        if (current?.size !== 0) return;
        this.#listeners.delete(key);
        this.#subscribed.delete(key);
        await this.#sub?.unsubscribe(key).catch(() => undefined);
      },
    };
  }

  /**
   * Resolves once notes published on `channel` reach this subscriber (after subscribe(channel)),
   * for one that must not miss the answers to what it publishes next (`switchboard reload`).
   */
  async listening(channel: string): Promise<void> {
    const pending = this.#subscribed.get(this.keys.notes(channel));
    if (pending === undefined) throw new Error(`notes: not subscribed to ${channel}`);
    await pending;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await this.#sub?.quit().catch(() => this.#sub?.disconnect());
  }

  #connection(): Redis {
    if (this.#sub !== undefined) return this.#sub;
    const sub = new Redis(this.url, { maxRetriesPerRequest: null });
    sub.on('error', (err) => this.logger.warn({ err }, 'notes subscriber connection error'));
    sub.on('message', (key: string, raw: string) => this.#onMessage(key, raw));
    this.#sub = sub;
    return sub;
  }

  #onMessage(key: string, raw: string): void {
    const set = this.#listeners.get(key);
    if (set === undefined || set.size === 0) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      this.logger.warn({ channel: key }, 'notes: a message that is not JSON, dropped');
      return;
    }
    const { from, note } = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    if (typeof from !== 'string' || typeof note !== 'string') {
      this.logger.warn({ channel: key }, 'notes: a message without sender or note, dropped');
      return;
    }
    if (from === this.instanceId) return;
    for (const l of set) {
      try {
        l(note);
      } catch (err) {
        this.logger.error({ err, channel: key }, 'notes: a listener failed');
      }
    }
  }
}
