// Who is logged in on which auth key: `auth:<auth_key_id hex>` -> the user, in the connector's
// state (Redis, or the local state file), so a login holds on every instance and across restarts.
// Every API call asks (AuthorizationLookup): answers are cached here for a few seconds; a login or
// logout on this instance updates the cache at once, elsewhere within the cache time.
// A login lives as long as its auth key (store/key-companions.ts): stored with the key's ttl,
// extended with it (`expire`: a logout made meanwhile stays), removed when the key is destroyed.
// Each account's logins are also listed (login-list.ts), for its "active sessions".
// A login holds while its account's credential and login epoch are those it was made with
// (login-epochs.ts): config.yaml reloaded without an account, or with a new token or phone,
// ends it.
import type { StateStore } from '../../../bus/types.ts';
import type { ClientInfo } from '../api/client-info.ts';
import type { AuthorizationLookup, AuthorizedUser } from '../api/context.ts';
import { changeJson } from './json-record.ts';
import { loginEntry, loginsKey, parseLogins, withLogin, withoutLogins, type LoginEntry } from './login-list.ts';
import type { Directory } from './directory.ts';
import type { KeyCompanion } from '../store/key-companions.ts';
import type { KeyKept } from '../store/state-auth-key-store.ts';
import { credentialOf, LoginEpochs } from './login-epochs.ts';

interface StoredAuthorization {
  user: string;
  at: number;
  /** The account's login epoch when it logged in (absent: made before epochs, 0). */
  epoch?: number;
  /** The fingerprint of the credential it logged in with (absent: made before, not checked). */
  cred?: string;
}

const CACHE_MS = 5_000;

