// What a bot says of itself (bots.setBotInfo, bots.getBotInfo): its name, its about text (its
// profile's bio) and its description (what its empty private chat shows people). Kept with the
// profile an account sets itself (account-profiles.ts); a new name shows wherever the bot shows,
// and the accounts that see it are told at once. One language: the default (lang_code empty).
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { ProfileChange } from '../account-profiles.ts';
import type { Account } from '../directory.ts';
import { announceUser } from './announce-user.ts';
import { changeOwnProfile } from './own-profile.ts';
import { badRequest, objectField, register, stringField, userOfInput, viewOf, type ChatDeps } from './common.ts';

/** The bot a call is about: the caller itself (named or not); a bot may not set another's. */
async function botOfCall(deps: ChatDeps, account: Account, call: TlObject): Promise<Account> {
  if (!account.bot) throw badRequest('USER_BOT_REQUIRED');
  const named = objectField(call, 'bot');
  if (named !== undefined && await userOfInput(deps, account, named) !== account.id) throw badRequest('BOT_INVALID');
  // Localised texts are not kept: the default language only.
  if ((stringField(call, 'lang_code') ?? '') !== '') throw badRequest('LANG_CODE_NOT_SUPPORTED');
  return account;
}

export function registerBotInfo(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'bots.setBotInfo', 'user', async (call, ctx) => {
    const bot = await botOfCall(deps, viewOf(deps, ctx).account, call);
    const name = stringField(call, 'name');
    const about = stringField(call, 'about');
    const description = stringField(call, 'description');
    const change: ProfileChange = { ...(name !== undefined ? { firstName: name, lastName: '' } : {}), ...(about !== undefined ? { about } : {}), ...(description !== undefined ? { description } : {}) };
    await changeOwnProfile(deps, bot, change);
    if (name !== undefined) await announceUser(deps, bot, 'name');
    return true;
  });

  register(methods, deps, 'bots.getBotInfo', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const bot = await botOfCall(deps, view.account, call);
    const own = await deps.profiles.fresh(bot.id);
    const shown = deps.profiles.shown(bot);
    const about = own?.about ?? '';
    const description = own?.description ?? '';
    // Layers before 158 answer the two texts as a vector.
    if (!view.schema.byName.has('bots.botInfo')) return [about, description];
    return { _: 'bots.botInfo', name: [shown.firstName, shown.lastName].filter((s) => s !== undefined && s !== '').join(' '), about, description };
  });
}
