import type { PresenceState } from '../core/capabilities.ts';

/**
 * What a state becomes on a target that cannot show it, nearest first: someone away is still
 * there (better "away" than "offline"), someone busy is at least away. Available and offline are
 * what every network with presence shows.
 */
const FALLBACKS: Readonly<Record<PresenceState, readonly PresenceState[]>> = {
  available: ['available'],
  away: ['away', 'xa', 'available'],
  xa: ['xa', 'away', 'available'],
  dnd: ['dnd', 'away', 'xa', 'available'],
  offline: ['offline'],
};

/**
 * Ranking of one person's states across their linked accounts (lower is more present): the
 * person shows the most present state of any account, so closing the web client while the
 * XMPP client stays open keeps them available.
 */
export const PRESENCE_RANK: Readonly<Record<PresenceState, number>> = { available: 0, dnd: 1, away: 2, xa: 3, offline: 4 };

/** The state tables of mappings/presence.yaml, canonical to native. A network without a table uses the canonical names. */
export class PresenceStates {
  private readonly toNativeByNetwork = new Map<string, Map<PresenceState, string>>();

  constructor(tables: Readonly<Record<string, Readonly<Record<string, PresenceState>>>>) {
    for (const [network, table] of Object.entries(tables)) {
      const reverse = new Map<PresenceState, string>();
      for (const [native, canonical] of Object.entries(table)) {
        // The native name spelled like the canonical one wins (xmpp `available`, not `chat`); else the first listed.
        if (!reverse.has(canonical) || native === canonical) reverse.set(canonical, native);
      }
      this.toNativeByNetwork.set(network, reverse);
    }
  }

  /**
   * The state as `network` can show it: the nearest state it supports (its declared presence
   * states, and its table when it has one) with its native name; undefined when it can show none.
   */
  forTarget(network: string, state: PresenceState, supported: readonly PresenceState[]): { state: PresenceState; native: string } | undefined {
    const names = this.toNativeByNetwork.get(network);
    for (const candidate of FALLBACKS[state]) {
      if (!supported.includes(candidate)) continue;
      if (!names) return { state: candidate, native: candidate };
      const native = names.get(candidate);
      if (native !== undefined) return { state: candidate, native };
    }
    return undefined;
  }
}
