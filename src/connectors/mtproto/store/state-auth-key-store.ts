// Auth keys in the bus's state store (`bus.state('mtproto')`): Redis with the redis driver, the
// fsynced local state file with the memory driver. So keys outlive a restart on the embedded
// defaults too, and every instance sharing the Redis accepts every key.
//
//   authkey:<auth_key_id hex>         sealed { k: key, e?: expiresAt ms, b?: bound perm id hex }
//   authkey-binding:<perm id hex>     the temporary key bound to that permanent key (hex)
//
// Temporary keys are stored with the state store's ttl, so they vanish when they expire; the
// expiry inside the sealed record is checked on every read as well.
//
// Permanent keys carry a ttl too, so the store cannot fill up with keys nobody uses (the store
// cannot be enumerated, so nothing could sweep them later): a key fresh from its handshake lives
// `unusedMs` until a message uses it (orphans of clients that failed their own handshake check,
// or a flood of handshakes, vanish within the hour; temporary keys too, if that is sooner than
// their expiry); then `idleMs` after its last use. A load from the store is a use: the session
// layer loads a key for its first frame and again every KEY_REVALIDATE_MS while it is used. A use
// is recorded with the state store's `expire` (a new ttl, the record untouched, so a key destroyed
// meanwhile on another instance stays destroyed), at most once per `touchEveryMs` per key and
// process. A bound temporary key's load records a use of its permanent key as well (PFS clients
// talk over temporary keys only).
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { counter, type Counter, type Registry } from '../../../core/metrics.ts';
import { authKeyIdHex, type AuthKeyRecord, type AuthKeyStore, type BindResult } from './auth-key-store.ts';
import { SealError, type KeyRing } from './key-ring.ts';

const KEY_PREFIX = 'authkey:';
const BINDING_PREFIX = 'authkey-binding:';
/** Reads and conditional writes a binding makes at most while other instances change the key under it. */
const BIND_ATTEMPTS = 3;
const PURPOSE = 'auth key';
const AUTH_KEY_BYTES = 256;

interface StoredRecord {
  k: string;
  e?: number;
  b?: string;
  /** A use time, written by an earlier version (uses are ttls now): still checked, not used. */
  u?: number;
}

interface ReadRecord {
  record: AuthKeyRecord;
  /** Sealed under a previous KEK (or in plaintext): written back under the current one. */
  stale: boolean;
  /** The stored value as read (what a re-seal replaces). */
  stored: string;
}

/** How long permanent keys are kept without use (docs/mtproto.md, "What survives a restart"). */
export interface KeyLifetimes {
  /** A permanent key no message has used since its handshake is dropped after this (ms). */
  readonly unusedMs: number;
  /** A permanent key unused for this long is dropped (ms); undefined: kept until destroyed. */
  readonly idleMs: number | undefined;
}

export const DEFAULT_KEY_LIFETIMES: KeyLifetimes = { unusedMs: 60 * 60_000, idleMs: 180 * 86_400_000 };
const DAY_MS = 86_400_000;
/** The ttl of a used key when idle keys are kept (idleMs undefined): a century, "for good". */
const FOR_GOOD_MS = 100 * 365 * DAY_MS;
/** Keys whose last recorded use this process remembers at most (a forgotten one is recorded again at its next load). */
const REMEMBERED_USES = 100_000;

/** What a load tells the key's companions (client info) so they live as long as the key. */
export interface KeyKept {
  /** ms since the epoch until which the key is kept unless used again; undefined: for good. */
  readonly until: number | undefined;
  /** The key's ttl was just extended (companions extend theirs). */
  readonly touched: boolean;
}

export interface StateAuthKeyStoreOptions {
  logger: Logger;
  registry?: Registry;
  now?: () => number;
  /** Permanent keys' lifetimes without use; DEFAULT_KEY_LIFETIMES when absent. */
  lifetimes?: KeyLifetimes;
  /**
   * A key was read from the store (not from a cache): companions (client info) load theirs.
   * `boundKept`: for a bound temporary key, what became of its permanent key.
   */
  onLoaded?: (authKeyIdHex: string, record: AuthKeyRecord, kept: KeyKept, boundKept?: KeyKept) => Promise<void>;
  /** A key was deleted: companions drop theirs. */
  onDeleted?: (authKeyIdHex: string) => Promise<void>;
}

