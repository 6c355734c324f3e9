import type { PresenceState } from '../core/capabilities.ts';
import { PRESENCE_RANK } from './presence-states.ts';

interface AccountState {
  readonly state: PresenceState;
  readonly status: string | undefined;
  /** Order of arrival: among equally present accounts the latest change shows. */
  readonly seq: number;
}

/**
 * One linked person's presence out of their accounts' presences: a person with an XMPP and an
 * MTProto account shows on a third network as one puppet, in the most present state of any of
 * their accounts (PRESENCE_RANK), so closing one client while another stays open changes nothing
 * there. Kept per target endpoint and person (it is what that endpoint was told), bounded.
 */
export class PresenceAggregate {
  private readonly people = new Map<string, Map<string, AccountState>>();
  private seq = 0;

  constructor(private readonly maxPeople: number) {}

  /** Records an account's new state and answers the person's. */
  update(endpoint: string, person: string, account: string, state: PresenceState, status: string | undefined): { state: PresenceState; status: string | undefined } {
    const key = `${endpoint}\0${person}`;
    let accounts = this.people.get(key);
    if (accounts) {
      this.people.delete(key); // re-inserted below: the Map's order is the LRU order
    } else {
      accounts = new Map();
      if (this.people.size >= this.maxPeople) {
        const oldest = this.people.keys().next();
        if (!oldest.done) this.people.delete(oldest.value);
      }
    }
    this.people.set(key, accounts);
    accounts.set(account, { state, status, seq: ++this.seq });
    let best: AccountState | undefined;
    for (const s of accounts.values()) {
      if (!best || PRESENCE_RANK[s.state] < PRESENCE_RANK[best.state] || (PRESENCE_RANK[s.state] === PRESENCE_RANK[best.state] && s.seq > best.seq)) best = s;
    }
    return best ? { state: best.state, status: best.status } : { state, status };
  }
}
