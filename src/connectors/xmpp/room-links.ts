import type { EndpointChange } from '../connector.ts';
import type { Direction, Endpoint } from '../../core/endpoint.ts';
import { roomJidProblem } from './room-jid.ts';

/** What a bridges/ reload asks of the XMPP connector, room by room (see planRoomLinks). */
export interface RoomLinkPlan {
  /** Every room served from now on, by room JID. */
  readonly serve: ReadonlyMap<string, Endpoint>;
  /** Rooms to serve from now on that were not served: the relay joins them. */
  readonly link: readonly Endpoint[];
  /** Rooms served until now and no more: everyone of ours leaves them. */
  readonly unlink: readonly string[];
  /** Rooms served still, under another canonical room: nothing to do with the server. */
  readonly moved: readonly { readonly room: string; readonly from: string; readonly to: string }[];
  /** Rooms served still (or linked now), bridged another way from now on (directions.ts); also when moved at once. */
  readonly redirected: readonly { readonly room: string; readonly from: Direction; readonly to: Direction }[];
  /** Addresses that are no room JID (the app's check refuses them first): not served, logged. */
  readonly refused: readonly { readonly address: string; readonly problem: string }[];
}

/**
 * Compares the rooms served now (`served`, keyed by room JID) with a reload's change. What is
 * served from now on is `change.endpoints` (the new table's word), not the served set patched
 * with added/removed: the same change told twice, or one told after an endpoint was refused at
 * start, still ends with exactly the new table's rooms served.
 */
export function planRoomLinks(served: ReadonlyMap<string, Endpoint>, change: EndpointChange): RoomLinkPlan {
  const refused: { address: string; problem: string }[] = [];
  const next = new Map<string, Endpoint>();
  for (const e of change.endpoints) {
    const problem = roomJidProblem(e.address);
    if (problem !== undefined) refused.push({ address: e.address, problem });
    else next.set(e.address, e);
  }
  return {
    serve: next,
    link: [...next.values()].filter((e) => !served.has(e.address)),
    unlink: [...served.keys()].filter((room) => !next.has(room)),
    moved: change.moved.filter((m) => next.has(m.endpoint.address) && served.has(m.endpoint.address))
      .map((m) => ({ room: m.endpoint.address, from: m.from, to: m.to })),
    redirected: change.redirected.filter((r) => next.has(r.endpoint.address))
      .map((r) => ({ room: r.endpoint.address, from: r.from, to: r.to })),
    refused,
  };
}
