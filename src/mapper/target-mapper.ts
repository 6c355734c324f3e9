import { performance } from 'node:perf_hooks';
import type { Capabilities } from '../core/capabilities.ts';
import { endpointKey, type Endpoint } from '../core/endpoint.ts';
import type { CanonicalEvent } from '../core/event.ts';
import type { EventId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Delivery, DeliveryHandler, IdMap } from '../bus/types.ts';
import type { MediaLinks } from './attachments.ts';
import type { Clock } from './clock.ts';
import { Coalescer, type CoalescerTx, type StateChange } from './coalescer.ts';
import type { IdentityResolver } from './identities.ts';
import type { MapperMetrics } from './metrics.ts';
import { PresenceAggregate } from './presence-aggregate.ts';
import type { PresenceStates } from './presence-states.ts';
import type { RecentBatch, RecentMessages } from './recent-messages.ts';
import { rewriteEvent, type Degrade, type Reference, type RewriteContext } from './rewrite.ts';
import type { MapperSettings, MapperTables } from './tables.ts';
import type { MappedDelivery } from './types.ts';

/** What every target mapper shares: the tables in force (swapped whole on reload) and the process's services. */
export interface MapperCore {
  current(): { readonly tables: MapperTables; readonly resolver: IdentityResolver; readonly presence: PresenceStates };
  readonly recent: RecentMessages;
  readonly settings: MapperSettings;
  readonly metrics: MapperMetrics;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly idMap: IdMap;
  readonly links: MediaLinks;
}

/** How long a final flush at close may take: the connector may already be going. */
const CLOSE_FLUSH_MS = 2_000;

/**
 * The mapper in front of one connector's egress handler. Each batch the bus hands over is
 * rewritten delivery by delivery for the connector's capabilities, state changes go through the
 * coalescer, and the result is handed to the connector's handler in the same order. The
 * handler's failure fails the batch as before (the bus retries it in place) and the mapper's
 * state changes of that batch are discarded, so the retry is mapped the same way.
 *
 * Batches and the coalescer's window flushes (timers) run one at a time, in one chain: the
 * connector never sees two calls of its handler at once.
 */
export class TargetMapper {
  private readonly coalescer: Coalescer;
  private readonly aggregate: PresenceAggregate;
  private readonly timers = new Map<string, () => void>();
  private readonly announced = new Set<string>();
  private readonly log: Logger;
  private chain: Promise<void> = Promise.resolve();
  private handler: DeliveryHandler | undefined;
  private closed = false;

  constructor(readonly network: string, readonly capabilities: Capabilities, private readonly core: MapperCore) {
    this.coalescer = new Coalescer(() => core.current().tables.coalesceMs, core.settings.maxTrackedStates);
    this.aggregate = new PresenceAggregate(core.settings.maxTrackedStates);
    this.log = core.logger.child({ mapper: network });
  }

  /** The connector's handler with the mapper in front of it. */
  wrap(handler: DeliveryHandler): DeliveryHandler {
    this.handler = handler;
    this.closed = false;
    return (deliveries) => this.serial(() => this.deliverBatch(deliveries, handler));
  }

  /** Resolves when everything queued so far (batches, window flushes) is done. */
  idle(): Promise<void> {
    return this.chain;
  }

  /**
   * Stops the window timers and hands what still waits to the connector once (the last state must
   * arrive, also at a graceful shutdown), bounded in time: a connector that is going may refuse it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
    const handler = this.handler;
    if (!handler) return;
    const flush = this.serial(async () => {
      const tx = this.coalescer.begin(this.core.clock.now());
      const out = this.coalescer.openEndpoints().flatMap((endpoint) => tx.flush(endpoint, false));
      if (out.length > 0) await handler(out.map((c) => c.delivery));
      this.commit(tx, []);
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), CLOSE_FLUSH_MS); });
    const outcome = await Promise.race([flush.then(() => 'done' as const, (err: unknown) => err), timeout]);
    clearTimeout(timer);
    if (outcome !== 'done') this.log.warn({ err: outcome === 'timeout' ? undefined : outcome }, 'mapper: the waiting presence updates could not be handed over at close');
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work);
    // The chain goes on after a failure; the failure itself reaches the caller (the bus retries the batch).
    this.chain = run.catch(() => {});
    return run;
  }

  private async deliverBatch(deliveries: readonly Delivery[], handler: DeliveryHandler): Promise<void> {
    const started = performance.now();
    const tx = this.coalescer.begin(this.core.clock.now());
    const recent = this.core.recent.batch();
    const degraded: Degrade[] = [];
    const out = await this.mapBatch(deliveries, tx, recent, degraded);
    this.core.metrics.batchSeconds.observe({ target: this.network }, (performance.now() - started) / 1_000);
    if (out.length > 0) await handler(out);
    recent.commit();
    this.commit(tx, degraded);
  }

  /** Rewrites a batch. Exposed for the presence-storm bench and tests, which drive it without a bus. */
  async mapBatch(deliveries: readonly Delivery[], tx: CoalescerTx, recent: RecentBatch, degraded: Degrade[]): Promise<MappedDelivery[]> {
    const { resolver, presence } = this.core.current();
    const native = this.capabilities.nativeIds === true ? await this.resolveReferences(deliveries) : undefined;
    // Messages of this batch already handed on: a reference to one of them is resolved by the connector once it sent it.
    const earlier = new Set<string>();
    const ctx: RewriteContext = {
      network: this.network, caps: this.capabilities, resolver, presence, aggregate: this.aggregate,
      recent, quoteChars: this.core.settings.quoteChars, links: this.core.links,
      reference: (id, target) => this.reference(id, target, native, earlier, recent),
    };
    const out: MappedDelivery[] = [];
    for (const delivery of deliveries) {
      const { event, target, cursor } = delivery;
      const rewrite = rewriteEvent(event, target, ctx);
      recent.observe(event);
      let how: string[] | undefined;
      if (rewrite.degraded.length > 0) {
        degraded.push(...rewrite.degraded);
        how = rewrite.degraded.map((d) => `${d.kind}:${d.how}`);
      }
      const key = endpointKey(target);
      if (rewrite.type === 'drop') continue;
      if (rewrite.type === 'state') {
        const mapped: MappedDelivery = { event: rewrite.event, target, cursor, mapped: how ? { ...rewrite.hints, degraded: how } : rewrite.hints };
        for (const change of tx.offer({ endpoint: key, key: rewrite.key, fingerprint: rewrite.fingerprint, delivery: mapped })) out.push(change.delivery);
        continue;
      }
      // Waiting state changes of this endpoint go first: they are earlier in its stream.
      for (const change of tx.flush(key, false)) out.push(change.delivery);
      const count = rewrite.parts.length;
      for (let index = 0; index < count; index++) {
        const part = rewrite.parts[index] as CanonicalEvent;
        const hints = count === 1 && !how ? rewrite.hints : { ...rewrite.hints, ...(count > 1 ? { part: { index, count } } : {}), ...(how ? { degraded: how } : {}) };
        out.push({ event: part, target, cursor, mapped: hints });
      }
      if (native && event.kind === 'message') earlier.add(`${key}\0${event.id}`);
    }
    return out;
  }