export class StateAuthKeyStore implements AuthKeyStore {
  readonly #state: StateStore;
  readonly #ring: KeyRing;
  readonly #opts: StateAuthKeyStoreOptions;
  readonly #now: () => number;
  readonly #lifetimes: KeyLifetimes;
  /** Least time between two recorded uses of a key by this process (each is one `expire`). */
  readonly #touchEveryMs: number;
  /** When this process last recorded the use of each key (ms), least recently first. */
  readonly #touchedAt = new Map<string, number>();
  readonly #rewrapped: Counter<string> | undefined;
  readonly #unreadable: Counter<string> | undefined;
  /** KEK ids already reported as missing, so a flood of such keys logs once per KEK. */
  readonly #reported = new Set<string>();

  constructor(state: StateStore, ring: KeyRing, opts: StateAuthKeyStoreOptions) {
    this.#state = state;
    this.#ring = ring;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#lifetimes = opts.lifetimes ?? DEFAULT_KEY_LIFETIMES;
    const idle = this.#lifetimes.idleMs;
    this.#touchEveryMs = idle === undefined ? Infinity : Math.min(DAY_MS, idle / 8);
    if (opts.registry) {
      this.#rewrapped = counter(opts.registry, 'switchboard_mtproto_auth_keys_resealed_total', 'Stored auth keys re-sealed under the current key-encryption key on first use (after a rotation, or stored in plaintext before)');
      this.#unreadable = counter(opts.registry, 'switchboard_mtproto_auth_keys_unreadable_total', 'Stored auth keys refused because they do not open (reason: unknown-key, not-configured, tampered, malformed)', ['reason']);
    }
  }

  async get(authKeyId: Uint8Array): Promise<AuthKeyRecord | undefined> {
    const hex = authKeyIdHex(authKeyId);
    const read = await this.#read(hex);
    if (read === undefined) return undefined;
    const { record } = read;
    // Re-sealing writes the record with the ttl of a use, so it records the use too.
    const touched = read.stale ? await this.#reseal(hex, record, read.stored) : await this.#touch(hex, record);
    const boundKept = record.boundTo === undefined ? undefined : await this.#touchPermanent(record.boundTo);
    await this.#opts.onLoaded?.(hex, record, { until: record.expiresAt ?? this.#idleEnd(hex), touched }, boundKept);
    return record;
  }

  async create(authKeyId: Uint8Array, record: AuthKeyRecord): Promise<boolean> {
    const hex = authKeyIdHex(authKeyId);
    // Not used yet: it goes after unusedMs (or its own expiry, if sooner) unless a message uses it.
    const left = record.expiresAt === undefined ? undefined : record.expiresAt - this.#now();
    if (left !== undefined && left <= 0) return true; // expired before it was stored: nothing to keep
    const ttl = left === undefined ? this.#lifetimes.unusedMs : Math.min(left, this.#lifetimes.unusedMs);
    return await this.#state.setIfAbsent(KEY_PREFIX + hex, this.#seal(hex, record), ttl);
  }

