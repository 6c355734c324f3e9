import type { ShownPresence } from './contacts.ts';
import type { CanonicalPresenceState } from './stanza/presence.ts';

/** Lower is more present: a user shows the most present state of any of their resources. */
const RANK: Record<CanonicalPresenceState, number> = { available: 0, dnd: 1, away: 2, xa: 3, offline: 4 };

/** (user, puppet) pairs whose resources are tracked at most; the oldest is forgotten first. */
const MAX_PAIRS = 100_000;
/** Resources tracked per pair at most. */
const MAX_RESOURCES = 32;

/**
 * An XMPP user's presence towards one puppet, out of the presences of their resources (RFC 6121
 * §4: each resource has its own): the most present state wins (its status with it), and the
 * user is offline only when every resource is. `update` answers the user's presence when it
 * changed, so one person's state reaches the other network once per change, not once per device.
 * Held in memory by the component holder: after a takeover the first change of each user is
 * published even if it repeats the last one.
 */
export class UserPresence {
  private readonly pairs = new Map<string, { resources: Map<string, ShownPresence>; shown: ShownPresence | undefined }>();

  update(user: string, puppet: string, resource: string, presence: ShownPresence): ShownPresence | undefined {
    const key = `${user}\n${puppet}`;
    let pair = this.pairs.get(key);
    if (pair) this.pairs.delete(key);
    else pair = { resources: new Map(), shown: undefined };
    this.pairs.set(key, pair);
    if (this.pairs.size > MAX_PAIRS) this.pairs.delete(this.pairs.keys().next().value as string);

    if (presence.state === 'offline') pair.resources.delete(resource);
    else {
      pair.resources.delete(resource);
      pair.resources.set(resource, presence);
      if (pair.resources.size > MAX_RESOURCES) pair.resources.delete(pair.resources.keys().next().value as string);
    }
    let best: ShownPresence = presence.state === 'offline' ? presence : { state: 'offline' };
    if (pair.resources.size > 0) {
      best = { state: 'offline' };
      // Later resources win ties: the newest change among equally present devices shows.
      for (const p of pair.resources.values()) if (RANK[p.state] <= RANK[best.state]) best = p;
    }
    const before = pair.shown;
    pair.shown = best;
    // Offline with nothing shown before is no news (servers send an unavailable presence when a
    // subscription is granted, before the available one).
    if (!before) return best.state === 'offline' ? undefined : best;
    return before.state === best.state && before.status === best.status ? undefined : best;
  }

  /** What the user shows towards the puppet now (undefined: nothing yet). */
  shownOf(user: string, puppet: string): ShownPresence | undefined {
    return this.pairs.get(`${user}\n${puppet}`)?.shown;
  }

  /**
   * The puppets the user shows a presence to. A scan of every pair: it serves only rare events (a
   * user's avatar arriving), and an index beside the pairs would have to be kept in step with them.
   */
  puppetsOf(user: string): string[] {
    const prefix = `${user}\n`;
    const out: string[] = [];
    for (const [key, pair] of this.pairs) if (pair.shown !== undefined && key.startsWith(prefix)) out.push(key.slice(prefix.length));
    return out;
  }
}
