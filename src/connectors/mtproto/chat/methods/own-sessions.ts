// Telling an account's other sessions what one of them changed for the account alone (a draft,
// a pinned chat, a mute): pushed to its sessions on this instance but the calling one, which has
// the answer, and told to the other instances as a note (own-news.ts), whose sessions get the
// same updates from there.
import type { TlObject } from '../../tl/codec.ts';
import type { Account, ChatInfo } from '../directory.ts';
import type { View } from '../render.ts';
import { viewAt, type ChatDeps } from './common.ts';
import { tellOtherInstances, type OwnNews } from './own-news.ts';

/**
 * Pushes `updatesAt(view)` (built per layer) with the users and chats of `chats`, and tells the
 * other instances `news` (undefined: this is what another instance told; not told back).
 */
export async function tellOwnSessions(deps: ChatDeps, account: Account, chats: readonly ChatInfo[], view: View, updatesAt: (at: View) => TlObject[], skipSession: string | undefined, news: OwnNews | undefined): Promise<void> {
  if (news !== undefined) tellOtherInstances(deps, news);
  if (!deps.live.reaches(account.id, skipSession)) return;
  // A private chat's peer is a user: the update carries it (a user object reads the same in every layer).
  const users = await deps.render.users(chats.flatMap((c) => deps.render.usersOfChat(c, view)), view);
  deps.live.push(account.id, (layer) => {
    const at = viewAt(deps, account, layer);
    return { _: 'updates', updates: updatesAt(at), users, chats: deps.render.chatObjects(chats, at), date: at.now, seq: 0 };
  }, skipSession);
}
