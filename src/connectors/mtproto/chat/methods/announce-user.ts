// Telling the accounts that see an account that its user object changed (its photo, its name or
// username): here at once, and the other instances through a note (own-news.ts).
import type { TlObject } from '../../tl/codec.ts';
import type { TlSchema } from '../../tl/schema.ts';
import type { Account } from '../directory.ts';
import type { Contact } from '../contact-lists.ts';
import type { View } from '../render.ts';
import { accountsOfChat, chatsOfAccount, viewAt, type ChatDeps } from './common.ts';
import { tellOtherInstances } from './own-news.ts';

/**
 * The news of a changed name before layer 152: updateUserName, with the username as a string up
 * to layer 145 and as a vector of usernames from 148.
 */
export function nameUpdate(shown: Account, schema: TlSchema): TlObject {
  const vector = schema.byName.get('updateUserName')?.params.some((p) => p.name === 'usernames') === true;
  return {
    _: 'updateUserName', user_id: shown.id, first_name: shown.firstName, last_name: shown.lastName ?? '',
    ...(vector
      ? { usernames: shown.username === undefined ? [] : [{ _: 'username', editable: true, active: true, username: shown.username }] }
      : { username: shown.username ?? '' }),
  };
}

/** The account as a viewer names it: under the name it saved it with, when it keeps it as a contact (contact-lists.ts); the username stays the account's. */
export function namedAs(shown: Account, saved: Pick<Contact, 'first' | 'last'> | undefined): Account {
  return saved === undefined ? shown : { ...shown, firstName: saved.first, lastName: saved.last === '' ? undefined : saved.last };
}

/** The update before layer 152 for a kind of change (from 152 on it is updateUser for all). */
function before152(deps: ChatDeps, account: Account, change: 'name' | 'photo', view: View): TlObject {
  return change === 'name'
    ? nameUpdate(namedAs(deps.profiles.shown(account), deps.contacts.contactOf(view.account.id, account.id)), view.schema)
    : { _: 'updateUserPhoto', user_id: account.id, date: view.now, photo: deps.render.userProfilePhoto(deps.avatars.of(account.id)), previous: false };
}

/**
 * Pushes the news to the accounts that see this one (the members of its groups, the accounts of
 * its private chats, its own other sessions), in their layer's words: updateUser from layer 152
 * on (the user object it carries is the news), else the older update for that kind of change.
 * `relay`: also tell the other instances (not when this is what another instance told).
 */
export async function announceUser(deps: ChatDeps, account: Account, change: 'name' | 'photo', relay = true): Promise<void> {
  const audience = new Set<bigint>([account.id]);
  for (const chat of await chatsOfAccount(deps, account)) for (const a of accountsOfChat(deps, chat)) audience.add(a.id);
  for (const id of audience) {
    const viewer = deps.directory.account(id);
    if (viewer === undefined || !deps.live.has(id)) continue;
    deps.live.push(id, (layer) => {
      const view = viewAt(deps, viewer, layer);
      const update = view.schema.byName.has('updateUser') ? { _: 'updateUser', user_id: account.id } : before152(deps, account, change, view);
      return { _: 'updates', updates: [update], users: [deps.render.userObject({ kind: 'account', account }, view)], chats: [], date: view.now, seq: 0 };
    });
  }
  if (relay) tellOtherInstances(deps, { kind: 'user', account: String(account.id), change });
}
