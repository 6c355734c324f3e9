import type { AuthKeyRecord } from '../store/auth-key-store.ts';

/** How long a cached key is trusted before the store is asked again (destroyed elsewhere, rebound, re-sealed). */
export const KEY_REVALIDATE_MS = 60_000;

interface Entry {
  record: AuthKeyRecord;
  /** ms: the key's own expiry (temporary keys) or the next revalidation, whichever comes first. */
  until: number;
}

/**
 * Auth keys recently used on this server, shared by all its connections: saves a store round
 * trip (and an unseal) per frame. destroy_auth_key deletes from here as well as from the store,
 * so the key stops working on every connection of this server at once; what another instance
 * changed (a key destroyed there, a temporary key rebound) is seen within KEY_REVALIDATE_MS.
 * A temporary key leaves the cache when it expires, so an expired key is refused at once.
 */
export class KeyCache {
  readonly #keys = new Map<string, Entry>();
  readonly #max: number;
  readonly #revalidateMs: number;
  readonly #now: () => number;
  /** Bumped by every delete: a load that started before it must not cache what it read. */
  #epoch = 0;

  constructor(opts: { maxEntries?: number; revalidateMs?: number; now?: () => number } = {}) {
    this.#max = opts.maxEntries ?? 100_000;
    this.#revalidateMs = opts.revalidateMs ?? KEY_REVALIDATE_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** The cached record while it is fresh, else `load()`'s answer (cached unless a delete happened meanwhile). */
  async get(keyHex: string, load: () => Promise<AuthKeyRecord | undefined>): Promise<AuthKeyRecord | undefined> {
    const now = this.#now();
    const hit = this.#keys.get(keyHex);
    if (hit !== undefined) {
      if (hit.until > now) return hit.record;
      this.#keys.delete(keyHex);
    }
    const epoch = this.#epoch;
    const record = await load();
    if (record !== undefined && epoch === this.#epoch) {
      if (this.#keys.size >= this.#max) {
        const oldest = this.#keys.keys().next();
        if (oldest.done !== true) this.#keys.delete(oldest.value);
      }
      this.#keys.set(keyHex, { record, until: Math.min(record.expiresAt ?? Infinity, this.#now() + this.#revalidateMs) });
    }
    return record;
  }

  /** Forgets a key, and the temporary keys bound to it (a destroyed permanent key takes them along). */
  delete(keyHex: string): void {
    this.#epoch++;
    this.#keys.delete(keyHex);
    // Rare (destroy_auth_key), so a scan beats keeping a reverse index on every load.
    for (const [k, e] of this.#keys) if (e.record.boundTo === keyHex) this.#keys.delete(k);
  }
}