/** A stored login, or undefined when it does not read as one. */
function parseStored(raw: string): StoredAuthorization | undefined {
  try {
    const stored = JSON.parse(raw) as Partial<StoredAuthorization>;
    if (!(typeof stored.user === 'string' && /^\d{1,20}$/.test(stored.user) && typeof stored.at === 'number' && Number.isFinite(stored.at) && stored.at >= 0)) return undefined;
    return {
      user: stored.user, at: Math.floor(stored.at),
      ...(typeof stored.epoch === 'number' && Number.isSafeInteger(stored.epoch) ? { epoch: stored.epoch } : {}),
      ...(typeof stored.cred === 'string' ? { cred: stored.cred } : {}),
    };
  } catch {
    return undefined;
  }
}
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
    private readonly keyTtl: (authKeyIdHex: string) => number | undefined = () => undefined,
    readonly epochs: LoginEpochs = new LoginEpochs(state, now)) {}

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
    let user: AuthorizedUser | undefined;
    // A record that does not read as a login is none (not a failed call on every request).
    const stored = await this.#stored(authKeyIdHex);
    if (stored !== undefined) {
      // An account removed from the config is logged out everywhere.
      const account = this.directory.account(BigInt(stored.user));
      if (account !== undefined && await this.#holds(authKeyIdHex, stored, account.id)) user = { userId: account.id, bot: account.bot };
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

  /**
   * Whether a stored login of `userId` still holds: made with the credential the account has now
   * (as this instance's config says) and in its current login epoch. One of an epoch past is
   * deleted: it can never hold again, on any instance (a credential that differs may be this
   * instance lagging behind a reload, so that one is left for the others).
   */
  async #holds(authKeyIdHex: string, stored: StoredAuthorization, userId: bigint): Promise<boolean> {
    if (stored.cred !== undefined && stored.cred !== credentialOf(this.directory.account(userId))) return false;
    if ((stored.epoch ?? 0) === await this.epochs.of(userId)) return true;
    await this.#forgetLogin(authKeyIdHex);
    return false;
  }

  /**
   * config.yaml changed the accounts (a reload): every login cached here is looked up again, so
   * one that ended (its account removed, its credential changed) answers 401 on its next call.
   */
  accountsChanged(): void {
    this.#changes++;
    this.#cache.clear();
  }

  /** Logs the key in as `userId`, and lists it among the account's logins (`client`: what it said about itself). */
  async logIn(authKeyIdHex: string, userId: bigint, client?: ClientInfo): Promise<void> {
    const account = this.directory.account(userId);
    if (account === undefined) throw new Error(`no account ${userId}`);
    const before = await this.#storedUser(authKeyIdHex);
    const epoch = await this.epochs.of(userId);
    const login: StoredAuthorization = { user: String(userId), at: this.now(), epoch, cred: credentialOf(account) };
    await this.state.set(`auth:${authKeyIdHex}`, JSON.stringify(login), this.keyTtl(authKeyIdHex));
    this.#changes++;
    this.#remember(authKeyIdHex, { userId, bot: account.bot }, this.now());
    if (before !== undefined && before !== userId) await this.#unlist(before, new Set([authKeyIdHex]));
    // Bots have no "active sessions" (as on Telegram): a bot run as many processes, each with a
    // key of its own, must never push its own logins out of a list.
    if (account.bot) return;
    await this.#list(userId, loginEntry(authKeyIdHex, this.now(), client), false);
  }

  /**
   * Puts `entry` on the account's list (replacing one of its key; `ifAbsent`: only when its key is
   * not there yet). Past the bound the oldest logins end: a list that silently forgot them would
   * hide them.
   */
  async #list(userId: bigint, entry: LoginEntry, ifAbsent: boolean): Promise<void> {
    let evicted: LoginEntry[] = [];
    await changeJson(this.state, loginsKey(userId), parseLogins, (list) => {
      if (ifAbsent && list.some((e) => e.key === entry.key)) return undefined;
      const next = withLogin(list, entry);
      evicted = next.evicted;
      return next.list;
    });
    for (const old of evicted) if (await this.#storedUser(old.key) === userId) await this.#forgetLogin(old.key);
  }

  /** Ends the key's login (and its place in its account's list). */
  async logOut(authKeyIdHex: string): Promise<void> {
    const user = await this.#storedUser(authKeyIdHex);
    await this.#forgetLogin(authKeyIdHex);
    if (user !== undefined) await this.#unlist(user, new Set([authKeyIdHex]));
  }

  /**
   * The account's logins that hold now, oldest first (an entry whose key expired, was destroyed
   * or logged in as someone else is dropped from the list on the way).
   */
  async loginsOf(userId: bigint): Promise<LoginEntry[]> {
    const list = parseLogins(await this.state.get(loginsKey(userId)));
    const holds = await Promise.all(list.map(async (e) => {
      const stored = await this.#stored(e.key);
      return stored !== undefined && stored.user === String(userId) && await this.#holds(e.key, stored, userId);
    }));
    const gone = new Set(list.filter((_, i) => !holds[i]).map((e) => e.key));
    if (gone.size > 0) await this.#unlist(userId, gone);
    return list.filter((_, i) => holds[i]);
  }

  /**
   * Lists the key's login if it holds for `userId` and is not listed: one made before logins were
   * listed, or a list that was lost. Its time is the login's own.
   */
  async ensureListed(authKeyIdHex: string, userId: bigint, client?: ClientInfo): Promise<void> {
    const stored = await this.#stored(authKeyIdHex);
    if (stored === undefined || stored.user !== String(userId)) return;
    await this.#list(userId, loginEntry(authKeyIdHex, stored.at, client), true);
  }

  /**
   * Deletes what is stored of the account's listed logins (a person's: bots keep no list) that an
   * epoch raise made void: they could never hold again, and now they are gone from the state too.
   * Logins made since (in the current epoch: the person with a new number) stay. Used when
   * config.yaml took the account away or changed its phone.
   */
  async endListed(userId: bigint): Promise<void> {
    const list = parseLogins(await this.state.get(loginsKey(userId)));
    const epoch = await this.epochs.of(userId);
    const ended = new Set<string>();
    for (const e of list) {
      const stored = await this.#stored(e.key);
      if (stored === undefined || stored.user !== String(userId) || (stored.epoch ?? 0) >= epoch) continue;
      await this.#forgetLogin(e.key);
      ended.add(e.key);
    }
    if (ended.size > 0) await this.#unlist(userId, ended);
  }

  /** How long the key's login lives on unused, in ms (its key's; undefined: for good). */
  lifetimeOf(authKeyIdHex: string): number | undefined {
    return this.keyTtl(authKeyIdHex);
  }

  /** What another instance logged out: its cached login here goes at once (not within the cache time). */
  forget(authKeyIdHex: string): void {
    this.#changes++;
    this.#remember(authKeyIdHex, undefined, this.now());
  }

  async #forgetLogin(authKeyIdHex: string): Promise<void> {
    await this.state.delete(`auth:${authKeyIdHex}`);
    this.forget(authKeyIdHex);
  }

  async #unlist(userId: bigint, keys: ReadonlySet<string>): Promise<void> {
    await changeJson(this.state, loginsKey(userId), parseLogins, (list) => withoutLogins(list, keys));
  }

  /** Whom the stored login of a key names (undefined: none, or unreadable). */
  async #storedUser(authKeyIdHex: string): Promise<bigint | undefined> {
    const stored = await this.#stored(authKeyIdHex);
    return stored === undefined ? undefined : BigInt(stored.user);
  }

  /** The key's stored login, when there is one that reads as a login. */
  async #stored(authKeyIdHex: string): Promise<StoredAuthorization | undefined> {
    const raw = await this.state.get(`auth:${authKeyIdHex}`);
    return raw === undefined ? undefined : parseStored(raw);
  }

  async keyLoaded(authKeyIdHex: string, kept: KeyKept | undefined): Promise<void> {
    const ttl = this.keyTtl(authKeyIdHex);
    if (kept?.touched === true && ttl !== undefined) await this.state.expire(`auth:${authKeyIdHex}`, ttl);
  }

  async keyDeleted(authKeyIdHex: string): Promise<void> {
    await this.logOut(authKeyIdHex);
  }
}
