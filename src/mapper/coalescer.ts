import { compareCursors } from '../core/endpoint.ts';
import type { MappedDelivery } from './types.ts';

/** One change of a person's state (presence, typing, membership) on its way to one endpoint. */
export interface StateChange {
  /** The target endpoint's key. */
  readonly endpoint: string;
  /** Whose state, and which: `<kind>\0<person>`. */
  readonly key: string;
  /** What the target would show (state and status): equal fingerprints are no-ops. */
  readonly fingerprint: string;
  readonly delivery: MappedDelivery;
}

export type CoalesceOutcome = 'coalesced' | 'no_op';

interface Window {
  /** The window ends then: changes until then wait, and the last of each person is flushed. */
  until: number;
  readonly pending: Map<string, StateChange>;
}

/**
 * The state coalescing of one target connector: a burst of changes of one person becomes at most
 * one update per endpoint and window, no-op changes (what the endpoint already shows) are dropped,
 * and the last state always arrives.
 *
 * Windows are per endpoint, not per person: when an endpoint was quiet, a change goes out at once
 * and opens a window of `windowMs`; changes during the window wait (each person's last one
 * replaces their earlier ones), and when it ends those that differ from what the endpoint shows
 * go out together, in stream order, opening the next window. Per endpoint rather than per person
 * because the deliveries to one endpoint must keep their stream order (a hosted connector drops
 * anything at or before a session's last cursor): a person's trailing update can then never
 * arrive after a later update of someone else. For the same reason a waiting change goes out
 * before any other delivery (a message) to its endpoint, ahead of it.
 *
 * Changes are made in transactions that the caller commits only once the connector took the
 * batch: a batch that fails leaves no trace, so its retry decides the same way.
 *
 * The state is this process's memory. Only the egress-lease holder delivers to a connector, so
 * that is where it must be; after a takeover the new holder starts empty (see docs/mapper.md).
 */
export class Coalescer {
  private readonly last = new Map<string, string>();
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly windowMs: () => number,
    /** Bound of remembered (endpoint, person) states; the oldest are forgotten (at worst one repeated update). */
    private readonly maxTracked: number,
  ) {}

  begin(now: number): CoalescerTx {
    return new CoalescerTx(this, now, this.windowMs());
  }

  /** Endpoints whose window is open. */
  openEndpoints(): string[] {
    return [...this.windows.keys()];
  }

  /** When the window of an endpoint ends (undefined: none is open). */
  windowEnd(endpoint: string): number | undefined {
    return this.windows.get(endpoint)?.until;
  }

  /** Closes a window with nothing waiting (the timer found nothing to flush). */
  closeIfIdle(endpoint: string): boolean {
    const w = this.windows.get(endpoint);
    if (w && w.pending.size === 0) {
      this.windows.delete(endpoint);
      return true;
    }
    return false;
  }

  /** @internal */
  lastOf(key: string): string | undefined {
    return this.last.get(key);
  }

  /** @internal */
  windowOf(endpoint: string): Window | undefined {
    return this.windows.get(endpoint);
  }

  /** @internal Applies a committed transaction. Answers the endpoints whose window it opened or extended. */
  apply(lastWrites: Map<string, string>, pendingWrites: Map<string, Map<string, StateChange | null>>, opens: Map<string, number>): string[] {
    for (const [key, fp] of lastWrites) {
      this.last.delete(key); // re-inserted: the Map's order is the LRU order
      this.last.set(key, fp);
    }
    while (this.last.size > this.maxTracked) {
      const oldest = this.last.keys().next();
      if (oldest.done) break;
      this.last.delete(oldest.value);
    }
    for (const [endpoint, until] of opens) {
      const w = this.windows.get(endpoint);
      if (w) w.until = until;
      else this.windows.set(endpoint, { until, pending: new Map() });
    }
    for (const [endpoint, writes] of pendingWrites) {
      const w = this.windows.get(endpoint);
      if (!w) continue;
      for (const [key, change] of writes) {
        if (change === null) w.pending.delete(key);
        else w.pending.set(key, change);
      }
    }
    return [...opens.keys()];
  }
}

/** The changes of one batch, applied on commit(). Reads see the batch's own writes. */
export class CoalescerTx {
  private readonly lastWrites = new Map<string, string>();
  private readonly pendingWrites = new Map<string, Map<string, StateChange | null>>();
  private readonly opens = new Map<string, number>();
  /** Endpoints where a change of this batch waits. */
  private readonly deferring = new Set<string>();
  /** (endpoint, person) pairs this batch handed on at once. */
  private readonly sentNow = new Set<string>();
  /** What happened to the changes that did not go out, for the metric. */
  readonly outcomes: { change: StateChange; outcome: CoalesceOutcome }[] = [];

