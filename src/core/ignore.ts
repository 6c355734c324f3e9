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

/**
 * Texts whose pattern verdict a room remembers, by event id (the newest). The router asks about an
 * event once when routing it live, and again for every WS session it replays to and every history
 * page it is in: remembered, those cost a map lookup instead of a scan (bench/router-ignore.ts:
 * 14x less for a chat line, some 700x for 4 KiB, bench/RESULTS.md). Recent events are what
 * reconnecting clients replay and history pages show first; about 200 KiB per room with patterns
 * at most. An event id always names the same text, and the rules never change under a matcher (a
 * reload makes a new one). 0 switches the memory off.
 */
export const REMEMBERED_VERDICTS = 2_048;

/** A room's rules, compiled: which rule, if any, keeps an event from the other networks. */
export class IgnoreMatcher {
  readonly #senders: ReadonlySet<string>;
  /** The room's patterns as one alternation: one linear scan per text, whatever their number. */
  readonly #pattern: RE2JS | undefined;
  /** Pattern verdicts by event id, oldest first (REMEMBERED_VERDICTS). */
  readonly #verdicts = new Map<string, boolean>();
  readonly #remembered: number;

  /** Throws on a pattern that does not compile (the config loader refuses those first, naming the line). */
  constructor(rules: IgnoreRules, remembered = REMEMBERED_VERDICTS) {
    this.#senders = new Set(rules.senders.map((s) => senderKey(s.network, s.id)));
    this.#pattern = rules.messages.length === 0 ? undefined : RE2JS.compile(rules.messages.map((p) => `(?:${p})`).join('|'));
    this.#remembered = remembered;
  }

  /** Whether the rules keep nothing back (a room with an empty `ignore:`). */
  get empty(): boolean {
    return this.#senders.size === 0 && this.#pattern === undefined;
  }

  match(event: CanonicalEvent): IgnoredBy | undefined {
    if (this.#senders.size > 0 && this.#senders.has(senderKey(event.sender.network, event.sender.id))) return 'sender';
    if (this.#pattern !== undefined && (event.kind === 'message' || event.kind === 'edit') && event.text.length > 0) {
      if (this.#textMatches(event.id, event.text)) return 'message';
    }
    return undefined;
  }

  #textMatches(id: string, text: string): boolean {
    const known = this.#verdicts.get(id);
    if (known !== undefined) return known;
    const matches = this.#pattern!.matcher(text.length > IGNORE_SCAN_CHARS ? text.slice(0, IGNORE_SCAN_CHARS) : text).find();
    if (this.#remembered > 0) {
      if (this.#verdicts.size >= this.#remembered) this.#verdicts.delete(this.#verdicts.keys().next().value!);
      this.#verdicts.set(id, matches);
    }
    return matches;
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
