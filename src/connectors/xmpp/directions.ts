import type { Direction, Endpoint, RoutingView } from '../../core/endpoint.ts';
import type { Logger } from '../../core/logger.ts';
import type { Counter } from '../../core/metrics.ts';

/**
 * A linked room bridged one way (bridges/ `direction:`, core/endpoint.ts `Direction`), as the
 * XMPP connector serves it. The direction is read from the routing view each time, never kept
 * here: a bridges/ reload puts the new one in force for the next stanza without any bookkeeping.
 *
 * - `receive-only` (a read-only mirror): what its occupants do stays in the room. Every event the
 *   connector makes of a room's traffic (its messages, corrections, retractions, reactions,
 *   moderations and chat states, live or caught up from the archive; its subject; its occupants'
 *   presence) goes through publishTargetOf, which names no canonical room for it. The router would
 *   route such an event nowhere anyway, but the bus would still append it to the room's stream,
 *   which bots and reconnecting clients read: a mirror's words must not end up there.
 * - `send-only` (a source): nothing of the other networks is posted into it. The router never
 *   targets it; a delivery routed before a reload made it send-only (queued since) is dropped,
 *   and the puppets present leave (the relay stays: it is how the room is read).
 */

/** The status of our puppets' leave when a reload makes their room send-only: what the room's people see. */
export const SEND_ONLY_STATUS = 'This room now only sends to the bridge: what is said on the other networks is no longer posted here';

/**
 * The relay's status in a receive-only room: its occupants see it in the occupant list (XEP-0045
 * presence status), the one place an XMPP room shows what the bridge does with their words.
 */
export const RECEIVE_ONLY_STATUS = 'Read-only mirror: the other networks are posted here; what is said here is not bridged';

/** What the relay's presence in a room bridged `direction` says (its `status`): set in a receive-only room, none elsewhere. */
export function relayStatusFor(direction: Direction): { status: string | undefined } {
  return { status: direction === 'receive-only' ? RECEIVE_ONLY_STATUS : undefined };
}

/** Where a linked room's own traffic is published: its endpoint and canonical room, `kept` (receive-only), or nowhere (not linked). */
export type PublishTarget = { readonly endpoint: Endpoint; readonly canonicalRoom: string } | 'kept' | undefined;

/**
 * Where what happens in `room` (a room JID) is published: the canonical room of its link, unless
 * the room is bridged receive-only (`kept`: it stays there). Undefined when it is not linked (any
 * more: a reload may have unlinked it since the stanza came).
 */
export function publishTargetOf(rooms: ReadonlyMap<string, Endpoint>, routing: RoutingView, room: string): PublishTarget {
  const endpoint = rooms.get(room);
  const canonicalRoom = endpoint !== undefined ? routing.roomOf(endpoint) : undefined;
  if (endpoint === undefined || canonicalRoom === undefined) return undefined;
  if (routing.directionOf(endpoint) === 'receive-only') return 'kept';
  return { endpoint, canonicalRoom };
}

/** What publishTarget reads (the rooms served, the routing view), and where it counts and logs what a receive-only room keeps. */
export interface PublishTargetDeps {
  readonly rooms: ReadonlyMap<string, Endpoint>;
  readonly routing: RoutingView;
  readonly logger: Logger;
  /** The connector's inbound outcomes (switchboard_xmpp_inbound_total). */
  readonly metrics: { readonly inbound: Counter<string> };
}

/**
 * The one door of a linked room's own traffic to the bus (publishTargetOf): where its messages,
 * subject changes and occupants' presence are published. What a receive-only room's occupants do
 * stays in the room: `kept`, counted (inbound `receive_only`) and logged here, once per event.
 */
export function publishTarget(room: string, live: PublishTargetDeps, what: { kind: string; nick?: string | undefined; source?: 'live' | 'archive' }): PublishTarget {
  const target = publishTargetOf(live.rooms, live.routing, room);
  if (target === 'kept') {
    live.metrics.inbound.inc({ outcome: 'receive_only' });
    live.logger.debug({ room, ...what }, 'receive-only room: what its occupants do stays there; not published');
  }
  return target;
}

/** Whether the other networks' events are posted into this linked room (false: send-only). */
export function takesDeliveries(routing: RoutingView, endpoint: Endpoint): boolean {
  return routing.directionOf(endpoint) !== 'send-only';
}
