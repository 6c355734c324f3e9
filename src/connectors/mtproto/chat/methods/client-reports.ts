// What clients tell the server and ask of it as they show messages, answered as Telegram would
// for what the bridge keeps: a voice message or mention opened (messages.readMessageContents:
// nothing here is "unopened", so nothing changes), messages received by a mobile client
// (messages.receivedMessages: no push notifications to confirm), a chat reported as spam
// (logged for the operator: who reported whom), messages or a chat reported (messages.report,
// account.reportPeer: logged the same way), view counters (basic groups and private chats
// have none), and whether a message's text can be edited as a caption
// (messages.getMessageEditData). Before, each was METHOD_NOT_IMPLEMENTED: an error in the apps
// every time a voice message was played or a chat opened.
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import { accountOf, badRequest, chatOfPeer, intField, listField, liveMessage, objectField, register, stringField, viewOf, type ChatDeps } from './common.ts';

/** Ids one getMessagesViews (or report) call may name (Telegram's clients ask for what is on screen). */
export const MAX_VIEWS_IDS = 100;
/** Characters of a report's comment the log keeps. */
const MAX_REPORT_COMMENT = 512;
/** The reasons offered to a report from layer 189 (the option goes back as bytes: its name). */
const REPORT_OPTIONS = ['spam', 'violence', 'illegal', 'other'].map((name) => ({
  _: 'messageReportOption', text: name[0]!.toUpperCase() + name.slice(1), option: new Uint8Array(Buffer.from(name)),
}));

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

  // Messages or a chat reported to the operator (who reported what, why, in the log); nothing is
  // removed: what a bridged room keeps is its network's admins' to judge. From layer 189 a report
  // is a dialogue: asked with no option, the server offers reasons; with one, it is reported.
  register(methods, deps, 'messages.report', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const ids = listField(call, 'id').filter((id): id is number => typeof id === 'number');
    if (ids.length === 0 || ids.length > MAX_VIEWS_IDS) throw badRequest('MESSAGE_ID_INVALID');
    for (const id of ids) await liveMessage(deps, chat, id);
    const option = call['option'];
    const dialogue = view.schema.byName.has('reportResultReported');
    if (dialogue && (!(option instanceof Uint8Array) || option.length === 0)) return { _: 'reportResultChooseOption', title: 'Report', options: REPORT_OPTIONS };
    const reason = dialogue ? Buffer.from(option as Uint8Array).toString('utf8').slice(0, 32) : objectField(call, 'reason')?._ ?? 'unknown';
    const comment = (stringField(call, 'message') ?? '').slice(0, MAX_REPORT_COMMENT);
    deps.logger.info({ account: String(view.account.id), chat: chat.address, room: chat.room, messages: ids, reason, comment }, 'mtproto: an account reported messages');
    return dialogue ? { _: 'reportResultReported' } : true;
  });

  register(methods, deps, 'account.reportPeer', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'));
    const comment = (stringField(call, 'message') ?? '').slice(0, MAX_REPORT_COMMENT);
    deps.logger.info({ account: String(account.id), chat: chat.address, room: chat.room, reason: objectField(call, 'reason')?._ ?? 'unknown', comment }, 'mtproto: an account reported a chat');
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
