// An account's own name and bio, set from its client: account.updateProfile. The name shows
// wherever the account shows (account-profiles.ts); the accounts that see it are told at once.
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import { changedProfile, type ProfileChange } from '../account-profiles.ts';
import type { Account } from '../directory.ts';
import { announceUser } from './announce-user.ts';

export { nameUpdate, namedAs } from './announce-user.ts';
import { badRequest, register, stringField, viewOf, type ChatDeps } from './common.ts';

/** Changes what the account set of its profile (changedProfile's checks: a refusal is its rpc_error); FLOOD_WAIT_1 when other writers kept winning. */
export async function changeOwnProfile(deps: ChatDeps, account: Account, change: ProfileChange): Promise<void> {
  let refused: string | undefined;
  const written = await deps.profiles.change(account.id, (current) => {
    const profile = changedProfile(account, current, change);
    refused = typeof profile === 'string' ? profile : undefined;
    return typeof profile === 'string' ? undefined : profile;
  });
  if (refused !== undefined) throw badRequest(refused);
  if (!written) throw new RpcError(420, 'FLOOD_WAIT_1');
}

export function registerOwnProfile(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'account.updateProfile', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const account = view.account;
    const first = stringField(call, 'first_name');
    const last = stringField(call, 'last_name');
    const about = stringField(call, 'about');
    await changeOwnProfile(deps, account, { ...(first !== undefined ? { firstName: first } : {}), ...(last !== undefined ? { lastName: last } : {}), ...(about !== undefined ? { about } : {}) });
    await announceUser(deps, account, 'name');
    return deps.render.userObject({ kind: 'account', account }, view);
  });

  // A username of the account's choice (usernames.ts): '' removes it.
  register(methods, deps, 'account.updateUsername', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const account = view.account;
    const outcome = await deps.usernames.change(account, stringField(call, 'username') ?? '');
    if (outcome === 'busy') throw new RpcError(420, 'FLOOD_WAIT_1');
    if (outcome !== 'ok') throw badRequest(outcome);
    await announceUser(deps, account, 'name');
    return deps.render.userObject({ kind: 'account', account }, view);
  });

  // Whether the account may take a username: false when someone has it (its own current one: true).
  register(methods, deps, 'account.checkUsername', 'user', async (call, ctx) => {
    const outcome = await deps.usernames.check(viewOf(deps, ctx).account, stringField(call, 'username') ?? '');
    if (outcome === 'USERNAME_INVALID') throw badRequest(outcome);
    return outcome !== 'USERNAME_OCCUPIED';
  });
}
