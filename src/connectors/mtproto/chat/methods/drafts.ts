// Drafts (chat/drafts.ts): messages.saveDraft keeps what the account was writing in a chat, its
// other sessions are told (updateDraftMessage), dialogs show it, messages.getAllDrafts lists them,
// and a send with clear_draft removes it.
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { Account, ChatInfo } from '../directory.ts';
import { MAX_DRAFT_SPANS, draftObject, type Draft } from '../drafts.ts';
import { chatOfPeer, chatsSeenOf, liveMessage, objectField, register, viewOf, type ChatCallContext, type ChatDeps } from './common.ts';
import { tellAccount } from './own-news.ts';
import { replyIdOf, textOf } from './message-input.ts';

/** After a send with `clear_draft`: the chat's draft goes, and the account's other sessions are told. */
export async function clearDraftOnSend(deps: ChatDeps, call: TlObject, ctx: ChatCallContext, account: Account, chat: ChatInfo): Promise<void> {
  if (call['clear_draft'] !== true || (await deps.drafts.of(account.id))[chat.address] === undefined) return;
  await deps.drafts.set(account.id, chat.address, undefined);
  await tellAccount(deps, account, { kind: 'draft', account: String(account.id), chat: chat.address }, ctx.channel?.key);
}

export function registerDrafts(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.saveDraft', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const account = view.account;
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'));
    // The same checks as a send's text (length, mentions); a file of a draft (layer 174+) is not kept.
    const { text, spans } = await textOf(deps, account, call, true);
    const replyId = replyIdOf(call);
    if (replyId !== undefined) await liveMessage(deps, chat, replyId);
    // An empty draft removes the chat's draft, as on Telegram.
    const draft: Draft | undefined = text.trim() === '' && replyId === undefined ? undefined : {
      text, date: view.now, ...(spans.length > 0 ? { spans: spans.slice(0, MAX_DRAFT_SPANS) } : {}), ...(replyId !== undefined ? { reply: replyId } : {}),
    };
    // Saves of one account that keep colliding (its sessions saving at once): the client tries again.
    if (!await deps.drafts.set(account.id, chat.address, draft)) throw new RpcError(420, 'FLOOD_WAIT_1');
    await tellAccount(deps, account, { kind: 'draft', account: String(account.id), chat: chat.address }, ctx.channel?.key);
    return true;
  });

  // Every draft of the account, as the updateDraftMessage each would be (a chat it no longer sees: left out).
  register(methods, deps, 'messages.getAllDrafts', 'user', async (_call, ctx) => {
    const view = viewOf(deps, ctx);
    const drafts = await deps.drafts.of(view.account.id);
    const chats = chatsSeenOf(deps, view.account, Object.keys(drafts));
    const updates = chats.map((c) => ({ _: 'updateDraftMessage', peer: deps.render.peer(c, view), draft: draftObject(deps, drafts[c.address], view) }));
    return {
      _: 'updates', updates, users: await deps.render.users(chats.flatMap((c) => deps.render.usersOfChat(c, view)), view),
      chats: deps.render.chatObjects(chats, view), date: view.now, seq: 0,
    };
  });
}