  async delete(authKeyId: Uint8Array): Promise<void> {
    const hex = authKeyIdHex(authKeyId);
    const record = (await this.#read(hex).catch(() => undefined))?.record;
    await this.#state.delete(KEY_PREFIX + hex);
    if (record !== undefined && record.expiresAt === undefined) {
      // A permanent key takes its bound temporary key along: the temporary one acted for it.
      const temp = await this.#state.get(BINDING_PREFIX + hex);
      if (temp !== undefined) {
        await this.#state.delete(KEY_PREFIX + temp);
        await this.#state.delete(BINDING_PREFIX + hex);
        await this.#opts.onDeleted?.(temp);
      }
    }
    await this.#opts.onDeleted?.(hex);
  }

  async bind(tempId: Uint8Array, permIdHex: string, expiresAt: number | undefined): Promise<BindResult> {
    const tempHex = authKeyIdHex(tempId);
    // Each write replaces only what was read: a key destroyed (or re-sealed, or bound) by another
    // instance in between is read again, never brought back or overwritten. A few tries at most.
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const read = await this.#read(tempHex);
      if (read === undefined) return 'gone';
      const temp = read.record;
      if (temp.expiresAt === undefined) return 'not-temporary';
      if (temp.boundTo !== undefined && temp.boundTo !== permIdHex) return 'already-bound';
      // The binding message's expires_at may only shorten the key's life (a past or bogus one is ignored).
      const until = expiresAt !== undefined && expiresAt > this.#now() ? Math.min(temp.expiresAt, expiresAt) : temp.expiresAt;
      // Bound over its own connection, so used: it lives to its expiry.
      const ttl = until - this.#now();
      if (ttl <= 0) return 'gone';
      if (!await this.#state.replace(KEY_PREFIX + tempHex, read.stored, this.#seal(tempHex, { key: temp.key, expiresAt: until, boundTo: permIdHex }), ttl)) continue;
      const previous = await this.#state.get(BINDING_PREFIX + permIdHex);
      if (previous !== undefined && previous !== tempHex) {
        // One bound temporary key per permanent key: the previous one goes back to unbound (unless it changed meanwhile).
        const old = await this.#read(previous).catch(() => undefined);
        if (old?.record.boundTo === permIdHex && old.record.expiresAt !== undefined) {
          const oldTtl = old.record.expiresAt - this.#now();
          if (oldTtl > 0) await this.#state.replace(KEY_PREFIX + previous, old.stored, this.#seal(previous, { key: old.record.key, expiresAt: old.record.expiresAt }), oldTtl);
        }
      }
      await this.#state.set(BINDING_PREFIX + permIdHex, tempHex, ttl);
      return 'bound';
    }
    return 'gone';
  }

  async boundTemp(permIdHex: string): Promise<string | undefined> {
    const temp = await this.#state.get(BINDING_PREFIX + permIdHex);
    // Still bound to it (a binding outlives nothing: the key may have expired or been rebound).
    return temp !== undefined && (await this.#read(temp).catch(() => undefined))?.record.boundTo === permIdHex ? temp : undefined;
  }

  /** The record, or undefined when absent, expired or unreadable (logged and counted: refused like an unknown key). */
  async #read(hex: string): Promise<ReadRecord | undefined> {
    const stored = await this.#state.get(KEY_PREFIX + hex);
    if (stored === undefined) return undefined;
    let record: AuthKeyRecord;
    let stale: boolean;
    try {
      const opened = this.#ring.open(PURPOSE, hex, stored);
      record = decodeRecord(opened.plain);
      stale = opened.stale;
    } catch (err) {
      this.#refuse(hex, err);
      return undefined;
    }
    if (record.expiresAt !== undefined && record.expiresAt <= this.#now()) return undefined;
    return { record, stale, stored };
  }

  #touchDue(hex: string): boolean {
    const at = this.#touchedAt.get(hex);
    return at === undefined || this.#now() - at >= this.#touchEveryMs;
  }

  #touchedNow(hex: string): void {
    this.#touchedAt.delete(hex);
    this.#touchedAt.set(hex, this.#now());
    if (this.#touchedAt.size > REMEMBERED_USES) this.#touchedAt.delete(this.#touchedAt.keys().next().value as string);
  }

  /** Until when a permanent key is kept after the last use recorded here (undefined: for good). */
  #idleEnd(hex: string): number | undefined {
    return this.#lifetimes.idleMs === undefined ? undefined : (this.#touchedAt.get(hex) ?? this.#now()) + this.#lifetimes.idleMs;
  }

