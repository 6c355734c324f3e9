/**
 * A Map that keeps at most `cap` entries, forgetting the oldest insertion first, and entries older
 * than `ttlMs`. The in-process twin of the bounded Redis structures (transactions, id map).
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, { value: V; at: number }>();

  constructor(private readonly cap: number, private readonly ttlMs = Number.POSITIVE_INFINITY, private readonly now: () => number = Date.now) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.at >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Sets a value (a key set again counts as new). Returns what was evicted to keep the cap. */
  set(key: K, value: V): [K, V][] {
    this.entries.delete(key);
    this.entries.set(key, { value, at: this.now() });
    const evicted: [K, V][] = [];
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.cap && this.now() - e.at < this.ttlMs) break;
      this.entries.delete(k);
      evicted.push([k, e.value]);
    }
    return evicted;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
