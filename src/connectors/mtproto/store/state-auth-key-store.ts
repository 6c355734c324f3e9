// Auth keys in the bus's state store (`bus.state('mtproto')`): Redis with the redis driver, the
// fsynced local state file with the memory driver. So keys outlive a restart on the embedded
// defaults too, and every instance sharing the Redis accepts every key.
//
//   authkey:<auth_key_id hex>         sealed { k: key, e?: expiresAt ms, b?: bound perm id hex, u?: used ms }
//   authkey-binding:<perm id hex>     the temporary key bound to that permanent key (hex)
//
// Temporary keys are stored with the state store's ttl, so they vanish when they expire; the
// expiry inside the sealed record is checked on every read as well.
//
// Permanent keys carry a ttl too, so the store cannot fill up with keys nobody uses (the store
// cannot be enumerated, so nothing could sweep them later): a key fresh from its handshake lives
// `unusedMs` until a message uses it (orphans of clients that failed their own handshake check,
// or a flood of handshakes, vanish within the hour; temporary keys too, if that is sooner than
// their expiry); then `idleMs` after its last use. A load
// from the store is a use: the session layer loads a key for its first frame and again every
// KEY_REVALIDATE_MS while it is used, so "used" is refreshed by rewriting the record with a new
// ttl at most once per `touchEveryMs`. A bound temporary key's load refreshes its permanent key
// as well (PFS clients talk over temporary keys only).
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { counter, type Counter, type Registry } from '../../../core/metrics.ts';
import { authKeyIdHex, type AuthKeyRecord, type AuthKeyStore, type BindResult } from './auth-key-store.ts';
import { SealError, type KeyRing } from './key-ring.ts';

const KEY_PREFIX = 'authkey:';
const BINDING_PREFIX = 'authkey-binding:';
const PURPOSE = 'auth key';
const AUTH_KEY_BYTES = 256;

interface StoredRecord {
  k: string;
  e?: number;
  b?: string;
  /** ms since the epoch of the last recorded use; absent: not used since the handshake. */
  u?: number;
}

