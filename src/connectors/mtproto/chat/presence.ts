// What clients see as a user's status (userStatus*), from the canonical presence of people of
// other networks and from accounts' own account.updateStatus. Process memory, bounded: a status
// nobody reported is "recently", which is what Telegram shows for hidden ones.
import type { TlObject } from '../tl/codec.ts';
import type { PresenceState } from '../../../core/capabilities.ts';

/** How long "online" lasts without a new report (Telegram's clients use 5 minutes). */
const ONLINE_SECONDS = 300;
const MAX_USERS = 100_000;

interface Status {
  state: PresenceState;
  /** Unix seconds of the report (or the last-seen time it carried). */
  at: number;
  /** When it was reported (ms): a report older than the one held is late, and changes nothing. */
  reportedMs: number;
}

export class PresenceBook {
  readonly #status = new Map<bigint, Status>();

  /**
   * A report of `userId`'s presence, made at `reportedMs`. One older than the report held is
   * dropped: an account's own status, set here at once by its call, must not be undone by the
   * bus delivering an earlier event of it late (the "offline" a hidden status tells the other
   * networks, published a moment before the account said it is online again).
   */
  set(userId: bigint, state: PresenceState, at: number, reportedMs: number = at * 1000): void {
    const held = this.#status.get(userId);
    if (held !== undefined && reportedMs < held.reportedMs) return;
    this.#status.delete(userId);
    this.#status.set(userId, { state, at, reportedMs });
    if (this.#status.size > MAX_USERS) {
      const oldest = this.#status.keys().next();
      if (oldest.done !== true) this.#status.delete(oldest.value);
    }
  }

  statusOf(userId: bigint, now: number): TlObject {
    const s = this.#status.get(userId);
    if (s === undefined) return { _: 'userStatusRecently' };
    switch (s.state) {
      case 'available':
        return s.at + ONLINE_SECONDS > now ? { _: 'userStatusOnline', expires: s.at + ONLINE_SECONDS } : { _: 'userStatusOffline', was_online: s.at + ONLINE_SECONDS };
      case 'offline':
        return { _: 'userStatusOffline', was_online: s.at };
      default:
        // away, dnd, xa: Telegram has no such states; "recently" is the honest approximation.
        return { _: 'userStatusRecently' };
    }
  }
}
