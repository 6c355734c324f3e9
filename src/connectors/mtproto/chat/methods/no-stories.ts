// Stories, which newer apps ask for at start and on every profile they open: the bridge carries
// none, so each answer is "none" in the client's layer (stories came in layer 160; 161 added the
// stealth mode, 164 stories of any peer, not only users), instead of METHOD_NOT_IMPLEMENTED.
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { TlSchema } from '../../tl/schema.ts';
import { hasParam } from '../render.ts';
import { chatOfPeer, objectField, register, viewOf, type ChatDeps } from './common.ts';

/** No stories at all, as stories.AllStories reads in `schema`'s layer. */
export function noStories(schema: TlSchema): TlObject {
  const base = { _: 'stories.allStories', count: 0, state: '' };
  const stealth = hasParam(schema, 'stories.allStories', 'stealth_mode') ? { stealth_mode: { _: 'storiesStealthMode' } } : {};
  return hasParam(schema, 'stories.allStories', 'peer_stories')
    ? { ...base, peer_stories: [], chats: [], users: [], ...stealth }
    : { ...base, user_stories: [], users: [], ...stealth };
}

export function registerNoStories(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'stories.getAllStories', 'user', (_call, ctx) => noStories(viewOf(deps, ctx).schema));
  // A peer's stories: none (a peer the account may not see is refused as anywhere else).
  register(methods, deps, 'stories.getPeerStories', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const input = objectField(call, 'peer');
    const peer = input?._ === 'inputPeerSelf' ? { _: 'peerUser', user_id: view.account.id } : deps.render.peer(await chatOfPeer(deps, view.account, input), view);
    return { _: 'stories.peerStories', stories: { _: 'peerStories', peer, stories: [] }, chats: [], users: [] };
  });
}
