import { RE2JS } from 're2js';
import { canonicalParty } from './direct.ts';
import type { CanonicalEvent } from './event.ts';

/**
 * What a room keeps from the other networks (bridges/ `ignore:`, like matterbridge's IgnoreNicks
 * and IgnoreMessages): events of some senders, and messages whose text matches a pattern. Such an
 * event still enters the room's stream (bots read it there: a bot answering `!commands` must see
 * them) and is still shown where it was said, but it is relayed to no other endpoint.
 */
export interface IgnoreRules {
  /** Accounts whose events are never relayed, by network and the id events carry as `sender.id`. */
  readonly senders: readonly { readonly network: string; readonly id: string }[];
  /** Patterns (RE2 syntax): a message or an edit whose text matches one is never relayed. */
  readonly messages: readonly string[];
}

/** Which rule kept an event from the other networks. */
export type IgnoredBy = 'sender' | 'message';

/** Patterns one room may have at most, and the longest: they are compiled and run per event. */
export const MAX_IGNORE_PATTERNS = 16;
export const MAX_IGNORE_PATTERN_CHARS = 256;
/** Senders one room may list at most. */
export const MAX_IGNORED_SENDERS = 256;
/**
 * Patterns see a text's first this many UTF-16 units. RE2 matching takes time linear in the text,
 * but in JS (re2js) about 0.2 µs per character: a whole 64 KiB message would hold up routing for
 * ~12 ms, this bound keeps one event under ~1 ms whatever the patterns and the input.
 */
export const IGNORE_SCAN_CHARS = 4_096;

/**
 * Why a pattern is refused (its RE2 syntax error), or undefined when it compiles. The syntax is
 * RE2's (Go's regexp, as matterbridge's IgnoreMessages): `(?i)` makes it case-insensitive; no
 * backreferences or lookarounds, so every match takes linear time (no catastrophic backtracking,
 * whatever pattern an operator writes and whatever text a user sends).
 */
export function patternProblem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A room's rules, compiled: which rule, if any, keeps an event from the other networks. */
export class IgnoreMatcher {
  readonly #senders: ReadonlySet<string>;
  /** The room's patterns as one alternation: one linear scan per text, whatever their number. */
  readonly #pattern: RE2JS | undefined;

  /** Throws on a pattern that does not compile (the config loader refuses those first, naming the line). */
  constructor(rules: IgnoreRules) {
    this.#senders = new Set(rules.senders.map((s) => senderKey(s.network, s.id)));
    this.#pattern = rules.messages.length === 0 ? undefined : RE2JS.compile(rules.messages.map((p) => `(?:${p})`).join('|'));
  }

  /** Whether the rules keep nothing back (a room with an empty `ignore:`). */
  get empty(): boolean {
    return this.#senders.size === 0 && this.#pattern === undefined;
  }

  match(event: CanonicalEvent): IgnoredBy | undefined {
    if (this.#senders.size > 0 && this.#senders.has(senderKey(event.sender.network, event.sender.id))) return 'sender';
    if (this.#pattern !== undefined && (event.kind === 'message' || event.kind === 'edit') && event.text.length > 0) {
      const text = event.text.length > IGNORE_SCAN_CHARS ? event.text.slice(0, IGNORE_SCAN_CHARS) : event.text;
      if (this.#pattern.matcher(text).find()) return 'message';
    }
    return undefined;
  }
}

/**
 * One spelling per sender: an XMPP address's bare part is case-folded (RFC 7622 profiles, as
 * direct chats and identities compare them), its resource (an anonymous occupant's nick) kept as is.
 */
function senderKey(network: string, id: string): string {
  if (network !== 'xmpp') return `${network}\0${id}`;
  const slash = id.indexOf('/');
  const bare = slash === -1 ? id : id.slice(0, slash);
  return `${network}\0${canonicalParty({ network, id: bare }).id}${slash === -1 ? '' : id.slice(slash)}`;
}
