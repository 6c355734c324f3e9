// Telling the accounts that see an account that its user object changed (its photo, its name).
import type { TlObject } from '../../tl/codec.ts';
import type { Account } from '../directory.ts';
import type { View } from '../render.ts';
import { accountsOfChat, chatsOfAccount, viewAt, type ChatDeps } from './common.ts';

/**
 * Pushes the news to the accounts that see this one (the members of its groups, the accounts of
 * its private chats, its own other sessions), in their layer's words: updateUser from layer 152
 * on (the user object it carries is the news), else `before152(view)`, the older update for that
 * kind of change.
 */
export async function announceUser(deps: ChatDeps, account: Account, before152: (view: View) => TlObject): Promise<void> {
  const audience = new Set<bigint>([account.id]);
  for (const chat of await chatsOfAccount(deps, account)) for (const a of accountsOfChat(deps, chat)) audience.add(a.id);
  for (const id of audience) {
    const viewer = deps.directory.account(id);
    if (viewer === undefined || !deps.live.has(id)) continue;
    deps.live.push(id, (layer) => {
      const view = viewAt(deps, viewer, layer);
      const update = view.schema.byName.has('updateUser') ? { _: 'updateUser', user_id: account.id } : before152(view);
      return { _: 'updates', updates: [update], users: [deps.render.userObject({ kind: 'account', account }, view)], chats: [], date: view.now, seq: 0 };
    });
  }
}
