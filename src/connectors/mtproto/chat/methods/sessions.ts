// An account's active sessions, as Telegram's settings show them: account.getAuthorizations lists
// the auth keys it is logged in on (login-list.ts), account.resetAuthorization logs one of them
// out, auth.resetAuthorizations all but the calling one. A session logged out this way gets
// AUTH_KEY_UNREGISTERED on its next call and no more updates (here at once; on the other
// instances when the note reaches them, else within the login cache's few seconds).
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { LoginEntry } from '../login-list.ts';
import type { Account } from '../directory.ts';
import { accountOf, badRequest, register, type ChatDeps } from './common.ts';
import { tellOtherInstances } from './own-news.ts';

/**
 * How long the calling session must have been logged in before it may end the others, as on
 * Telegram: someone who just got hold of a login code must not lock the owner out at once.
 */
export const FRESH_LOGIN_SECONDS = 86_400;

/** How long an unused session lives, in days (account.authorizations' field; keys without a lifetime: a year). */
const DEFAULT_TTL_DAYS = 365;

const seconds = (ms: number): number => Math.floor(ms / 1000);

function authorizationObject(entry: LoginEntry, current: boolean, active: number): TlObject {
  return {
    _: 'authorization', current, official_app: false, password_pending: false,
    // Telegram names the calling session 0: it is ended with auth.logOut, not by hash.
    hash: current ? 0n : BigInt(entry.hash),
    device_model: entry.device ?? '', platform: '', system_version: entry.system ?? '',
    api_id: entry.apiId ?? 0, app_name: entry.langPack ?? '', app_version: entry.app ?? '',
    date_created: seconds(entry.at), date_active: active, ip: '', country: '', region: '',
  };
}

/** The calling person (bots have no active sessions to list or end, as on Telegram). */
async function personOf(deps: ChatDeps, ctx: Parameters<typeof accountOf>[1]): Promise<Account> {
  const account = accountOf(deps, ctx);
  if (account.bot) throw badRequest('BOT_METHOD_INVALID');
  // A session logged in before logins were listed is listed now, so it can see and end the others.
  await deps.authorizations.ensureListed(ctx.authKeyIdHex, account.id, ctx.client);
  return account;
}

export function registerSessions(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'account.getAuthorizations', 'user', async (_call, ctx) => {
    const account = await personOf(deps, ctx);
    const logins = await deps.authorizations.loginsOf(account.id);
    const ttl = deps.authorizations.lifetimeOf(ctx.authKeyIdHex);
    return {
      _: 'account.authorizations',
      authorization_ttl_days: ttl === undefined ? DEFAULT_TTL_DAYS : Math.max(1, Math.ceil(ttl / 86_400_000)),
      // Newest first, the calling one at the top, as clients list them.
      authorizations: [...logins].reverse()
        .sort((a, b) => Number(b.key === ctx.authKeyIdHex) - Number(a.key === ctx.authKeyIdHex))
        .map((e) => authorizationObject(e, e.key === ctx.authKeyIdHex, e.key === ctx.authKeyIdHex || deps.live.hasAuthKey(account.id, e.key) ? ctx.now : seconds(e.at))),
    };
  });

  /** The caller's logins other than its own, after the fresh-login check. */
  const othersOf = async (account: Account, authKeyIdHex: string, now: number): Promise<LoginEntry[]> => {
    const logins = await deps.authorizations.loginsOf(account.id);
    const own = logins.find((e) => e.key === authKeyIdHex);
    if (own === undefined || now - seconds(own.at) < FRESH_LOGIN_SECONDS) throw badRequest('FRESH_RESET_AUTHORISATION_FORBIDDEN');
    return logins.filter((e) => e.key !== authKeyIdHex);
  };

  const end = async (account: Account, entries: readonly LoginEntry[]): Promise<void> => {
    for (const e of entries) {
      await deps.authorizations.logOut(e.key);
      deps.live.dropAuthKey(e.key);
      tellOtherInstances(deps, { kind: 'logout', account: String(account.id), key: e.key });
    }
  };

  register(methods, deps, 'account.resetAuthorization', 'user', async (call, ctx) => {
    const account = await personOf(deps, ctx);
    const hash = call['hash'];
    if (typeof hash !== 'bigint' || hash === 0n) throw badRequest('HASH_INVALID');
    const others = await othersOf(account, ctx.authKeyIdHex, ctx.now);
    const target = others.find((e) => e.hash === String(hash));
    if (target === undefined) throw badRequest('HASH_INVALID');
    await end(account, [target]);
    deps.logger.info({ user: String(account.id), authKeyId: ctx.authKeyIdHex, ended: target.key }, 'mtproto: a session ended by its account');
    return true;
  });

  register(methods, deps, 'auth.resetAuthorizations', 'user', async (_call, ctx) => {
    const account = await personOf(deps, ctx);
    const others = await othersOf(account, ctx.authKeyIdHex, ctx.now);
    await end(account, others);
    deps.logger.info({ user: String(account.id), authKeyId: ctx.authKeyIdHex, ended: others.length }, 'mtproto: every other session ended by its account');
    return true;
  });
}

