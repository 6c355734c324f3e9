// auth.*: bots log in with a bridge-issued token, people with their phone number and a code the
// admin passes on out of band (login-codes.ts); auth.logOut ends the authorization of the key.
import { phoneDigits } from '../../../../config/schema.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import { findBot } from '../bot-tokens.ts';
import { CODE_LENGTH } from '../login-codes.ts';
import { accountOf, badRequest, register, stringField, type ChatDeps } from './common.ts';
import type { ApiCallContext } from '../../api/context.ts';
import type { Account } from '../directory.ts';
import type { TlObject } from '../../tl/codec.ts';

export function registerAuth(methods: MethodRegistry, deps: ChatDeps): void {
  const authorization = async (account: Account, ctx: ApiCallContext): Promise<TlObject> => {
    await deps.authorizations.logIn(ctx.authKeyIdHex, account.id, ctx.client);
    deps.logger.info({ user: String(account.id), bot: account.bot, authKeyId: ctx.authKeyIdHex }, 'mtproto login');
    return { _: 'auth.authorization', user: deps.render.userObject({ kind: 'account', account }, { account, schema: ctx.schema, now: ctx.now }) };
  };

  /** The provisioned person with this phone number; PHONE_NUMBER_INVALID for anyone else. */
  const personOf = (phone: string | undefined): { account: Account; digits: string } => {
    const digits = phoneDigits(phone ?? '');
    const account = digits === '' ? undefined : deps.directory.byPhone(digits);
    if (account === undefined || account.bot) throw badRequest('PHONE_NUMBER_INVALID');
    return { account, digits };
  };

  register(methods, deps, 'auth.sendCode', 'none', async (call) => {
    const { account, digits } = personOf(stringField(call, 'phone_number'));
    const pending = await deps.codes.issue(digits);
    const sentTo = await deps.codeDelivery.deliver(account, pending.code, deps.codeTtlSeconds);
    deps.logger.info({ user: String(account.id), sentTo }, 'mtproto login code issued (sent to the linked accounts listed; switchboard mtproto-code --phone shows it)');
    // "Sent through the app": the code reaches the person out of band, not by SMS.
    return { _: 'auth.sentCode', type: { _: 'auth.sentCodeTypeApp', length: CODE_LENGTH }, phone_code_hash: pending.hash };
  });

  register(methods, deps, 'auth.resendCode', 'none', () => {
    throw badRequest('SEND_CODE_UNAVAILABLE');
  });

  register(methods, deps, 'auth.signIn', 'none', async (call, ctx) => {
    const { account, digits } = personOf(stringField(call, 'phone_number'));
    await deps.codes.verify(digits, stringField(call, 'phone_code_hash') ?? '', stringField(call, 'phone_code'));
    return authorization(account, ctx);
  });

  // Accounts are provisioned by the admin: nobody signs up.
  register(methods, deps, 'auth.signUp', 'none', () => {
    throw badRequest('PHONE_NUMBER_INVALID');
  });

  register(methods, deps, 'auth.importBotAuthorization', 'none', async (call, ctx) => {
    const bot = findBot(deps.directory.bots, stringField(call, 'bot_auth_token') ?? '');
    if (bot === undefined) throw badRequest('ACCESS_TOKEN_INVALID');
    return authorization(bot, ctx);
  });

  register(methods, deps, 'auth.logOut', 'user', async (_call, ctx) => {
    const account = accountOf(deps, ctx);
    await deps.authorizations.logOut(ctx.authKeyIdHex);
    deps.live.dropAuthKey(ctx.authKeyIdHex);
    deps.logger.info({ user: String(account.id), authKeyId: ctx.authKeyIdHex }, 'mtproto logout');
    return { _: 'auth.loggedOut' };
  });
}
