import type { CanonicalEvent, EventKind } from '../core/event.ts';
import type { EventId } from '../core/ids.ts';
import type { Capabilities } from '../core/capabilities.ts';
import type { Endpoint } from '../core/endpoint.ts';
import type { MediaLinks } from './attachments.ts';
import type { IdentityResolver } from './identities.ts';
import type { PresenceStates } from './presence-states.ts';
import type { PresenceAggregate } from './presence-aggregate.ts';
import type { RecentBatch } from './recent-messages.ts';
import type { DeliveryHints, TargetIdentity } from './types.ts';
import { rewriteMessage } from './rewrite-message.ts';
import { rewriteEdit, rewriteReaction, rewriteReceipt, rewriteRetract } from './rewrite-references.ts';
import { rewriteMembership, rewritePresence, rewriteTyping } from './rewrite-state.ts';
import { rewriteTopic } from './rewrite-topic.ts';

/** Everything a rewrite reads about one target connector, for one batch. */
export interface RewriteContext {
  readonly network: string;
  readonly caps: Capabilities;
  readonly resolver: IdentityResolver;
  readonly presence: PresenceStates;
  readonly aggregate: PresenceAggregate;
  readonly recent: RecentBatch;
  readonly quoteChars: number;
  readonly links: MediaLinks;
  /** Whether a referenced message can be pointed at on the target endpoint, and its native id there when known. */
  reference(id: EventId, target: Endpoint): Reference;
}

export type Reference = { readonly resolvable: true; readonly native?: string } | { readonly resolvable: false };

/** One thing the mapper changed or dropped, as counted in switchboard_mapper_degraded_total. */
export interface Degrade {
  readonly kind: EventKind;
  readonly how: string;
}

export type BaseHints = Omit<DeliveryHints, 'part' | 'degraded'>;

export type Rewrite =
  /** Deliver these events (one, or the parts of a split text) with these hints. */
  | { readonly type: 'deliver'; readonly parts: readonly CanonicalEvent[]; readonly hints: BaseHints; readonly degraded: readonly Degrade[] }
  /** A state change (presence, typing, membership): the coalescer decides whether it goes out. */
  | { readonly type: 'state'; readonly event: CanonicalEvent; readonly hints: BaseHints; readonly key: string; readonly fingerprint: string; readonly degraded: readonly Degrade[] }
  /** Nothing goes out; `degraded` says why. */
  | { readonly type: 'drop'; readonly degraded: readonly Degrade[] };

/** Rewrites one event for one target endpoint, from the target's capabilities. Pure but for the caches it reads. */
export function rewriteEvent(event: CanonicalEvent, target: Endpoint, ctx: RewriteContext): Rewrite {
  const identity = ctx.resolver.resolve(event.sender, ctx.network, ctx.caps);
  switch (event.kind) {
    case 'message': return rewriteMessage(event, target, identity, ctx);
    case 'edit': return rewriteEdit(event, target, identity, ctx);
    case 'retract': return rewriteRetract(event, target, identity, ctx);
    case 'reaction': return rewriteReaction(event, target, identity, ctx);
    case 'receipt': return rewriteReceipt(event, target, identity, ctx);
    case 'presence': return rewritePresence(event, target, identity, ctx);
    case 'typing': return rewriteTyping(event, identity, ctx);
    case 'membership': return rewriteMembership(event, identity, ctx);
    case 'topic': return rewriteTopic(event, identity, ctx);
  }
}

/**
 * True when the event is about a linked person who has an account of their own on the target
 * network, and it comes from another network: the target already shows that person as themselves,
 * so a puppet of them there would be a second copy of the same person.
 */
export function isOwnAccountPuppet(event: CanonicalEvent, identity: TargetIdentity, ctx: RewriteContext): boolean {
  return identity.account !== undefined && event.origin.connector !== ctx.network;
}
