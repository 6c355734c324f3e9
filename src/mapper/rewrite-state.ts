import { endpointKey, type Endpoint } from '../core/endpoint.ts';
import type { EventOfKind } from '../core/event.ts';
import type { TargetIdentity } from './types.ts';
import { isOwnAccountPuppet, type Degrade, type Rewrite, type RewriteContext } from './rewrite.ts';

/**
 * Presence, typing and membership: states of a person. Each becomes a state change for the
 * coalescer (coalescer.ts), keyed by kind and person, unless the target cannot show it or the
 * person is linked to an account of their own on the target (then it would be a second copy of
 * them there): those are dropped, counted.
 */

export function rewritePresence(event: EventOfKind<'presence'>, target: Endpoint, identity: TargetIdentity, ctx: RewriteContext): Rewrite {
  if (ctx.caps.presence.length === 0) return drop('presence', 'unsupported');
  if (isOwnAccountPuppet(event, identity, ctx)) return drop('presence', 'own_account');
  let { state, status } = event;
  if (identity.canonical !== undefined) {
    ({ state, status } = ctx.aggregate.update(endpointKey(target), identity.canonical, `${event.sender.network}\0${event.sender.id}`, state, status));
  }
  const shown = ctx.presence.forTarget(ctx.network, state, ctx.caps.presence);
  if (!shown) return drop('presence', 'unsupported');
  const degraded: Degrade[] = shown.state === state ? [] : [{ kind: 'presence', how: `${state}_as_${shown.state}` }];
  const out = shown.state === event.state && status === event.status ? event : withState(event, shown.state, status);
  return {
    type: 'state', event: out, hints: { identity, presence: { native: shown.native } },
    key: `presence\0${identity.key}`, fingerprint: `${shown.state}\0${status ?? ''}`, degraded,
  };
}

export function rewriteTyping(event: EventOfKind<'typing'>, identity: TargetIdentity, ctx: RewriteContext): Rewrite {
  if (!ctx.caps.typing) return drop('typing', 'unsupported');
  if (isOwnAccountPuppet(event, identity, ctx)) return drop('typing', 'own_account');
  return { type: 'state', event, hints: { identity }, key: `typing\0${identity.key}`, fingerprint: event.state, degraded: [] };
}

export function rewriteMembership(event: EventOfKind<'membership'>, identity: TargetIdentity, ctx: RewriteContext): Rewrite {
  if (isOwnAccountPuppet(event, identity, ctx)) return drop('membership', 'own_account');
  return { type: 'state', event, hints: { identity }, key: `membership\0${identity.key}`, fingerprint: event.action, degraded: [] };
}

function withState(event: EventOfKind<'presence'>, state: EventOfKind<'presence'>['state'], status: string | undefined): EventOfKind<'presence'> {
  const { status: _status, ...rest } = event;
  return { ...rest, state, ...(status !== undefined ? { status } : {}) };
}

function drop(kind: Degrade['kind'], how: string): Rewrite {
  return { type: 'drop', degraded: [{ kind, how }] };
}
