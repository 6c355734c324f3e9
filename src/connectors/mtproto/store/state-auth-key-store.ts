// Auth keys in the bus's state store (`bus.state('mtproto')`): Redis with the redis driver, the
// fsynced local state file with the memory driver. So keys outlive a restart on the embedded
// defaults too, and every instance sharing the Redis accepts every key.
//
//   authkey:<auth_key_id hex>         sealed { k: key, e?: expiresAt ms, b?: bound perm id hex }
//   authkey-binding:<perm id hex>     the temporary key bound to that permanent key (hex)
//
// Temporary keys are stored with the state store's ttl, so they vanish when they expire; the
// expiry inside the sealed record is checked on every read as well.
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
}

export interface StateAuthKeyStoreOptions {
  logger: Logger;
  registry?: Registry;
  now?: () => number;
  /** A key was read from the store (not from a cache): companions (client info) load theirs. */
  onLoaded?: (authKeyIdHex: string, record: AuthKeyRecord) => Promise<void>;
  /** A key was deleted: companions drop theirs. */
  onDeleted?: (authKeyIdHex: string) => Promise<void>;
}

export class StateAuthKeyStore implements AuthKeyStore {
  readonly #state: StateStore;
  readonly #ring: KeyRing;
  readonly #opts: StateAuthKeyStoreOptions;
  readonly #now: () => number;
  readonly #rewrapped: Counter<string> | undefined;
  readonly #unreadable: Counter<string> | undefined;
  /** KEK ids already reported as missing, so a flood of such keys logs once per KEK. */
  readonly #reported = new Set<string>();

  constructor(state: StateStore, ring: KeyRing, opts: StateAuthKeyStoreOptions) {
    this.#state = state;
    this.#ring = ring;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    if (opts.registry) {
      this.#rewrapped = counter(opts.registry, 'switchboard_mtproto_auth_keys_resealed_total', 'Stored auth keys re-sealed under the current key-encryption key on first use (after a rotation, or stored in plaintext before)');
      this.#unreadable = counter(opts.registry, 'switchboard_mtproto_auth_keys_unreadable_total', 'Stored auth keys refused because they do not open (reason: unknown-key, not-configured, tampered, malformed)', ['reason']);
    }
  }

  async get(authKeyId: Uint8Array): Promise<AuthKeyRecord | undefined> {
    const hex = authKeyIdHex(authKeyId);
    const record = await this.#read(hex);
    if (record !== undefined) await this.#opts.onLoaded?.(hex, record);
    return record;
  }

  async create(authKeyId: Uint8Array, record: AuthKeyRecord): Promise<boolean> {
    const hex = authKeyIdHex(authKeyId);
    const ttl = this.#ttl(record);
    if (ttl !== undefined && ttl <= 0) return true; // expired before it was stored: nothing to keep
    return await this.#state.setIfAbsent(KEY_PREFIX + hex, this.#seal(hex, record), ttl);
  }

  async delete(authKeyId: Uint8Array): Promise<void> {
    const hex = authKeyIdHex(authKeyId);
    const record = await this.#read(hex).catch(() => undefined);
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
    const temp = await this.#read(tempHex);
    if (temp === undefined) return 'gone';
    if (temp.expiresAt === undefined) return 'not-temporary';
    if (temp.boundTo !== undefined && temp.boundTo !== permIdHex) return 'already-bound';
    // The binding message's expires_at may only shorten the key's life (a past or bogus one is ignored).
    const until = expiresAt !== undefined && expiresAt > this.#now() ? Math.min(temp.expiresAt, expiresAt) : temp.expiresAt;
    const ttl = until - this.#now();
    if (ttl <= 0) return 'gone';
    const previous = await this.#state.get(BINDING_PREFIX + permIdHex);
    if (previous !== undefined && previous !== tempHex) {
      // One bound temporary key per permanent key: the previous one goes back to unbound.
      const old = await this.#read(previous).catch(() => undefined);
      if (old?.boundTo === permIdHex && old.expiresAt !== undefined) {
        const oldTtl = old.expiresAt - this.#now();
        if (oldTtl > 0) await this.#state.set(KEY_PREFIX + previous, this.#seal(previous, { key: old.key, expiresAt: old.expiresAt }), oldTtl);
      }
    }
    await this.#state.set(KEY_PREFIX + tempHex, this.#seal(tempHex, { key: temp.key, expiresAt: until, boundTo: permIdHex }), ttl);
    await this.#state.set(BINDING_PREFIX + permIdHex, tempHex, ttl);
    return 'bound';
  }

  /** The record, or undefined when absent, expired or unreadable (logged and counted: refused like an unknown key). */
  async #read(hex: string): Promise<AuthKeyRecord | undefined> {
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
    if (stale) await this.#reseal(hex, record);
    return record;
  }

  /**
   * Rotation: a key opened with a previous KEK (or stored in plaintext before a KEK was set) is
   * written back under the current KEK, so the old KEK can be retired once clients came back.
   */
  async #reseal(hex: string, record: AuthKeyRecord): Promise<void> {
    const ttl = this.#ttl(record);
    if (ttl !== undefined && ttl <= 0) return;
    await this.#state.set(KEY_PREFIX + hex, this.#seal(hex, record), ttl);
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

  #seal(hex: string, record: AuthKeyRecord): string {
    const stored: StoredRecord = { k: Buffer.from(record.key).toString('base64') };
    if (record.expiresAt !== undefined) stored.e = record.expiresAt;
    if (record.boundTo !== undefined) stored.b = record.boundTo;
    return this.#ring.seal(PURPOSE, hex, new Uint8Array(Buffer.from(JSON.stringify(stored), 'utf8')));
  }

  #ttl(record: AuthKeyRecord): number | undefined {
    return record.expiresAt === undefined ? undefined : record.expiresAt - this.#now();
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
  return { key, ...(r.e !== undefined ? { expiresAt: r.e } : {}), ...(r.b !== undefined ? { boundTo: r.b } : {}) };
}
