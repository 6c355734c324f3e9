// Sends scheduled messages when they are due. One instance of the deployment does it at a time
// (the bus's lease `mtproto-scheduler`; the memory driver grants it at once): it reads every
// account's queue when it takes the lease and every SWEEP_MS after (a note from another instance
// may be lost), an account's again whenever it changes, and sleeps until the first one is due.
// A send is a bus transaction of the account (scheduled-queue.ts txnOf), so an item sent twice
// (a crash between the send and its removal, a failover, "send now" on another instance meanwhile)
// is one message.
import type { Bus, LeaseHandle, Stoppable } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import type { ScheduledItem, ScheduledQueue } from './scheduled-queue.ts';

/** Every queue is read again this often (what a lost note would otherwise leave unseen). */
export const SWEEP_MS = 60_000;
/** After a failed send (the bus refused), the item is tried again this much later. */
export const RETRY_MS = 5_000;
export const SCHEDULER_LEASE = 'mtproto-scheduler';

export interface SchedulerOptions {
  readonly bus: Pick<Bus, 'holdLease'>;
  readonly queue: ScheduledQueue;
  /** The accounts whose queues there may be. */
  readonly accounts: () => readonly bigint[];
  /** Sends an account's due items (in order) and takes them out of its queue; true when all went, false to try again later. */
  readonly send: (account: bigint, items: readonly ScheduledItem[]) => Promise<boolean>;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class Scheduler implements Stoppable {
  /** When each account's first queued message is due (ms), as last read. */
  readonly #firstDue = new Map<bigint, number>();
  /** Accounts to read again before the next round. */
  readonly #dirty = new Set<bigint>();
  #sweepAll = true;
  #lastSweep = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #held = false;
  #closed = false;
  readonly #lease: LeaseHandle;
  readonly #unlisten: () => void;
  readonly #now: () => number;

  constructor(private readonly opts: SchedulerOptions) {
    this.#now = opts.now ?? Date.now;
    this.#unlisten = opts.queue.onChange((account) => { this.#dirty.add(account); this.#wake(); });
    this.#lease = opts.bus.holdLease(SCHEDULER_LEASE, {
      onAcquired: () => { this.#held = true; this.#sweepAll = true; this.#wake(); },
      onLost: () => { this.#held = false; this.#clearTimer(); },
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#held = false;
    this.#clearTimer();
    this.#unlisten();
    await this.#lease.close();
    await this.#running;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Runs a round now (or right after the one under way). */
  #wake(): void {
    if (!this.#held || this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#clearTimer();
    this.#running = this.#round()
      .catch((err: unknown) => {
        this.opts.logger.warn({ err }, 'mtproto: the scheduler could not read the queued messages; trying again');
        this.#sleep(RETRY_MS);
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.#wake();
        }
      });
  }

  #sleep(ms: number): void {
    if (!this.#held || this.#closed) return;
    this.#clearTimer();
    this.#timer = setTimeout(() => { this.#timer = undefined; this.#wake(); }, Math.max(0, Math.min(ms, SWEEP_MS)));
    this.#timer.unref();
  }

  async #round(): Promise<void> {
    const now = this.#now();
    if (this.#sweepAll || now - this.#lastSweep >= SWEEP_MS) {
      this.#sweepAll = false;
      this.#lastSweep = now;
      this.#firstDue.clear();
      for (const account of this.opts.accounts()) this.#dirty.add(account);
    }
    const reading = [...this.#dirty];
    this.#dirty.clear();
    for (const account of reading) await this.#read(account);
    for (const [account, at] of [...this.#firstDue]) {
      if (at > this.#now() || !this.#held) continue;
      const due = (await this.opts.queue.list(account)).filter((i) => i.at * 1000 <= this.#now());
      const sent = due.length === 0 || await this.opts.send(account, due).catch((err: unknown) => {
        this.opts.logger.warn({ err, user: String(account) }, 'mtproto: scheduled messages not sent; trying again');
        return false;
      });
      if (sent) await this.#read(account);
      // What could not go (or is still there) is tried again a little later, not in a loop.
      if (!sent || (this.#firstDue.get(account) ?? Infinity) <= this.#now()) this.#firstDue.set(account, this.#now() + RETRY_MS);
    }
    const first = Math.min(...this.#firstDue.values());
    this.#sleep(Math.min(first, this.#lastSweep + SWEEP_MS) - this.#now());
  }

  async #read(account: bigint): Promise<void> {
    const first = (await this.opts.queue.list(account))[0];
    if (first === undefined) this.#firstDue.delete(account);
    else this.#firstDue.set(account, first.at * 1000);
  }
}