interface ReadRecord {
  record: AuthKeyRecord;
  usedAt: number | undefined;
  /** Sealed under a previous KEK (or in plaintext): written back under the current one. */
  stale: boolean;
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
  /** Least time between two recorded uses of a key (each is a write of the record). */
  readonly #touchEveryMs: number;
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
    const { record, stale } = read;
    let usedAt = read.usedAt;
    // A temporary key is touched once (its first use: from then on it lives to its expiry).
    const touched = record.expiresAt === undefined ? this.#touchDue(usedAt) : usedAt === undefined;
    if (touched) usedAt = this.#now();
    if (touched || stale) await this.#write(hex, record, usedAt, stale);
    const boundKept = record.boundTo === undefined ? undefined : await this.#touchPermanent(record.boundTo);
    await this.#opts.onLoaded?.(hex, record, { until: record.expiresAt ?? this.#idleEnd(usedAt), touched }, boundKept);
    return record;
  }

  async create(authKeyId: Uint8Array, record: AuthKeyRecord): Promise<boolean> {
    const hex = authKeyIdHex(authKeyId);
    const ttl = this.#ttl(record, undefined);
    if (ttl !== undefined && ttl <= 0) return true; // expired before it was stored: nothing to keep
    return await this.#state.setIfAbsent(KEY_PREFIX + hex, this.#seal(hex, record, undefined), ttl);
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
    const tempRead = await this.#read(tempHex);
    if (tempRead === undefined) return 'gone';
    const temp = tempRead.record;
    if (temp.expiresAt === undefined) return 'not-temporary';
    if (temp.boundTo !== undefined && temp.boundTo !== permIdHex) return 'already-bound';
    // The binding message's expires_at may only shorten the key's life (a past or bogus one is ignored).
    const until = expiresAt !== undefined && expiresAt > this.#now() ? Math.min(temp.expiresAt, expiresAt) : temp.expiresAt;
    const bound = { key: temp.key, expiresAt: until, boundTo: permIdHex };
    const ttl = this.#ttl(bound, tempRead.usedAt) ?? 0;
    if (ttl <= 0) return 'gone';
    const previous = await this.#state.get(BINDING_PREFIX + permIdHex);
    if (previous !== undefined && previous !== tempHex) {
      // One bound temporary key per permanent key: the previous one goes back to unbound.
      const oldRead = await this.#read(previous).catch(() => undefined);
      const old = oldRead?.record;
      if (old?.boundTo === permIdHex && old.expiresAt !== undefined) {
        const unbound = { key: old.key, expiresAt: old.expiresAt };
        const oldTtl = this.#ttl(unbound, oldRead?.usedAt);
        if (oldTtl !== undefined && oldTtl > 0) await this.#state.set(KEY_PREFIX + previous, this.#seal(previous, unbound, oldRead?.usedAt), oldTtl);
      }
    }
    await this.#state.set(KEY_PREFIX + tempHex, this.#seal(tempHex, bound, tempRead.usedAt), ttl);
    await this.#state.set(BINDING_PREFIX + permIdHex, tempHex, ttl);
    return 'bound';
  }

  /** The record, or undefined when absent, expired or unreadable (logged and counted: refused like an unknown key). */
  async #read(hex: string): Promise<ReadRecord | undefined> {
    const stored = await this.#state.get(KEY_PREFIX + hex);
    if (stored === undefined) return undefined;
    let decoded: { record: AuthKeyRecord; usedAt: number | undefined };
    let stale: boolean;
    try {
      const opened = this.#ring.open(PURPOSE, hex, stored);
      decoded = decodeRecord(opened.plain);
      stale = opened.stale;
    } catch (err) {
      this.#refuse(hex, err);
      return undefined;
    }
    if (decoded.record.expiresAt !== undefined && decoded.record.expiresAt <= this.#now()) return undefined;
    return { ...decoded, stale };
  }

  #touchDue(usedAt: number | undefined): boolean {
    return usedAt === undefined || this.#now() - usedAt >= this.#touchEveryMs;
  }

  #idleEnd(usedAt: number | undefined): number | undefined {
    return this.#lifetimes.idleMs === undefined || usedAt === undefined ? undefined : usedAt + this.#lifetimes.idleMs;
  }

  /** A bound temporary key was loaded: its permanent key is in use too. */
  async #touchPermanent(permHex: string): Promise<KeyKept | undefined> {
    const perm = await this.#read(permHex).catch(() => undefined);
    if (perm === undefined || perm.record.expiresAt !== undefined) return undefined;
    const touched = this.#touchDue(perm.usedAt);
    const usedAt = touched ? this.#now() : perm.usedAt;
    if (touched || perm.stale) await this.#write(permHex, perm.record, usedAt, perm.stale);
    return { until: this.#idleEnd(usedAt), touched };
  }

  /**
   * Writes a record back: with its use time and the ttl that follows from it, and (rotation) under
   * the current KEK, so an old KEK can be retired once clients came back. A failed write keeps the
   * key usable: it is logged, and the next load tries again.
   */
  async #write(hex: string, record: AuthKeyRecord, usedAt: number | undefined, resealed: boolean): Promise<void> {
    const ttl = this.#ttl(record, usedAt);
    if (ttl !== undefined && ttl <= 0) return;
    try {
      await this.#state.set(KEY_PREFIX + hex, this.#seal(hex, record, usedAt), ttl);
    } catch (err) {
      this.#opts.logger.warn({ err, authKeyId: hex }, 'mtproto auth key could not be written back (its use or re-sealing is recorded on a later load)');
      return;
    }
    if (!resealed) return;
    this.#rewrapped?.inc();
    this.#opts.logger.debug({ authKeyId: hex }, 'mtproto auth key re-sealed under the current key-encryption key');
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

  #seal(hex: string, record: AuthKeyRecord, usedAt: number | undefined): string {
    const stored: StoredRecord = { k: Buffer.from(record.key).toString('base64') };
    if (record.expiresAt !== undefined) stored.e = record.expiresAt;
    if (record.boundTo !== undefined) stored.b = record.boundTo;
    if (usedAt !== undefined) stored.u = usedAt;
    return this.#ring.seal(PURPOSE, hex, new Uint8Array(Buffer.from(JSON.stringify(stored), 'utf8')));
  }

  /**
   * The store ttl of a record: a key not used since its handshake, `unusedMs` (a temporary key's
   * own expiry if sooner); then a temporary key's expiry, a permanent key's idle end.
   */
  #ttl(record: AuthKeyRecord, usedAt: number | undefined): number | undefined {
    if (record.expiresAt !== undefined) {
      const left = record.expiresAt - this.#now();
      return usedAt === undefined ? Math.min(left, this.#lifetimes.unusedMs) : left;
    }
    if (usedAt === undefined) return this.#lifetimes.unusedMs;
    return this.#lifetimes.idleMs === undefined ? undefined : usedAt + this.#lifetimes.idleMs - this.#now();
  }
}

function decodeRecord(plain: Uint8Array): { record: AuthKeyRecord; usedAt: number | undefined } {
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
  const record = { key, ...(r.e !== undefined ? { expiresAt: r.e } : {}), ...(r.b !== undefined ? { boundTo: r.b } : {}) };
  return { record, usedAt: r.u };
}
