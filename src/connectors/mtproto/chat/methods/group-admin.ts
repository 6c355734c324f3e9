// What an admin of a Telegram group could change: here the operator's config decides a bridged
// room's title, photo, members and links (bridges/*.yaml), so no account administers those (a
// moderator account sets the description, which is the room's topic: group-about.ts). These
// calls are refused with Telegram's own answer to a member who is not an admin,
// CHAT_ADMIN_REQUIRED, instead of "not implemented": a client shows it as "you are not an admin".
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import { refuseReadOnly } from '../group-direction.ts';
import { accountOf, objectField, register, type ChatDeps } from './common.ts';

export const ADMIN_METHODS = [
  'messages.editChatTitle', 'messages.editChatPhoto', 'messages.editChatAdmin',
  'messages.editChatDefaultBannedRights', 'messages.addChatUser', 'messages.deleteChatUser', 'messages.migrateChat',
  'messages.exportChatInvite', 'messages.getExportedChatInvites', 'messages.toggleNoForwards', 'messages.setChatTheme',
  'messages.setChatAvailableReactions', 'messages.setHistoryTTL', 'messages.hideChatJoinRequest', 'messages.getChatInviteImporters',
] as const;

export function registerGroupAdmin(methods: MethodRegistry, deps: ChatDeps): void {
  for (const name of ADMIN_METHODS) {
    register(methods, deps, name, 'user', (call, ctx) => {
      // In a read-only group (bridged receive-only) the answer is every post's there: nobody changes it from here.
      const id = groupIdOf(call);
      const chat = id === undefined ? undefined : deps.directory.chat(id);
      if (chat !== undefined && deps.directory.mayUse(accountOf(deps, ctx), chat)) refuseReadOnly(deps.directory, chat);
      throw new RpcError(400, 'CHAT_ADMIN_REQUIRED');
    });
  }
}

/** The basic group a call names: its chat_id (editChatTitle and the other basic-group calls), or its peer. */
function groupIdOf(call: TlObject): bigint | undefined {
  const id = call['chat_id'] ?? objectField(call, 'peer')?.['chat_id'];
  return typeof id === 'bigint' ? id : undefined;
}
