/**
 * One async critical section per key, in this process: the local store runs "publish content"
 * and "delete content" for the same id under it, so a GC sweep can never delete a file between
 * a concurrent put finding it already there and that put returning its reference.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => { release = resolve; });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work running or waiting (tests: nothing is left behind). */
  get size(): number {
    return this.tails.size;
  }
}
