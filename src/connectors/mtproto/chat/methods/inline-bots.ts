// A bot's inline keyboard in use: a person presses a callback button (messages.getBotCallbackAnswer),
// the bot gets updateBotCallbackQuery and answers (messages.setBotCallbackAnswer), the person's
// app shows the answer (callback-queries.ts carries both across instances). What bots do on
// Telegram that a bridge cannot carry gets the error Telegram gives in the same case rather than
// METHOD_NOT_IMPLEMENTED: inline mode (no bot here has it: BOT_INLINE_DISABLED) and its results
// (no inline query is ever sent to a bot here: QUERY_ID_INVALID).
import { createHash } from 'node:crypto';
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { CallbackQuery } from '../callback-queries.ts';
import { hasCallback } from '../keyboards.ts';
import { accountOf, badRequest, chatOfPeer, intField, liveMessage, objectField, register, stringField, userOfInput, viewAt, type ChatDeps } from './common.ts';
import { RpcError } from '../../session/rpc.ts';

/** Characters of a bot's answer text (Telegram's limit for the alert or toast). */
const MAX_ANSWER_TEXT = 200;

/** A chat's chat_instance: the same for every press in it (apps key game scores by it). */
function chatInstanceOf(address: string): bigint {
  return createHash('sha256').update(`chat-instance:${address}`, 'utf8').digest().readBigInt64BE(0);
}

/** Pushes a press to the bot's sessions on this instance; false when it has none here. */
export async function deliverQuery(deps: ChatDeps, query: CallbackQuery): Promise<boolean> {
  const bot = deps.directory.account(BigInt(query.bot));
  const chat = deps.directory.chatOfAddress(query.chat) ?? deps.directs.chatOf(query.chat);
  if (bot === undefined || chat === undefined || !deps.live.has(bot.id)) return false;
  const presser = BigInt(query.user);
  const users = await deps.render.users([presser], viewAt(deps, bot, 0));
  return deps.live.push(bot.id, (layer) => {
    const view = viewAt(deps, bot, layer);
    const update: TlObject = {
      _: 'updateBotCallbackQuery', query_id: BigInt(query.id), user_id: presser, peer: deps.render.peer(chat, view), msg_id: query.msg,
      chat_instance: chatInstanceOf(chat.address), data: new Uint8Array(Buffer.from(query.data, 'base64')),
    };
    return { _: 'updates', updates: [update], users, chats: deps.render.chatObjects([chat], view), date: view.now, seq: 0 };
  }) > 0;
}

export function registerInlineBots(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.getInlineBotResults', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const id = await userOfInput(deps, account, objectField(call, 'bot'));
    const bot = id === undefined ? undefined : deps.directory.account(id);
    if (bot === undefined || !bot.bot) throw badRequest('BOT_INVALID');
    // Where the query is typed; none (inputPeerEmpty) is what Telethon's inline_query() sends by default.
    const peer = objectField(call, 'peer');
    if (peer?._ !== 'inputPeerEmpty') await chatOfPeer(deps, account, peer);
    throw badRequest('BOT_INLINE_DISABLED');
  });

  // A press: the message's keyboard must have the button; its bot answers, or the press times out.
  register(methods, deps, 'messages.getBotCallbackAnswer', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'));
    const record = await liveMessage(deps, chat, intField(call, 'msg_id'));
    const data = call['data'];
    if (call['game'] === true || call['password'] !== undefined || !(data instanceof Uint8Array) || !hasCallback(record.keyboard, data)) throw badRequest('DATA_INVALID');
    const { answer } = await deps.callbacks.ask({ bot: record.from, user: String(account.id), chat: chat.address, msg: record.id, data: Buffer.from(data).toString('base64') });
    if (answer === undefined) throw new RpcError(400, 'BOT_RESPONSE_TIMEOUT');
    return {
      _: 'messages.botCallbackAnswer', ...(answer.alert === true ? { alert: true } : {}), ...(answer.message !== undefined ? { message: answer.message } : {}),
      cache_time: answer.cacheTime,
    };
  });

  register(methods, deps, 'messages.setBotCallbackAnswer', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    if (!account.bot) throw badRequest('USER_BOT_REQUIRED');
    const queryId = call['query_id'];
    const message = stringField(call, 'message');
    if (message !== undefined && [...message].length > MAX_ANSWER_TEXT) throw badRequest('MESSAGE_TOO_LONG');
    // No games here: an answer that opens an address has nothing to open.
    if (call['url'] !== undefined) throw badRequest('URL_INVALID');
    const cacheTime = Math.min(Math.max(intField(call, 'cache_time'), 0), 86_400 * 366);
    const outcome = typeof queryId === 'bigint'
      ? await deps.callbacks.answer(account.id, queryId.toString(), { ...(message !== undefined && message !== '' ? { message } : {}), ...(call['alert'] === true ? { alert: true } : {}), cacheTime })
      : 'unknown';
    if (outcome === 'unknown') throw badRequest('QUERY_ID_INVALID');
    return true;
  });

  register(methods, deps, 'messages.setInlineBotResults', 'user', (_call, ctx) => {
    throw badRequest(accountOf(deps, ctx).bot ? 'QUERY_ID_INVALID' : 'USER_BOT_REQUIRED');
  });

  register(methods, deps, 'messages.sendInlineBotResult', 'user', async (call, ctx) => {
    await chatOfPeer(deps, accountOf(deps, ctx), objectField(call, 'peer'), 'post');
    throw badRequest('QUERY_ID_INVALID');
  });
}
