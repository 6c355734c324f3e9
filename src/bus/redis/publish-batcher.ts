import { parseEvent, type CanonicalEvent } from '../../core/event.ts';

interface Pending {
  readonly events: readonly CanonicalEvent[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Coalesces publish() calls into batches of at most `maxEvents` events, waiting at most `maxWaitMs`
 * for company. Flushes are serialised (one write in flight; the next batch gathers meanwhile), so
 * the order in which calls were accepted is the order of the jobs on the ingress queue. A call
 * resolves only when the write holding its events has resolved, and rejects if it failed.
 */
export class PublishBatcher {
  private pending: Pending[] = [];
  private pendingEvents = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  /** Set from a failed write until the event loop turns: publishes then fail too (see flushNow). */
  private failure: unknown;

  constructor(
    private readonly maxEvents: number,
    private readonly maxWaitMs: number,
    /** Writes the batches (each at most maxEvents events) in one go, in order. */
    private readonly write: (batches: CanonicalEvent[][]) => Promise<void>,
  ) {}

  publish(events: readonly CanonicalEvent[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('bus is closed'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let valid: CanonicalEvent[];
    try {
      valid = events.map((e) => parseEvent(e)); // a bad event rejects only this call, before anything is accepted
    } catch (err) {
      return Promise.reject(err);
    }
    if (valid.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ events: valid, resolve, reject });
      this.pendingEvents += valid.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight) return; // the flush in flight picks the rest up when it ends
    if (this.pendingEvents >= this.maxEvents) {
      this.flushNow();
    } else if (!this.timer && !this.immediate) {
      // maxWaitMs 0: no timer, only what arrives in this turn of the event loop (frames read from
      // one socket chunk, say) shares the write. Under load the write in flight does the batching.
      if (this.maxWaitMs <= 0) this.immediate = setImmediate(() => this.flushNow());
      else this.timer = setTimeout(() => this.flushNow(), this.maxWaitMs);
    }
  }

  private flushNow(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.inFlight || this.pending.length === 0) return;
    const calls = this.pending;
    this.pending = [];
    this.pendingEvents = 0;
    const batches: CanonicalEvent[][] = [];
    let current: CanonicalEvent[] = [];
    // An id twice in one write is a duplicate already: keeping one copy keeps every job free of
    // repeated ids, which the dedupe marks rely on (a mark's owner is the event's ingress job).
    const ids = new Set<string>();
    for (const call of calls) {
      for (const e of call.events) {
        if (ids.has(e.id)) continue;
        ids.add(e.id);
        current.push(e);
        if (current.length >= this.maxEvents) {
          batches.push(current);
          current = [];
        }
      }
    }
    if (current.length > 0) batches.push(current);
    this.inFlight = this.write(batches).then(
      () => { for (const c of calls) c.resolve(); },
      (err: unknown) => new Promise<void>((resolve) => {
        // A failed write also fails every call queued behind it and every call made before the
        // event loop turns: their callers learn of the failure (in promise callbacks of this
        // turn) before any of their later publishes can be written. Otherwise a later publish of
        // the same sender could succeed ahead of the one that failed, and its resend would land
        // out of order.
        this.failure = err;
        const behind = this.pending;
        this.pending = [];
        this.pendingEvents = 0;
        for (const c of [...calls, ...behind]) c.reject(err);
        setImmediate(() => {
          this.failure = undefined;
          resolve();
        });
      }),
    ).finally(() => {
      this.inFlight = undefined;
      // Whatever gathered meanwhile has waited long enough already.
      if (this.pending.length > 0) this.flushNow();
    });
  }

  /** Writes everything accepted so far and refuses new calls. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.inFlight || this.pending.length > 0) {
      if (!this.inFlight) this.flushNow();
      await this.inFlight;
    }
  }
}
