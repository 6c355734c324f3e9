// What clients tell the server and ask of it as they show messages, answered as Telegram would
// for what the bridge keeps: a voice message or mention opened (messages.readMessageContents:
// nothing here is "unopened", so nothing changes), messages received by a mobile client
// (messages.receivedMessages: no push notifications to confirm), a chat reported as spam
// (logged for the operator: who reported whom), view counters (basic groups and private chats
// have none), and whether a message's text can be edited as a caption
// (messages.getMessageEditData). Before, each was METHOD_NOT_IMPLEMENTED: an error in the apps
// every time a voice message was played or a chat opened.
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import { accountOf, badRequest, chatOfPeer, intField, listField, liveMessage, objectField, register, viewOf, type ChatDeps } from './common.ts';

/** Ids one getMessagesViews call may name (Telegram's clients ask for what is on screen). */
export const MAX_VIEWS_IDS = 100;

export function registerClientReports(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.readMessageContents', 'user', async (_call, ctx) => {
    const account = accountOf(deps, ctx);
    return { _: 'messages.affectedMessages', pts: await deps.pts.current(account), pts_count: 0 };
  });

  register(methods, deps, 'messages.receivedMessages', 'user', () => []);

  register(methods, deps, 'messages.reportSpam', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'));
    deps.logger.info({ account: String(account.id), chat: chat.address, room: chat.room }, 'mtproto: an account reported a chat as spam');
    return true;
  });

  register(methods, deps, 'messages.getMessagesViews', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    await chatOfPeer(deps, account, objectField(call, 'peer'));
    const ids = listField(call, 'id');
    if (ids.length > MAX_VIEWS_IDS) throw badRequest('LIMIT_INVALID');
    const none: TlObject = { _: 'messageViews' };
    return { _: 'messages.messageViews', views: ids.map(() => none), chats: [], users: [] };
  });

  register(methods, deps, 'messages.getMessageEditData', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const record = await liveMessage(deps, chat, intField(call, 'id'));
    if (record.from !== String(view.account.id)) throw badRequest('MESSAGE_AUTHOR_REQUIRED');
    return { _: 'messages.messageEditData', caption: record.media !== undefined };
  });
}
