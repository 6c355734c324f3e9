import { randomBytes } from 'node:crypto';
import { SeenMsgIds } from './seen-ids.ts';

export interface SentMessage {
  seqNo: number;
  body: Uint8Array;
}

/** What the server remembers about one (auth key, session_id) pair. */
export class SessionState {
  readonly authKeyIdHex: string;
  readonly sessionId: bigint;
  readonly uniqueId: bigint = new DataView(randomBytes(8).buffer).getBigInt64(0, true);
  readonly seen: SeenMsgIds;
  /** Set once new_session_created went out (after the first message that passed every check). */
  announced = false;
  /** Content-related messages the server sent: its seqno is 2*count(+1). */
  serverContentCount = 0;
  /** Highest client msg_id accepted and its seqno, for codes 32/33. */
  highestMsgId = 0n;
  highestSeqNo = -1;
  lastUsedMs: number;
  /** Content-related messages we sent and the client has not acknowledged yet, for msg_resend_req (the last sentCapacity). */
  readonly sent = new Map<bigint, SentMessage>();
  readonly #sentCapacity: number;

  constructor(authKeyIdHex: string, sessionId: bigint, nowMs: number, seenCapacity = 1024, sentCapacity = 256) {
    this.authKeyIdHex = authKeyIdHex;
    this.sessionId = sessionId;
    this.lastUsedMs = nowMs;
    this.seen = new SeenMsgIds(seenCapacity);
    this.#sentCapacity = sentCapacity;
  }

  nextSeqNo(contentRelated: boolean): number {
    if (!contentRelated) return this.serverContentCount * 2;
    return this.serverContentCount++ * 2 + 1;
  }

  rememberSent(msgId: bigint, seqNo: number, body: Uint8Array): void {
    this.sent.set(msgId, { seqNo, body });
    while (this.sent.size > this.#sentCapacity) {
      const first = this.sent.keys().next();
      if (first.done === true) break;
      this.sent.delete(first.value);
    }
  }
}

/** All sessions of this process, capped and swept by idle time so clients cannot grow it forever. */
export class SessionRegistry {
  readonly #sessions = new Map<string, SessionState>();
  readonly #max: number;
  readonly #idleMs: number;

  constructor(max = 10_000, idleMs = 30 * 60_000) {
    this.#max = max;
    this.#idleMs = idleMs;
  }

  static key(authKeyIdHex: string, sessionId: bigint): string {
    return `${authKeyIdHex}:${BigInt.asUintN(64, sessionId).toString(16)}`;
  }

  get(authKeyIdHex: string, sessionId: bigint): SessionState | undefined {
    return this.#sessions.get(SessionRegistry.key(authKeyIdHex, sessionId));
  }

  getOrCreate(authKeyIdHex: string, sessionId: bigint, nowMs: number): SessionState {
    const key = SessionRegistry.key(authKeyIdHex, sessionId);
    let s = this.#sessions.get(key);
    if (s === undefined) {
      if (this.#sessions.size >= this.#max) this.#sweep(nowMs);
      s = new SessionState(authKeyIdHex, sessionId, nowMs);
      this.#sessions.set(key, s);
    } else {
      // Re-insert so Map order tracks recency for the sweep.
      this.#sessions.delete(key);
      this.#sessions.set(key, s);
    }
    s.lastUsedMs = nowMs;
    return s;
  }

  delete(authKeyIdHex: string, sessionId: bigint): boolean {
    return this.#sessions.delete(SessionRegistry.key(authKeyIdHex, sessionId));
  }

  deleteAuthKey(authKeyIdHex: string): void {
    for (const [k, s] of this.#sessions) if (s.authKeyIdHex === authKeyIdHex) this.#sessions.delete(k);
  }

  get size(): number {
    return this.#sessions.size;
  }

  #sweep(nowMs: number): void {
    for (const [k, s] of this.#sessions) {
      if (nowMs - s.lastUsedMs > this.#idleMs) this.#sessions.delete(k);
    }
    // Still full: drop the least recently used (Map order).
    while (this.#sessions.size >= this.#max) {
      const first = this.#sessions.keys().next();
      if (first.done === true) break;
      this.#sessions.delete(first.value);
    }
  }
}
