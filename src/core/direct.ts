import { LIMITS } from './event.ts';
import type { Endpoint, RoutingView } from './endpoint.ts';
import type { CanonicalEvent } from './event.ts';

/**
 * Direct chats: a conversation between two people is a canonical room of its own, derived from
 * the two of them, never configured. Its key is `dm:<party>|<party>`, each party written
 * `<network>:<escaped id>` and the two in a fixed (sorted) order, so that both sides, on any
 * network and any instance, compute the same key with no table to keep:
 *
 *   dm:websocket:carol|xmpp:alice@example.org
 *
 * The id is escaped with encodeURIComponent, `@` excepted (kept for readable JIDs): `:` and `|`
 * never appear raw in an id, so the key splits back into its parties unambiguously, and a key
 * that does not encode back to itself (another escaping, another order) is not a direct room.
 *
 * Ids are written in their network's canonical form first (an XMPP address in lower case:
 * canonicalParty), so every spelling of one account gives the same key.
 *
 * A canonical room key has at most LIMITS.roomChars (256) characters. A pair whose key would be
 * longer has no direct chat: a hash would keep the key short, but the router must read the two
 * parties back out of the key to route an event (it is pure and keeps no table), and a hash
 * cannot be read back. In practice that takes an XMPP address of about 200 characters: WS token
 * names have at most 64, MTProto ids about 20.
 */

/** One side of a direct chat: a person's account on one network. */
export interface DirectParty {
  /** The network (connector name), as in `origin.connector`. */
  readonly network: string;
  /** The account's id on that network (a WS token name, an XMPP bare JID, an MTProto user id). */
  readonly id: string;
}

export const DIRECT_ROOM_PREFIX = 'dm:';
const PARTY_SEPARATOR = '|';
const NETWORK = /^[a-z0-9-]{1,64}$/;

/** Whether a canonical room key names a direct chat (well-formed or not: such a key is never a bridge's). */
export function isDirectRoom(room: string): boolean {
  return room.startsWith(DIRECT_ROOM_PREFIX);
}

function escapeId(id: string): string | undefined {
  try {
    return encodeURIComponent(id).replace(/%40/g, '@');
  } catch {
    return undefined; // a lone surrogate: not text
  }
}

/**
 * Ids one account has in several spellings, written one way before they make a key. XMPP
 * addresses compare case-insensitively (RFC 7622: the domain is case-folded, and servers map a
 * localpart's case with the PRECIS username profile, as nodeprep did before), so
 * `Alice@Example.org` and `alice@example.org` are one person and must be one direct chat, not two.
 * Other networks' ids are taken as they are (WS token names and MTProto ids are exact).
 */
const ID_FORMS: ReadonlyMap<string, (id: string) => string> = new Map([
  ['xmpp', (id: string) => id.normalize('NFC').toLowerCase()],
]);

/** `party` with its id in the one form its network writes it in (see ID_FORMS). */
export function canonicalParty(party: DirectParty): DirectParty {
  const form = ID_FORMS.get(party.network);
  return form === undefined ? party : { network: party.network, id: form(party.id) };
}

function partyText(given: DirectParty): string | undefined {
  if (!NETWORK.test(given.network) || given.id.length === 0 || given.id.length > LIMITS.idChars) return undefined;
  const party = canonicalParty(given);
  const id = escapeId(party.id);
  return id === undefined ? undefined : `${party.network}:${id}`;
}

/**
 * The canonical room of the direct chat between `a` and `b` (in either order), or undefined when
 * a party is not valid (network not a-z 0-9 -, empty or over-long id, not text) or the key would
 * pass LIMITS.roomChars.
 */
export function directRoom(a: DirectParty, b: DirectParty): string | undefined {
  const pa = partyText(a);
  const pb = partyText(b);
  if (pa === undefined || pb === undefined) return undefined;
  const [first, second] = pa <= pb ? [pa, pb] : [pb, pa];
  const key = `${DIRECT_ROOM_PREFIX}${first}${PARTY_SEPARATOR}${second}`;
  return key.length <= LIMITS.roomChars ? key : undefined;
}

function parseParty(text: string): DirectParty | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  const network = text.slice(0, colon);
  if (!NETWORK.test(network)) return undefined;
  try {
    const id = decodeURIComponent(text.slice(colon + 1));
    return id.length > 0 ? { network, id } : undefined;
  } catch {
    return undefined;
  }
}

/** The two parties of a direct room, in key order, or undefined when `room` is not a direct room in canonical form. */
export function parseDirectRoom(room: string): readonly [DirectParty, DirectParty] | undefined {
  if (!isDirectRoom(room) || room.length > LIMITS.roomChars) return undefined;
  const parts = room.slice(DIRECT_ROOM_PREFIX.length).split(PARTY_SEPARATOR);
  if (parts.length !== 2) return undefined;
  const a = parseParty(parts[0] as string);
  const b = parseParty(parts[1] as string);
  if (!a || !b || directRoom(a, b) !== room) return undefined;
  return [a, b];
}

/** Whether an endpoint is this party's own (a direct chat reaches a person at `{ network, id }`). */
export function isPartyEndpoint(party: DirectParty, endpoint: Endpoint): boolean {
  return party.network === endpoint.connector && party.id === endpoint.address;
}

/** Where a party is reached: its network's connector, its id as the address. */
export function partyEndpoint(party: DirectParty): Endpoint {
  return { connector: party.network, address: party.id };
}

/**
 * The other party of a direct room as seen by `self`, or undefined when `self` is not a party of
 * it (or it is not a direct room). A chat with oneself answers oneself.
 */
export function peerOf(room: string, self: DirectParty): DirectParty | undefined {
  const parties = parseDirectRoom(room);
  if (!parties) return undefined;
  const [a, b] = parties;
  if (a.network === self.network && a.id === self.id) return b;
  if (b.network === self.network && b.id === self.id) return a;
  return undefined;
}

/**
 * Whether a direct chat's event reaches `party` (the router sends it to their endpoint), and if
 * not, why: `ignored` when config.yaml's `ignore:` names the sender (their direct chats stay on
 * their own network), else `unreachable` (the party's network does not run or take direct chats
 * here). Connectors ask before publishing, to refuse or drop with the right answer.
 */
export function directReach(routing: Pick<RoutingView, 'route'>, event: CanonicalEvent, party: DirectParty): 'reaches' | 'unreachable' | 'ignored' {
  let ignored = false;
  const reaches = routing.route(event, () => { ignored = true; }).some((ep) => isPartyEndpoint(party, ep));
  return reaches ? 'reaches' : ignored ? 'ignored' : 'unreachable';
}
