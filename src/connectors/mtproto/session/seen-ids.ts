/**
 * Replay protection for one session: the client msg_ids seen lately, bounded. Ids pushed out
 * raise the floor; anything at or below the floor that we no longer hold is "too old to verify"
 * (bad_msg_notification 20) instead of being accepted twice.
 */
export interface SeenInfo {
  contentRelated: boolean;
  answered: boolean;
}

export class SeenMsgIds {
  readonly #ids = new Map<bigint, SeenInfo>();
  readonly #capacity: number;
  #floor = 0n;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  get(msgId: bigint): SeenInfo | undefined {
    return this.#ids.get(msgId);
  }

  /** True when msgId is neither held nor above the floor: its fate can no longer be known. */
  isBelowWindow(msgId: bigint): boolean {
    return msgId <= this.#floor && !this.#ids.has(msgId);
  }

  get floor(): bigint {
    return this.#floor;
  }

  add(msgId: bigint, info: SeenInfo): void {
    this.#ids.set(msgId, info);
    while (this.#ids.size > this.#capacity) {
      let oldest: bigint | undefined;
      for (const id of this.#ids.keys()) { oldest = id; break; }
      if (oldest === undefined) break;
      this.#ids.delete(oldest);
      if (oldest > this.#floor) this.#floor = oldest;
    }
  }
}