  private reference(id: EventId, target: Endpoint, native: Map<string, string> | undefined, earlier: Set<string>, recent: RecentBatch): Reference {
    if (this.capabilities.nativeIds !== true) return { resolvable: true }; // it addresses messages by canonical id
    const key = `${endpointKey(target)}\0${id}`;
    const found = native?.get(key);
    if (found !== undefined) return { resolvable: true, native: found };
    if (earlier.has(key)) return { resolvable: true };
    // A message that came from this very endpoint has its native id in its origin.
    const original = recent.get(id);
    if (original?.origin.nativeId !== undefined && original.origin.connector === target.connector && original.origin.endpoint === target.address) {
      return { resolvable: true, native: original.origin.nativeId };
    }
    return { resolvable: false };
  }

  /** One id-map lookup per distinct reference of the batch, all at once. */
  private async resolveReferences(deliveries: readonly Delivery[]): Promise<Map<string, string>> {
    const wanted = new Map<string, { id: EventId; target: Endpoint }>();
    for (const { event, target } of deliveries) {
      for (const id of referencesOf(event)) wanted.set(`${endpointKey(target)}\0${id}`, { id, target });
    }
    const found = new Map<string, string>();
    await Promise.all([...wanted].map(async ([key, { id, target }]) => {
      const native = await this.core.idMap.nativeOf(id, target);
      if (native !== undefined) found.set(key, native);
    }));
    return found;
  }

  private commit(tx: CoalescerTx, degraded: readonly Degrade[]): void {
    const windows = tx.commit();
    const all = tx.outcomes.length === 0 ? degraded : [...degraded, ...tx.outcomes.map(({ change, outcome }) => ({ kind: change.delivery.event.kind, how: outcome }))];
    for (const { kind, how } of all) {
      this.core.metrics.degraded.inc({ target: this.network, kind, how });
      const label = `${kind}:${how}`;
      if (!this.announced.has(label)) {
        this.announced.add(label);
        this.log.info({ kind, how }, 'mapper: first event of this kind degraded this way for this connector (all are counted in switchboard_mapper_degraded_total)');
      }
    }
    for (const endpoint of windows) this.arm(endpoint);
  }

  /** A timer for the end of an endpoint's window (one per endpoint). */
  private arm(endpoint: string): void {
    if (this.closed || this.timers.has(endpoint)) return;
    const end = this.coalescer.windowEnd(endpoint);
    if (end === undefined) return;
    const cancel = this.core.clock.schedule(() => {
      this.timers.delete(endpoint);
      void this.serial(() => this.endWindow(endpoint)).catch(() => {});
    }, Math.max(0, end - this.core.clock.now()));
    this.timers.set(endpoint, cancel);
  }

  /** The end of an endpoint's window: what waits goes out (and opens the next window), or the window closes. */
  private async endWindow(endpoint: string): Promise<void> {
    const handler = this.handler;
    const end = this.coalescer.windowEnd(endpoint);
    if (this.closed || !handler || end === undefined) return;
    const now = this.core.clock.now();
    if (now < end) { this.arm(endpoint); return; } // extended meanwhile
    const tx = this.coalescer.begin(now);
    const out: StateChange[] = tx.flush(endpoint, true);
    if (out.length > 0) {
      try {
        await handler(out.map((c) => c.delivery));
      } catch (err) {
        // Kept waiting, tried again a window later (or ahead of the endpoint's next delivery).
        this.log.warn({ err, endpoint, updates: out.length }, 'mapper: waiting presence updates could not be delivered; retrying');
        const retry = this.core.clock.schedule(() => {
          this.timers.delete(endpoint);
          void this.serial(() => this.endWindow(endpoint)).catch(() => {});
        }, Math.max(100, this.core.current().tables.coalesceMs));
        this.timers.set(endpoint, retry);
        return;
      }
    }
    this.commit(tx, []); // re-opens the window when something went out, and arms its timer
    if (out.length === 0) this.coalescer.closeIfIdle(endpoint);
  }
}

function referencesOf(event: CanonicalEvent): EventId[] {
  switch (event.kind) {
    case 'message': return [event.replyTo, event.thread].filter((id): id is EventId => id !== undefined);
    case 'edit': case 'retract': case 'reaction': case 'receipt': return [event.target];
    default: return [];
  }
}
