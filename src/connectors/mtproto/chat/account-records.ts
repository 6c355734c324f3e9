// Something each account sets for itself from its client (its profile photo, its name), kept in
// the shared state under `<prefix>:<user id>` (shared by every instance and kept across restarts)
// and read where it is needed without waiting: every account's value is loaded at start and read
// again in the background when it is older than REFRESH_MS, so a change made through another
// instance shows here soon after.
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Account, Directory } from './directory.ts';
import { changeJson } from './json-record.ts';

/** How old a remembered value may be before it is read again (another instance may have changed it). */
export const REFRESH_MS = 30_000;

interface Known<T> {
  value: T | undefined;
  readAt: number;
  reading?: Promise<void>;
}

export class AccountRecords<T> {
  readonly #known = new Map<bigint, Known<T>>();
  /** Reads of `fresh` under way, by account: `settled` waits for them. */
  readonly #freshening = new Map<bigint, Promise<unknown>>();

  /**
   * `parse` turns a stored string into a value, or undefined when it is not one (then the account
   * has none); `what` names the value in the log.
   */
  constructor(
    private readonly state: StateStore, private readonly directory: Directory, private readonly logger: Logger,
    private readonly prefix: string, private readonly parse: (raw: string) => T | undefined, private readonly what: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads every account's value (at start), or only those of the accounts `only` keeps (a value only they can have). */
  async load(only: (account: Account) => boolean = () => true): Promise<void> {
    await Promise.all(this.directory.accounts.filter(only).map((a) => this.#read(a.id)));
  }

  /** The account's value as known here now; read again in the background when it is old. */
  of(accountId: bigint): T | undefined {
    const known = this.#known.get(accountId);
    if (known === undefined) {
      if (this.directory.account(accountId) !== undefined) void this.#read(accountId);
      return undefined;
    }
    if (this.now() - known.readAt > REFRESH_MS && known.reading === undefined) void this.#read(accountId);
    return known.value;
  }

  /** The account's value as the state holds it now (for a decision another instance may have changed under us). */
  async fresh(accountId: bigint): Promise<T | undefined> {
    const reading = this.state.get(`${this.prefix}:${accountId}`);
    this.#freshening.set(accountId, reading);
    try {
      const raw = await reading;
      const value = raw === undefined ? undefined : this.parse(raw);
      this.#known.set(accountId, { value, readAt: this.now() });
      return value;
    } finally {
      if (this.#freshening.get(accountId) === reading) this.#freshening.delete(accountId);
    }
  }

  /**
   * Waits for a `fresh` read of the account's value under way, if any (another instance's note
   * started it), so that a decision made meanwhile uses the value it brings.
   */
  async settled(accountId: bigint): Promise<void> {
    await this.#freshening.get(accountId)?.catch(() => undefined);
  }

  /**
   * Changes the account's value with compare-and-set (json-record.ts): `change` gets what the
   * state holds and returns the new value, or undefined to write nothing. False when other
   * writers kept winning.
   */
  async change(accountId: bigint, change: (current: T | undefined) => T | undefined): Promise<boolean> {
    let written: T | undefined;
    const ok = await changeJson(this.state, `${this.prefix}:${accountId}`, (raw) => (raw === undefined ? undefined : this.parse(raw)), (current) => (written = change(current)));
    if (ok && written !== undefined) this.#known.set(accountId, { value: written, readAt: this.now() });
    return ok;
  }

  /** The account's value as known here from now on (until the next read): the state was changed another way. */
  remember(accountId: bigint, value: T | undefined): void {
    this.#known.set(accountId, { value, readAt: this.now() });
  }

  /** Sets (or with undefined, removes) the account's value, here and in the state. */
  async set(accountId: bigint, value: T | undefined): Promise<void> {
    if (value === undefined) await this.state.delete(`${this.prefix}:${accountId}`);
    else await this.state.set(`${this.prefix}:${accountId}`, JSON.stringify(value));
    this.#known.set(accountId, { value, readAt: this.now() });
  }

  async #read(accountId: bigint): Promise<void> {
    const known: Known<T> = this.#known.get(accountId) ?? { value: undefined, readAt: 0 };
    this.#known.set(accountId, known);
    if (known.reading !== undefined) return known.reading;
    known.reading = (async () => {
      try {
        const raw = await this.state.get(`${this.prefix}:${accountId}`);
        known.value = raw === undefined ? undefined : this.parse(raw);
      } catch (err) {
        this.logger.warn({ err, user: String(accountId) }, `mtproto: reading an account's ${this.what} failed (the one known here stays)`);
      } finally {
        known.readAt = this.now();
        known.reading = undefined;
      }
    })();
    return known.reading;
  }
}
