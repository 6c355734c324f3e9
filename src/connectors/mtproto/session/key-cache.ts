/**
 * Auth keys recently used on this server, shared by all its connections: saves a store round
 * trip per frame. destroy_auth_key deletes from here as well as from the store, so the key stops
 * working on every connection of this server at once.
 */
export class KeyCache {
  readonly #keys = new Map<string, Uint8Array>();
  readonly #max: number;
  /** Bumped by every delete: a load that started before it must not cache what it read. */
  #epoch = 0;

  constructor(maxEntries = 100_000) {
    this.#max = maxEntries;
  }

  /** The cached key, else `load()`'s answer (cached unless a delete happened meanwhile). */
  async get(keyHex: string, load: () => Promise<Uint8Array | undefined>): Promise<Uint8Array | undefined> {
    const hit = this.#keys.get(keyHex);
    if (hit !== undefined) return hit;
    const epoch = this.#epoch;
    const key = await load();
    if (key !== undefined && epoch === this.#epoch) {
      if (this.#keys.size >= this.#max) {
        const oldest = this.#keys.keys().next();
        if (oldest.done !== true) this.#keys.delete(oldest.value);
      }
      this.#keys.set(keyHex, key);
    }
    return key;
  }

  delete(keyHex: string): void {
    this.#epoch++;
    this.#keys.delete(keyHex);
  }
}
