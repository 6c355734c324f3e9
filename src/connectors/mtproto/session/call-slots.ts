// How many API calls of one connection run at once. A stock client sends whatever it has queued
// in one container (gramjs: hundreds of sendMessage calls), and every call started holds its
// decoded request, its canonical event and its promises until the bus delivered the event back.
// Started all at once (up to 1,000 in the chat bench), each waited about 190 ms behind the
// others, outlived the young generation and was copied and then marked by the garbage
// collector. Held here instead, a call not yet started is a few bytes of its frame: with 256 the
// bench's calls took 15-25 ms, the bytes promoted fell to a third and MTProto throughput rose
// about 10% (bench/RESULTS.md, 2026-12-04). Far fewer (64) cost more than they save: the bus
// then batches fewer events per Redis round trip.

export class CallSlots {
  #running = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('a connection runs at least one call at a time');
  }

  get running(): number {
    return this.#running;
  }

  /** Takes a slot: undefined when one was free (taken now), else a promise that resolves once it is taken. */
  acquire(): Promise<void> | undefined {
    if (this.#running < this.limit) {
      this.#running++;
      return undefined;
    }
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Gives a slot back: the longest waiter gets it (first come, first served). */
  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next(); // the slot passes on: running stays the same
    else this.#running--;
  }
}
