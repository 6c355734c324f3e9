// Who is logged in on which auth key: `auth:<auth_key_id hex>` -> the user, in the connector's
// state (Redis, or the local state file), so a login holds on every instance and across restarts.
// Every API call asks (AuthorizationLookup): answers are cached here for a few seconds; a login or
// logout on this instance updates the cache at once, elsewhere within the cache time.
// A login lives as long as its auth key (store/key-companions.ts): stored with the key's ttl,
// extended with it (`expire`: a logout made meanwhile stays), removed when the key is destroyed.
import type { StateStore } from '../../../bus/types.ts';
import type { AuthorizationLookup, AuthorizedUser } from '../api/context.ts';
import type { Directory } from './directory.ts';
import type { KeyCompanion } from '../store/key-companions.ts';
import type { KeyKept } from '../store/state-auth-key-store.ts';

interface StoredAuthorization {
  user: string;
  at: number;
}

const CACHE_MS = 5_000;
const CACHE_MAX = 100_000;

export class Authorizations implements AuthorizationLookup, KeyCompanion {
  readonly #cache = new Map<string, { user: AuthorizedUser | undefined; until: number }>();
  /**
   * Lookups in flight: concurrent calls of one key wait for the same read, so they go on in the
   * order they came (a call must not overtake an earlier one because the cache filled between).
   */
  readonly #reading = new Map<string, Promise<AuthorizedUser | undefined>>();
  /** Logins and logouts on this instance so far. */
  #changes = 0;

  /**
   * `keyTtl`: the store ttl of a record that lives as long as the key (KeyCompanions.ttlOf;
   * undefined: for good).
   */
  constructor(private readonly state: StateStore, private readonly directory: Directory, private readonly now: () => number = Date.now,
    private readonly keyTtl: (authKeyIdHex: string) => number | undefined = () => undefined) {}

  async userOf(authKeyIdHex: string): Promise<AuthorizedUser | undefined> {
    const cached = this.#cache.get(authKeyIdHex);
    if (cached !== undefined && cached.until > this.now()) return cached.user;
    let reading = this.#reading.get(authKeyIdHex);
    if (reading === undefined) {
      reading = this.#read(authKeyIdHex).finally(() => this.#reading.delete(authKeyIdHex));
      this.#reading.set(authKeyIdHex, reading);
    }
    return reading;
  }

  async #read(authKeyIdHex: string): Promise<AuthorizedUser | undefined> {
    const t = this.now();
    const generation = this.#changes;
    const raw = await this.state.get(`auth:${authKeyIdHex}`);
    let user: AuthorizedUser | undefined;
    if (raw !== undefined) {
      const stored = JSON.parse(raw) as StoredAuthorization;
      // An account removed from the config is logged out everywhere.
      const account = /^\d+$/.test(stored.user) ? this.directory.account(BigInt(stored.user)) : undefined;
      if (account !== undefined) user = { userId: account.id, bot: account.bot };
    }
    // A login or logout here while the read was out decides: what the read found is older.
    if (generation !== this.#changes) return this.#cache.get(authKeyIdHex)?.user ?? user;
    this.#remember(authKeyIdHex, user, t);
    return user;
  }

  #remember(key: string, user: AuthorizedUser | undefined, t: number): void {
    this.#cache.delete(key);
    this.#cache.set(key, { user, until: t + CACHE_MS });
    if (this.#cache.size > CACHE_MAX) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
  }

  async logIn(authKeyIdHex: string, userId: bigint): Promise<void> {
    const account = this.directory.account(userId);
    if (account === undefined) throw new Error(`no account ${userId}`);
    await this.state.set(`auth:${authKeyIdHex}`, JSON.stringify({ user: String(userId), at: this.now() } satisfies StoredAuthorization), this.keyTtl(authKeyIdHex));
    this.#changes++;
    this.#remember(authKeyIdHex, { userId, bot: account.bot }, this.now());
  }

  async logOut(authKeyIdHex: string): Promise<void> {
    await this.state.delete(`auth:${authKeyIdHex}`);
    this.#changes++;
    this.#remember(authKeyIdHex, undefined, this.now());
  }

  async keyLoaded(authKeyIdHex: string, kept: KeyKept | undefined): Promise<void> {
    const ttl = this.keyTtl(authKeyIdHex);
    if (kept?.touched === true && ttl !== undefined) await this.state.expire(`auth:${authKeyIdHex}`, ttl);
  }

  async keyDeleted(authKeyIdHex: string): Promise<void> {
    await this.logOut(authKeyIdHex);
  }
}
