// A bot's commands (chat/bot-commands.ts): bots.setBotCommands, getBotCommands and
// resetBotCommands by the bot; shown to people as the bot's botInfo in users.getFullUser (its
// private chats) and messages.getFullChat (the groups it is in), where clients list them for "/".
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import { COMMAND, MAX_COMMANDS, MAX_DESCRIPTION, type BotCommand } from '../bot-commands.ts';
import type { Account, ChatInfo } from '../directory.ts';
import { badRequest, chatOfPeer, listField, objectField, register, stringField, viewOf, type ChatDeps } from './common.ts';

/** Where a scope applies, as the store names it; PEER_ID_INVALID for a chat the bot does not see. */
async function scopeOf(deps: ChatDeps, bot: Account, scope: TlObject | undefined): Promise<string> {
  switch (scope?._) {
    case 'botCommandScopeDefault': return 'default';
    case 'botCommandScopeUsers': return 'users';
    // Nobody is an admin of a bridged group: the admins' commands are the group's.
    case 'botCommandScopeChats':
    case 'botCommandScopeChatAdmins': return 'chats';
    case 'botCommandScopePeer':
    case 'botCommandScopePeerAdmins':
    case 'botCommandScopePeerUser': return `peer:${(await chatOfPeer(deps, bot, objectField(scope, 'peer'))).address}`;
    default: throw badRequest('BOT_COMMAND_SCOPE_INVALID');
  }
}

/** A language code: empty (all) or two letters. */
function langOf(call: TlObject): string {
  const lang = stringField(call, 'lang_code') ?? '';
  if (!/^([a-z]{2})?$/.test(lang)) throw badRequest('LANG_CODE_INVALID');
  return lang;
}

function commandsOf(call: TlObject): BotCommand[] {
  const list = listField(call, 'commands');
  if (list.length > MAX_COMMANDS) throw badRequest('BOT_COMMANDS_TOO_MUCH');
  return list.map((v) => {
    const c = v as TlObject;
    const command = typeof c['command'] === 'string' ? c['command'].replace(/^\//, '') : '';
    const description = typeof c['description'] === 'string' ? c['description'].trim() : '';
    if (!COMMAND.test(command)) throw badRequest('BOT_COMMAND_INVALID');
    if (description === '' || [...description].length > MAX_DESCRIPTION) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
    return { command, description };
  });
}

function botOf(account: Account): Account {
  if (!account.bot) throw badRequest('USER_BOT_REQUIRED');
  return account;
}

/** A bot's botInfo with its description (bot-info.ts) and the commands a chat shows (most specific scope first). */
export async function botInfoOf(deps: ChatDeps, bot: Account, chat: ChatInfo | undefined): Promise<TlObject> {
  const scopes = chat === undefined ? ['default'] : [`peer:${chat.address}`, chat.direct !== undefined ? 'users' : 'chats', 'default'];
  const commands = await deps.botCommands.shown(bot.id, scopes);
  return {
    _: 'botInfo', user_id: bot.id, description: deps.profiles.description(bot) ?? '', menu_button: { _: 'botMenuButtonCommands' },
    commands: commands.map((c) => ({ _: 'botCommand', command: c.command, description: c.description })),
  };
}

export function registerBotCommands(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'bots.setBotCommands', 'user', async (call, ctx) => {
    const bot = botOf(viewOf(deps, ctx).account);
    const scope = await scopeOf(deps, bot, objectField(call, 'scope'));
    const outcome = await deps.botCommands.set(bot.id, scope, langOf(call), commandsOf(call));
    if (outcome === 'full') throw badRequest('BOT_COMMANDS_TOO_MUCH');
    if (outcome === 'busy') throw new RpcError(420, 'FLOOD_WAIT_1');
    return true;
  });

  register(methods, deps, 'bots.getBotCommands', 'user', async (call, ctx) => {
    const bot = botOf(viewOf(deps, ctx).account);
    const commands = await deps.botCommands.get(bot.id, await scopeOf(deps, bot, objectField(call, 'scope')), langOf(call));
    return commands.map((c) => ({ _: 'botCommand', command: c.command, description: c.description }));
  });

  register(methods, deps, 'bots.resetBotCommands', 'user', async (call, ctx) => {
    const bot = botOf(viewOf(deps, ctx).account);
    const outcome = await deps.botCommands.set(bot.id, await scopeOf(deps, bot, objectField(call, 'scope')), langOf(call), []);
    if (outcome === 'busy') throw new RpcError(420, 'FLOOD_WAIT_1');
    return true;
  });
}
