/**
 * MTProto message identifiers: (unixtime << 32) | fraction, where the low two bits say who made
 * them. Clients use 0 mod 4; the server uses 1 mod 4 for responses and 3 mod 4 for everything else.
 */

export type ServerMsgKind = 'response' | 'notification';

/** How far a client's msg_id may lag / lead our clock (core.telegram.org/mtproto/description). */
export const MSG_ID_MAX_PAST_S = 300;
export const MSG_ID_MAX_FUTURE_S = 30;

export function msgIdSeconds(msgId: bigint): number {
  return Number(msgId >> 32n);
}

/** Strictly increasing server msg_ids; one generator per server process is monotonic per session too. */
export class ServerMsgIdGenerator {
  #last = 0n;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  next(kind: ServerMsgKind): bigint {
    const tail = kind === 'response' ? 1n : 3n;
    const ms = this.#now();
    const seconds = BigInt(Math.floor(ms / 1000));
    // Fraction of the second in the low 32 bits, as clients do, so ids stay close to real time.
    const fraction = (BigInt(ms % 1000) * 4294967n) & ~3n;
    let id = (seconds << 32n) | fraction | tail;
    if (id <= this.#last) id = (((this.#last >> 2n) + 1n) << 2n) | tail;
    this.#last = id;
    return id;
  }
}

/** The msg_id a client makes at `ms` (seconds in the upper half, the fraction of the second below). */
export function msgIdAt(ms: number): bigint {
  return (BigInt(Math.floor(ms / 1000)) << 32n) | ((BigInt(Math.floor(ms) % 1000) * 4294967n) & ~3n);
}

export type ClientMsgIdVerdict = 'ok' | 'too-old' | 'too-new' | 'bad-parity';

/**
 * Checks of a client msg_id against server time (bad_msg_notification codes 16/17/18).
 * `floorMs`: ids made before it are 'too-old' too (the restart floor: a process that does not
 * remember the ids seen before it started refuses them, and the client re-syncs and re-sends).
 */
export function checkClientMsgId(msgId: bigint, nowMs: number, floorMs = 0): ClientMsgIdVerdict {
  if (msgId <= 0n || (msgId & 3n) !== 0n) return 'bad-parity';
  const seconds = msgIdSeconds(msgId);
  const now = nowMs / 1000;
  if (seconds < now - MSG_ID_MAX_PAST_S) return 'too-old';
  if (floorMs > 0 && msgId < msgIdAt(floorMs)) return 'too-old';
  if (seconds > now + MSG_ID_MAX_FUTURE_S) return 'too-new';
  return 'ok';
}