  /** The store ttl from a use now on: a temporary key's expiry, a permanent key's idle lifetime. */
  #useTtl(record: AuthKeyRecord): number {
    return record.expiresAt !== undefined ? record.expiresAt - this.#now() : this.#lifetimes.idleMs ?? FOR_GOOD_MS;
  }

  /**
   * Records a use of the key when due: a new ttl with `expire`, the record untouched (a key
   * deleted meanwhile stays deleted). False when not due, gone, or the store failed (logged: the
   * next load tries again; the key is served either way).
   */
  async #touch(hex: string, record: AuthKeyRecord): Promise<boolean> {
    if (!this.#touchDue(hex)) return false;
    return await this.#recordUse(hex, this.#useTtl(record)) === 'recorded';
  }

  /** A bound temporary key was loaded: its permanent key is in use too. Undefined when it is gone. */
  async #touchPermanent(permHex: string): Promise<KeyKept | undefined> {
    if (!this.#touchDue(permHex)) return { until: this.#idleEnd(permHex), touched: false };
    const outcome = await this.#recordUse(permHex, this.#lifetimes.idleMs ?? FOR_GOOD_MS);
    return outcome === 'gone' ? undefined : { until: this.#idleEnd(permHex), touched: outcome === 'recorded' };
  }

  /** One recorded use: the key's new ttl (`expire`), remembered here so the next is not due at once. */
  async #recordUse(hex: string, ttl: number): Promise<'recorded' | 'gone' | 'failed'> {
    if (ttl <= 0) return 'failed';
    try {
      if (!await this.#state.expire(KEY_PREFIX + hex, ttl)) return 'gone';
    } catch (err) {
      this.#opts.logger.warn({ err, authKeyId: hex }, 'mtproto auth key use could not be recorded (the next load tries again)');
      return 'failed';
    }
    this.#touchedNow(hex);
    return 'recorded';
  }

  /**
   * Rotation: a key opened with a previous KEK (or stored in plaintext before a KEK was set) is
   * written back under the current KEK, so the old KEK can be retired once clients came back;
   * with the ttl of a use (this is a load). Only over what was read (`stored`): a key destroyed
   * or rebound by another instance in between stays as that instance left it (a plain write would
   * bring it back, or drop the binding). A failed write keeps the key usable: it is logged, and
   * the next load tries again. True when written.
   */
  async #reseal(hex: string, record: AuthKeyRecord, stored: string): Promise<boolean> {
    const ttl = this.#useTtl(record);
    if (ttl <= 0) return false;
    try {
      if (!await this.#state.replace(KEY_PREFIX + hex, stored, this.#seal(hex, record), ttl)) {
        this.#opts.logger.debug({ authKeyId: hex }, 'mtproto auth key changed or went while it was re-sealed: left as it is now');
        return false;
      }
    } catch (err) {
      this.#opts.logger.warn({ err, authKeyId: hex }, 'mtproto auth key could not be re-sealed (the next load tries again)');
      return false;
    }
    this.#touchedNow(hex);
    this.#rewrapped?.inc();
    this.#opts.logger.debug({ authKeyId: hex }, 'mtproto auth key re-sealed under the current key-encryption key');
    return true;
  }

  #refuse(hex: string, err: unknown): void {
    const reason = err instanceof SealError ? err.reason : 'malformed';
    this.#unreadable?.inc({ reason });
    const kek = err instanceof SealError ? err.keyId ?? reason : reason;
    if (this.#reported.has(kek)) return;
    if (this.#reported.size < 64) this.#reported.add(kek);
    this.#opts.logger.error({ authKeyId: hex, reason, err: (err as Error).message },
      'mtproto stored auth key cannot be opened: refused like an unknown key (-404); is its key-encryption key still configured? (docs/mtproto.md, "Keys at rest")');
  }

  #seal(hex: string, record: AuthKeyRecord): string {
    const stored: StoredRecord = { k: Buffer.from(record.key).toString('base64') };
    if (record.expiresAt !== undefined) stored.e = record.expiresAt;
    if (record.boundTo !== undefined) stored.b = record.boundTo;
    return this.#ring.seal(PURPOSE, hex, new Uint8Array(Buffer.from(JSON.stringify(stored), 'utf8')));
  }

}

function decodeRecord(plain: Uint8Array): AuthKeyRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(plain).toString('utf8'));
  } catch {
    throw new SealError('malformed', 'stored auth key is not a record');
  }
  const r = parsed as Partial<StoredRecord> | null;
  if (r === null || typeof r !== 'object' || typeof r.k !== 'string') throw new SealError('malformed', 'stored auth key has no key');
  const key = new Uint8Array(Buffer.from(r.k, 'base64'));
  if (key.length !== AUTH_KEY_BYTES) throw new SealError('malformed', `stored auth key has ${key.length} bytes`);
  if (r.e !== undefined && typeof r.e !== 'number') throw new SealError('malformed', 'stored auth key has a bad expiry');
  if (r.b !== undefined && (typeof r.b !== 'string' || !/^[0-9a-f]{16}$/.test(r.b))) throw new SealError('malformed', 'stored auth key has a bad binding');
  if (r.u !== undefined && (typeof r.u !== 'number' || !Number.isFinite(r.u))) throw new SealError('malformed', 'stored auth key has a bad use time');
  return { key, ...(r.e !== undefined ? { expiresAt: r.e } : {}), ...(r.b !== undefined ? { boundTo: r.b } : {}) };
}
