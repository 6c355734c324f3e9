/** Time as the mapper sees it: real in the app, virtual in tests and in the presence-storm bench. */
export interface Clock {
  now(): number;
  /** Runs `fn` after `ms`; the answer cancels it. Must not keep the process alive. */
  schedule(fn: () => void, ms: number): () => void;
}

export const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  schedule: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** A clock that moves only when told to: timers run in time order as `advance` passes them. */
export class ManualClock implements Clock {
  private time: number;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  private nextId = 0;

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  schedule(fn: () => void, ms: number): () => void {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return () => { this.timers.delete(id); };
  }

  /** Moves time forward to `now + ms`, running every timer due on the way, in order (ties in scheduling order). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= end && (due === undefined || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = Math.max(this.time, due[1].at);
      due[1].fn();
    }
    this.time = end;
  }

  /** Timers still waiting. */
  get pending(): number {
    return this.timers.size;
  }
}
