// What an admin of a Telegram group could change: here the operator's config decides a bridged
// room's title, photo, members and links (bridges/*.yaml), so no account administers those (a
// moderator account sets the description, which is the room's topic: group-about.ts). These
// calls are refused with Telegram's own answer to a member who is not an admin,
// CHAT_ADMIN_REQUIRED, instead of "not implemented": a client shows it as "you are not an admin".
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import { register, type ChatDeps } from './common.ts';

export const ADMIN_METHODS = [
  'messages.editChatTitle', 'messages.editChatPhoto', 'messages.editChatAdmin',
  'messages.editChatDefaultBannedRights', 'messages.addChatUser', 'messages.deleteChatUser', 'messages.migrateChat',
  'messages.exportChatInvite', 'messages.getExportedChatInvites', 'messages.toggleNoForwards', 'messages.setChatTheme',
  'messages.setChatAvailableReactions', 'messages.setHistoryTTL', 'messages.hideChatJoinRequest', 'messages.getChatInviteImporters',
] as const;

export function registerGroupAdmin(methods: MethodRegistry, deps: ChatDeps): void {
  for (const name of ADMIN_METHODS) register(methods, deps, name, 'user', () => { throw new RpcError(400, 'CHAT_ADMIN_REQUIRED'); });
}
