// One session's publishes leave in the order its calls came: the bus keeps the order of publish
// calls, but the calls of one connection now run concurrently (the session layer does not wait
// for an answer before reading the next frame), and a call that waits for something first (a
// message it replies to, a cache miss) would otherwise be overtaken by a later one. Each
// publishing call takes a turn when it starts; it publishes once the turn before it has.

export interface Turn {
  /** Resolves once every earlier call of the session has published (or given up). */
  readonly ready: Promise<void>;
  /** This call published (or will not): the next one may go. Idempotent. */
  release(): void;
}

const NO_WAIT: Turn = { ready: Promise.resolve(), release: () => {} };

export class PublishOrder {
  readonly #tails = new Map<string, Promise<void>>();

  /** A turn in `session`'s order (no session: nothing to keep in order with). */
  take(session: string | undefined): Turn {
    if (session === undefined) return NO_WAIT;
    const ready = this.#tails.get(session) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => { release = resolve; });
    this.#tails.set(session, mine);
    let released = false;
    return {
      ready,
      release: () => {
        if (released) return;
        released = true;
        release();
        // The last turn of a quiet session leaves nothing behind.
        if (this.#tails.get(session) === mine) this.#tails.delete(session);
      },
    };
  }
}
