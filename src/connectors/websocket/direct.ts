import { canonicalParty, directRoom, peerOf, type DirectParty } from '../../core/direct.ts';
import { CONNECTOR } from './inbound.ts';

/**
 * Direct chats as WS rooms (docs/websocket-protocol.md, "Direct chats"): a token's chat with a
 * person is the WS room `@<network>:<id>`, named after the other party (`@xmpp:alice@example.org`,
 * `@websocket:dave`). Bridge rooms never start with `@` (config refuses it), so the two kinds of
 * names cannot meet. The canonical room is the direct room of the token and that person
 * (src/core/direct.ts); the token's own name is the WS party, so a token only ever speaks as itself.
 */

export const DIRECT_PREFIX = '@';

/** Whether a WS room name addresses a direct chat (well-formed or not). */
export function isDirectAddress(wsRoom: string): boolean {
  return wsRoom.startsWith(DIRECT_PREFIX);
}

/** The WS room name of a chat with `peer`. */
export function directAddress(peer: DirectParty): string {
  return `${DIRECT_PREFIX}${peer.network}:${peer.id}`;
}

/** The token's own party in its direct chats. */
export function selfParty(tokenName: string): DirectParty {
  return { network: CONNECTOR, id: tokenName };
}

export type DirectChat =
  /** `wsRoom`: the chat's name in its canonical spelling (`@xmpp:Alice@Example.org` is `@xmpp:alice@example.org`): what answers and events carry. */
  | { ok: true; peer: DirectParty; room: string; wsRoom: string }
  | { ok: false; message: string };

const NETWORK = /^[a-z0-9-]{1,64}$/;

/**
 * Resolves `@<network>:<id>` for a token: the person and the canonical room of their chat. The id
 * is everything after the first `:` (JIDs and token names carry no `:` before their end).
 */
export function resolveDirect(tokenName: string, wsRoom: string): DirectChat {
  const rest = wsRoom.slice(DIRECT_PREFIX.length);
  const colon = rest.indexOf(':');
  const network = colon > 0 ? rest.slice(0, colon) : '';
  const id = colon > 0 ? rest.slice(colon + 1) : '';
  if (!NETWORK.test(network) || id.length === 0) {
    return { ok: false, message: `"${wsRoom.slice(0, 80)}" is not a direct chat address: write @<network>:<id>, e.g. @xmpp:alice@example.org or @websocket:bob` };
  }
  const room = directRoom(selfParty(tokenName), { network, id });
  if (room === undefined) return { ok: false, message: `no direct chat with "${wsRoom.slice(0, 80)}": the address is not valid text or too long for a room key` };
  const peer = canonicalParty({ network, id });
  return { ok: true, peer, room, wsRoom: directAddress(peer) };
}

/** The WS room under which a token sees a direct room (the other party), or undefined if the token is not a party of it. */
export function addressFor(tokenName: string, room: string): string | undefined {
  const peer = peerOf(room, selfParty(tokenName));
  return peer === undefined ? undefined : directAddress(peer);
}
