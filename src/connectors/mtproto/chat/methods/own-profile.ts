// An account's own name and bio, set from its client: account.updateProfile. The name shows
// wherever the account shows (account-profiles.ts); the accounts that see it are told at once.
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { TlSchema } from '../../tl/schema.ts';
import type { Account } from '../directory.ts';
import { changedProfile } from '../account-profiles.ts';
import { announceUser } from './announce-user.ts';
import { badRequest, register, stringField, viewOf, type ChatDeps } from './common.ts';

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

export function registerOwnProfile(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'account.updateProfile', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const account = view.account;
    const first = stringField(call, 'first_name');
    const last = stringField(call, 'last_name');
    const about = stringField(call, 'about');
    const profile = changedProfile(account, deps.profiles.of(account.id), {
      ...(first !== undefined ? { firstName: first } : {}), ...(last !== undefined ? { lastName: last } : {}), ...(about !== undefined ? { about } : {}),
    });
    if (typeof profile === 'string') throw badRequest(profile);
    await deps.profiles.set(account.id, profile);
    const shown = deps.profiles.shown(account);
    await announceUser(deps, account, (v) => nameUpdate(shown, v.schema));
    return deps.render.userObject({ kind: 'account', account }, view);
  });
}
