// Who reacted: messages.getMessageReactionsList (every reaction of a message, paged, optionally of
// one emoji) and messages.getMessagesReactions (the reactions of messages as they are now, which
// clients ask for the messages on screen). Reacting is messages.sendReaction (send.ts).
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import { badRequest, chatOfPeer, intField, listField, liveMessage, objectField, register, stringField, updatesOf, usersOfRecord, viewOf, type ChatDeps } from './common.ts';

/** Reactions one getMessageReactionsList answers at most (Telegram's cap). */
export const MAX_REACTIONS_LISTED = 100;
/** Messages one getMessagesReactions call asks about at most. */
export const MAX_MESSAGES_ASKED = 100;

/** The emoji a `reaction` filter names (a string up to layer 143, a Reaction after), '' for none, undefined for one no message can have. */
function emojiFilter(raw: unknown): string | undefined {
  if (raw === undefined) return '';
  if (typeof raw === 'string') return raw;
  const r = raw as TlObject;
  return r._ === 'reactionEmoji' && typeof r['emoticon'] === 'string' ? r['emoticon'] : undefined;
}

/** A message that is not there (an rpc_error of liveMessage) is none; anything else still fails the call. */
function notFound(err: unknown): undefined {
  if (err instanceof RpcError) return undefined;
  throw err;
}

export function registerReactions(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.getMessageReactionsList', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const record = await liveMessage(deps, chat, intField(call, 'id'));
    const limitIn = intField(call, 'limit');
    if (limitIn < 0) throw badRequest('LIMIT_INVALID');
    const limit = limitIn === 0 ? 50 : Math.min(limitIn, MAX_REACTIONS_LISTED);
    // The offset is where the previous page ended, as we gave it in next_offset.
    const offsetIn = stringField(call, 'offset') ?? '';
    const offset = offsetIn === '' ? 0 : /^\d{1,6}$/.test(offsetIn) ? Number(offsetIn) : -1;
    if (offset < 0) throw badRequest('OFFSET_INVALID');
    const emoji = emojiFilter(call['reaction']);
    const all = emoji === undefined ? [] : deps.render.peerReactions(record, view).filter((r) => emoji === '' || emojiFilter(r['reaction']) === emoji);
    const page = all.slice(offset, offset + limit);
    const next = offset + page.length;
    const users = page.map((r) => (r['peer_id'] as TlObject)['user_id'] as bigint);
    return {
      _: 'messages.messageReactionsList', count: all.length, reactions: page, chats: [], users: await deps.render.users(users, view),
      ...(next < all.length ? { next_offset: String(next) } : {}),
    };
  });

  register(methods, deps, 'messages.getMessagesReactions', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const ids = listField(call, 'id');
    if (ids.length > MAX_MESSAGES_ASKED) throw badRequest('MESSAGE_IDS_TOO_MUCH');
    // A message that is not (or no longer) in the chat is left out, as Telegram does.
    const records = (await Promise.all(ids.map((id) => (typeof id === 'number' ? liveMessage(deps, chat, id).catch(notFound) : undefined))))
      .filter((r) => r !== undefined);
    const peer = deps.render.peer(chat, view);
    const updates = records.map((r) => ({ _: 'updateMessageReactions', peer, msg_id: r.id, reactions: deps.render.reactions(r, view) }));
    return updatesOf(deps, view, updates, records.flatMap(usersOfRecord), [chat]);
  });
}
