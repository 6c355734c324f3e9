/**
 * One async critical section per key, in this process, taken in call order. The media stores run
 * "publish content" and "delete content" for the same id under it, so a GC sweep can never delete
 * a file between a concurrent put finding it already there and that put returning its reference;
 * the WS direct-chat index and the room-topic record queue their read-then-write of one key under it;
 * under a single key it is a plain queue (reloads, the MTProto log writers, account reloads).
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

  /** Resolves once no work is running or waiting under any key (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }

  /** Keys with work running or waiting (tests: nothing is left behind). */
  get size(): number {
    return this.tails.size;
  }
}
