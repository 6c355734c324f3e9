// What clients ask at start about things the bridge does not have (chat folders, terms of
// service, promoted chats, top peers, stickers, content and privacy settings): an answer that
// says "none" in the client's layer, rather than an error each start. TDLib and the official apps
// ask these; gramjs and Telethon do when their users call them.
import type { MethodRegistry } from '../../api/registry.ts';
import { register, viewOf, type ChatDeps } from './common.ts';

/** How long a client may keep an empty "terms of service" or "promotion" answer, in seconds. */
const EXPIRES_SECONDS = 86_400;

export function registerNothingToShow(methods: MethodRegistry, deps: ChatDeps): void {
  // Chat folders: none (a vector up to layer 174, messages.dialogFilters from 177).
  register(methods, deps, 'messages.getDialogFilters', 'user', (_call, ctx) =>
    (viewOf(deps, ctx).schema.byName.has('messages.dialogFilters') ? { _: 'messages.dialogFilters', filters: [] } : []));
  register(methods, deps, 'messages.getSuggestedDialogFilters', 'user', () => []);
  register(methods, deps, 'help.getTermsOfServiceUpdate', 'user', (_call, ctx) => ({ _: 'help.termsOfServiceUpdateEmpty', expires: ctx.now + EXPIRES_SECONDS }));
  register(methods, deps, 'help.getPromoData', 'user', (_call, ctx) => ({ _: 'help.promoDataEmpty', expires: ctx.now + EXPIRES_SECONDS }));
  register(methods, deps, 'contacts.getTopPeers', 'user', () => ({ _: 'contacts.topPeersDisabled' }));
  register(methods, deps, 'messages.getAllStickers', 'user', () => ({ _: 'messages.allStickers', hash: 0n, sets: [] }));
  register(methods, deps, 'account.getContentSettings', 'user', () => ({ _: 'account.contentSettings' }));
  register(methods, deps, 'account.getGlobalPrivacySettings', 'user', () => ({ _: 'globalPrivacySettings' }));
}
