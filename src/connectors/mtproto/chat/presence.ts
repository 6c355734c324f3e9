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
}

export class PresenceBook {
  readonly #status = new Map<bigint, Status>();

  set(userId: bigint, state: PresenceState, at: number): void {
    this.#status.delete(userId);
    this.#status.set(userId, { state, at });
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