  constructor(private readonly owner: Coalescer, private readonly now: number, private readonly windowMs: number) {}

  /** A state change for an endpoint: answers what goes out now (nothing, or the change itself). */
  offer(change: StateChange): StateChange[] {
    const lastKey = `${change.endpoint}\0${change.key}`;
    if (this.mustWait(change.endpoint, lastKey)) {
      this.deferring.add(change.endpoint);
      const waiting = this.pendingOf(change.endpoint, change.key);
      if (waiting) this.outcomes.push({ change: waiting, outcome: 'coalesced' });
      if (change.fingerprint === this.lastOf(lastKey)) {
        // Back to what the endpoint shows: nothing needs to go out for this person any more.
        this.setPending(change.endpoint, change.key, null);
        this.outcomes.push({ change, outcome: 'no_op' });
      } else {
        this.setPending(change.endpoint, change.key, change);
      }
      return [];
    }
    if (change.fingerprint === this.lastOf(lastKey)) {
      this.outcomes.push({ change, outcome: 'no_op' });
      return [];
    }
    this.lastWrites.set(lastKey, change.fingerprint);
    this.sentNow.add(lastKey);
    if (this.windowMs > 0) this.opens.set(change.endpoint, this.now + this.windowMs);
    return [change];
  }

  /**
   * Everything waiting for an endpoint that differs from what it shows, in stream order, marked as
   * delivered: for the end of its window, and ahead of any other delivery to it.
   */
  flush(endpoint: string, reopen: boolean): StateChange[] {
    const waiting = this.waitingAt(endpoint);
    if (waiting.length === 0) return [];
    waiting.sort((a, b) => compareCursors(a.delivery.cursor, b.delivery.cursor));
    const out: StateChange[] = [];
    for (const change of waiting) {
      this.setPending(endpoint, change.key, null);
      const lastKey = `${endpoint}\0${change.key}`;
      if (change.fingerprint === this.lastOf(lastKey)) {
        this.outcomes.push({ change, outcome: 'no_op' });
        continue;
      }
      this.lastWrites.set(lastKey, change.fingerprint);
      out.push(change);
    }
    if (reopen && out.length > 0 && this.windowMs > 0) this.opens.set(endpoint, this.now + this.windowMs);
    return out;
  }

  /** Applies the batch's changes; answers the endpoints whose window opened or moved (their timers are the caller's). */
  commit(): string[] {
    return this.owner.apply(this.lastWrites, this.pendingWrites, this.opens);
  }

  /**
   * Whether a change must wait for the end of the window. The batch that opens a window hands on
   * the first change of each person at once; a person's second change in it waits, and from the
   * first change that waits on, every later one of the endpoint waits too (stream order).
   */
  private mustWait(endpoint: string, lastKey: string): boolean {
    // A window still open when the window was set to 0 (a reload) runs out first: what waits in it is earlier.
    if (this.owner.windowOf(endpoint) !== undefined || this.deferring.has(endpoint)) return true;
    return this.windowMs > 0 && this.sentNow.has(lastKey);
  }

  private lastOf(key: string): string | undefined {
    return this.lastWrites.get(key) ?? this.owner.lastOf(key);
  }

  private pendingOf(endpoint: string, key: string): StateChange | undefined {
    const written = this.pendingWrites.get(endpoint)?.get(key);
    if (written !== undefined) return written ?? undefined;
    return this.owner.windowOf(endpoint)?.pending.get(key);
  }

  private setPending(endpoint: string, key: string, change: StateChange | null): void {
    let writes = this.pendingWrites.get(endpoint);
    if (!writes) this.pendingWrites.set(endpoint, writes = new Map());
    writes.set(key, change);
  }

  private waitingAt(endpoint: string): StateChange[] {
    const writes = this.pendingWrites.get(endpoint);
    const committed = this.owner.windowOf(endpoint)?.pending;
    if (!writes && (!committed || committed.size === 0)) return []; // the common case: nothing waits
    const merged = new Map(committed ?? []);
    for (const [key, change] of writes ?? []) {
      if (change === null) merged.delete(key);
      else merged.set(key, change);
    }
    return [...merged.values()];
  }
}
