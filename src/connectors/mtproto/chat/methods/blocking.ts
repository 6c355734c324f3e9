// contacts.block / unblock / getBlocked: an account stops a user's private messages reaching it
// (blocked-users.ts). Also a person of another network: the way to stop someone writing from
// XMPP or WebSocket. The account's other sessions are told (updatePeerBlocked), here and on the
// other instances (a note).
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import { peerUser } from '../render.ts';
import { accountOf, badRequest, intField, objectField, register, userOfInput, viewOf, type ChatCallContext, type ChatDeps } from './common.ts';
import { tellAccount } from './own-news.ts';

/** Blocked users one getBlocked page shows at most. */
const MAX_PAGE = 100;

export function registerBlocking(methods: MethodRegistry, deps: ChatDeps): void {
  const change = (blocked: boolean) => async (call: TlObject, ctx: ChatCallContext): Promise<boolean> => {
    const account = accountOf(deps, ctx);
    const input = objectField(call, 'id');
    // Someone else, named the ways a user is (not oneself, not a group).
    const user = input?._ === 'inputPeerUser' || input?._ === 'inputPeerUserFromMessage' ? await userOfInput(deps, account, input) : undefined;
    if (user === undefined || user === account.id) throw badRequest('CONTACT_ID_INVALID');
    let outcome: boolean | 'full';
    try {
      outcome = await deps.blocked.set(account.id, user, blocked, ctx.now);
    } catch {
      throw new RpcError(420, 'FLOOD_WAIT_1');
    }
    if (outcome === 'full') throw badRequest('BLOCKED_TOO_MUCH');
    if (outcome) await tellAccount(deps, account, { kind: 'blocked', account: String(account.id), user: String(user), blocked }, ctx.channel?.key);
    return true;
  };
  register(methods, deps, 'contacts.block', 'user', change(true));
  register(methods, deps, 'contacts.unblock', 'user', change(false));

  register(methods, deps, 'contacts.getBlocked', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const all = await deps.blocked.listOf(view.account.id);
    const offset = Math.max(0, intField(call, 'offset'));
    const limit = Math.min(Math.max(intField(call, 'limit', MAX_PAGE), 1), MAX_PAGE);
    const page = all.slice(offset, offset + limit);
    const body = {
      blocked: page.map((u) => ({ _: 'peerBlocked', peer_id: peerUser(u.id), date: Math.floor(u.at) })),
      chats: [],
      users: await deps.render.users(page.map((u) => BigInt(u.id)), view),
    };
    return page.length < all.length ? { _: 'contacts.blockedSlice', count: all.length, ...body } : { _: 'contacts.blocked', ...body };
  });
}
