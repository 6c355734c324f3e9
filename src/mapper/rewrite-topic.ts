import type { EventOfKind } from '../core/event.ts';
import type { TargetIdentity } from './types.ts';
import { plain, topicNotice } from './fallbacks.ts';
import { composeMessage } from './rewrite-message.ts';
import type { Degrade, Rewrite, RewriteContext } from './rewrite.ts';

/**
 * A room's topic: set natively where the target shows topics, else a notice message from the
 * person who set it (`✎ set the topic: …`), as matterbridge's ShowTopicChange does. A topic is
 * the room's, not a person's, so a person linked to an account on the target still sets it there.
 */
export function rewriteTopic(event: EventOfKind<'topic'>, identity: TargetIdentity, ctx: RewriteContext): Rewrite {
  if (ctx.caps.topics === true) return { type: 'deliver', parts: [event], hints: { identity }, degraded: [] };
  const degraded: Degrade[] = [{ kind: 'topic', how: 'notice' }];
  const parts = composeMessage(event, plain(topicNotice(event.text)), undefined, {}, ctx, degraded);
  return { type: 'deliver', parts, hints: { identity }, degraded };
}
