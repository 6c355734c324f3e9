import { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.ts';
import type { Delivery, Fanout, Stoppable } from '../types.ts';
import type { BusKeys } from './keys.ts';
import { parseDelivery } from './parse-delivery.ts';

/** A publish that gets no answer in this time counts as failed, so a hung connection can't hold up egress. */
const PUBLISH_TIMEOUT_MS = 5_000;
/**
 * How long a follower's registration lasts; it is renewed every quarter of it. Generous, because
 * it is compared with the routing instance's clock: clocks may differ by up to about 3/4 of it.
 */
const MEMBER_TTL_MS = 60_000;

interface Listener {
  readonly onDeliveries: (deliveries: readonly Delivery[], fromInstance: string) => void;
  readonly onResync: () => void;
}

/** What travels on a fan-out channel. `resync`: the publisher lost an earlier message of this channel. */
interface Message {
  readonly from: string;
  readonly resync?: true;
  readonly deliveries: readonly Delivery[];
}

/**
 * Fanout over Redis pub/sub on `<prefix>:fanout:<channel>`. Publishes go over the bus's command
 * connection; subscriptions share one dedicated connection (a subscribed connection can do nothing
 * else). Pub/sub keeps nothing for a disconnected subscriber, so we resubscribe ourselves on every
 * 'ready' and only then call onResync: a stream read that starts after the SUBSCRIBE is confirmed
 * sees everything published before it, and pub/sub brings everything after.
 */
export class RedisFanout implements Fanout {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Channels whose last publish failed: the next message tells subscribers to resync. */
  private readonly lost = new Set<string>();
  private sub: Redis | undefined;
  private closed = false;
  /** How every message this instance publishes begins (`from` is written first): its own come back and are dropped unparsed. */
  private readonly ownPrefix: string;
  private renewTimer: NodeJS.Timeout | undefined;
  /** Date.now() of the last successful registration (0: never). */
  private registeredAt = 0;

  constructor(private readonly url: string, private readonly keys: BusKeys, private readonly instanceId: string,
    private readonly redis: Redis, private readonly logger: Logger,
    /**
     * True when nobody else can need a publish: this instance routes, and the last append it made
     * found no other follower registered (see append-script.ts for why that is safe).
     */
    private readonly nobodyElseFollows: () => boolean,
    private readonly onPublish: (outcome: 'sent' | 'skipped' | 'failed') => void) {
    this.ownPrefix = `${JSON.stringify({ from: instanceId }).slice(0, -1)},`;
  }

  async publish(channel: string, deliveries: readonly Delivery[]): Promise<void> {
    if (this.nobodyElseFollows()) {
      this.onPublish('skipped');
      return;
    }
    const key = this.keys.fanout(channel);
    const message: Message = { from: this.instanceId, ...(this.lost.has(key) ? { resync: true as const } : {}), deliveries };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.redis.publish(key, JSON.stringify(message)),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`fan-out publish timed out after ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS); }),
      ]);
      this.lost.delete(key);
      this.onPublish('sent');
    } catch (err) {
      this.lost.add(key);
      this.onPublish('failed');
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  subscribe(channel: string, onDeliveries: Listener['onDeliveries'], onResync: () => void): Stoppable {
    if (this.closed) throw new Error('bus is closed');
    const key = this.keys.fanout(channel);
    const listener: Listener = { onDeliveries, onResync };
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, set = new Set());
    set.add(listener);
    const sub = this.connection();
    // Not ready yet: the 'ready' handler subscribes every channel, this one included.
    if (sub.status === 'ready') void this.subscribeAll(sub, [key]);
    return {
      close: async () => {
        const current = this.listeners.get(key);
        current?.delete(listener);
        if (current?.size !== 0) return;
        this.listeners.delete(key);
        if (this.sub?.status === 'ready') await this.sub.unsubscribe(key).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.registeredAt > 0) await this.redis.zrem(this.keys.fanoutMembers, this.instanceId).catch(() => undefined);
    await this.sub?.quit().catch(() => this.sub?.disconnect());
  }

  /**
   * Registers this instance as a follower (before it subscribes: see append-script.ts), and keeps
   * the registration alive. A registration that lapsed (Redis away longer than its ttl) may have
   * let the routing instance skip publishes meant for us: renewing it then triggers a resync.
   */
  private async register(): Promise<void> {
    const now = Date.now();
    const replies = await this.redis.multi()
      .zremrangebyscore(this.keys.fanoutMembers, '-inf', now) // the expired registrations of instances long gone
      .zadd(this.keys.fanoutMembers, now + MEMBER_TTL_MS, this.instanceId)
      .exec();
    const failed = replies?.find(([err]) => err)?.[0];
    if (!replies || failed) throw failed ?? new Error('fan-out registration was not executed');
    const lapsed = this.registeredAt > 0 && now - this.registeredAt >= MEMBER_TTL_MS;
    this.registeredAt = now;
    if (lapsed) {
      this.logger.warn('fan-out registration had lapsed: resyncing');
      for (const set of this.listeners.values()) for (const l of set) this.resync(l);
    }
    if (!this.renewTimer) {
      this.renewTimer = setInterval(() => {
        if (this.closed || this.listeners.size === 0) return;
        this.register().catch((err: unknown) => this.logger.warn({ err }, 'fan-out registration renewal failed'));
      }, MEMBER_TTL_MS / 4);
      this.renewTimer.unref();
    }
  }

  private connection(): Redis {
    if (this.sub) return this.sub;
    // autoResubscribe off: we resubscribe on 'ready' ourselves, to know when it is confirmed.
    const sub = new Redis(this.url, { autoResubscribe: false, maxRetriesPerRequest: null });
    sub.on('error', (err) => this.logger.warn({ err }, 'fan-out subscriber connection error'));
    sub.on('close', () => { if (!this.closed) this.logger.warn('fan-out subscriber disconnected: live events from other instances wait for the resync'); });
    sub.on('ready', () => { void this.subscribeAll(sub, [...this.listeners.keys()]); });
    sub.on('message', (key: string, raw: string) => this.onMessage(key, raw));
    this.sub = sub;
    return sub;
  }

  /** SUBSCRIBE, then (confirmed) tell each listener it may have missed something. A failure waits for the next 'ready'. */
  private async subscribeAll(sub: Redis, keys: readonly string[]): Promise<void> {
    if (keys.length === 0 || this.closed) return;
    try {
      await this.register();
      await sub.subscribe(...keys);
    } catch (err) {
      this.logger.warn({ err }, 'fan-out subscribe failed; retried when the connection is back');
      return;
    }
    for (const key of keys) for (const l of this.listeners.get(key) ?? []) this.resync(l);
  }

  private onMessage(key: string, raw: string): void {
    const set = this.listeners.get(key);
    if (!set || set.size === 0) return;
    if (raw.startsWith(this.ownPrefix)) return; // delivered here before it was published
    const message = parseMessage(raw);
    if (typeof message === 'string') {
      // The stream has what this message carried: catch up from there rather than guess.
      this.logger.error({ channel: key, reason: message }, 'unreadable fan-out message: resyncing');
      for (const l of set) this.resync(l);
      return;
    }
    if (message.from === this.instanceId) return; // delivered here before it was published
    for (const l of set) {
      if (message.resync) this.resync(l);
      try {
        l.onDeliveries(message.deliveries, message.from);
      } catch (err) {
        this.logger.error({ err, channel: key }, 'fan-out listener failed');
      }
    }
  }

  private resync(listener: Listener): void {
    try {
      listener.onResync();
    } catch (err) {
      this.logger.error({ err }, 'fan-out resync failed');
    }
  }
}

function parseMessage(raw: string): Message | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return 'not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null) return 'not an object';
  const { from, resync, deliveries } = parsed as Record<string, unknown>;
  if (typeof from !== 'string') return 'no sender';
  if (!Array.isArray(deliveries)) return 'no deliveries';
  const out: Delivery[] = [];
  for (const item of deliveries as unknown[]) {
    const d = parseDelivery(item);
    if (typeof d === 'string') return `bad delivery: ${d}`;
    out.push(d);
  }
  return { from, ...(resync === true ? { resync: true as const } : {}), deliveries: out };
}
