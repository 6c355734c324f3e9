import type { PresenceState } from '../core/capabilities.ts';

/**
 * The tables the mapper applies, as plain data (the app builds them from mappings/; the mapper
 * knows nothing of files). Replaced whole on a reload: a mapper never sees half of a change.
 */
export interface MapperTables {
  readonly identities: readonly LinkedIdentity[];
  /** Display-name templates: per target network, else `default`. */
  readonly displayNames: DisplayNameTemplates;
  /** Per network: native presence state name -> canonical state. */
  readonly presenceStates: Readonly<Record<string, Readonly<Record<string, PresenceState>>>>;
  /** Changes of one person's presence, typing or membership within this window reach a target at most once (the last one), in ms. */
  readonly coalesceMs: number;
}

export interface LinkedIdentity {
  readonly canonical: string;
  readonly displayName?: string;
  readonly avatar?: string;
  /** network -> native account id on it (a WS token name, a bare JID, an MTProto user id). */
  readonly accounts: Readonly<Record<string, string>>;
}

export interface DisplayNameTemplates {
  readonly default: string;
  readonly byTarget: Readonly<Record<string, string>>;
  /** How `{network}` is written, per source network (default: the network's name). */
  readonly networkNames: Readonly<Record<string, string>>;
}

export const DEFAULT_DISPLAY_NAME_TEMPLATE = '{name} ({network})';

export const EMPTY_TABLES: MapperTables = {
  identities: [],
  displayNames: { default: DEFAULT_DISPLAY_NAME_TEMPLATE, byTarget: {}, networkNames: {} },
  presenceStates: {},
  coalesceMs: 2_000,
};

/** Settings of the mapper itself (config.yaml `mapper:`), fixed for the process's life. */
export interface MapperSettings {
  /** Recent messages remembered for quotes in fallbacks (reply, correction, reaction). */
  readonly recentMessages: number;
  /** How much of an original a fallback quotes, in characters. */
  readonly quoteChars: number;
  /** People x targets whose last delivered presence/typing/membership is remembered (the oldest are forgotten first). */
  readonly maxTrackedStates: number;
}

export const DEFAULT_SETTINGS: MapperSettings = { recentMessages: 10_000, quoteChars: 80, maxTrackedStates: 100_000 };
