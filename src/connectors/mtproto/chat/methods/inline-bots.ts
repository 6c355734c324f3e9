// What bots do on Telegram that a bridge cannot carry, answered with the error Telegram gives in
// the same case rather than METHOD_NOT_IMPLEMENTED, so bot frameworks and apps report something
// meaningful: inline mode (no bot here has it: BOT_INLINE_DISABLED), callback buttons (a bot's
// buttons reach everyone as text, buttons.ts, so no message here has one to press:
// DATA_INVALID), and the bot's side of both (no query is ever sent to a bot here, so none can be
// answered: QUERY_ID_INVALID).
import type { MethodRegistry } from '../../api/registry.ts';
import { accountOf, badRequest, chatOfPeer, intField, liveMessage, objectField, register, userOfInput, type ChatDeps } from './common.ts';

export function registerInlineBots(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.getInlineBotResults', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const id = await userOfInput(deps, account, objectField(call, 'bot'));
    const bot = id === undefined ? undefined : deps.directory.account(id);
    if (bot === undefined || !bot.bot) throw badRequest('BOT_INVALID');
    await chatOfPeer(deps, account, objectField(call, 'peer'));
    throw badRequest('BOT_INLINE_DISABLED');
  });

  register(methods, deps, 'messages.getBotCallbackAnswer', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'));
    await liveMessage(deps, chat, intField(call, 'msg_id'));
    throw badRequest('DATA_INVALID');
  });

  for (const name of ['messages.setBotCallbackAnswer', 'messages.setInlineBotResults']) {
    register(methods, deps, name, 'user', (_call, ctx) => {
      throw badRequest(accountOf(deps, ctx).bot ? 'QUERY_ID_INVALID' : 'USER_BOT_REQUIRED');
    });
  }

  register(methods, deps, 'messages.sendInlineBotResult', 'user', async (call, ctx) => {
    await chatOfPeer(deps, accountOf(deps, ctx), objectField(call, 'peer'));
    throw badRequest('QUERY_ID_INVALID');
  });
}
