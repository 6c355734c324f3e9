// Pinning a message (messages.updatePinnedMessage, unpinAllMessages). The canonical event has no
// pin, so a pin is told to everyone as a message of the account answering the pinned one
// ("📌 Pinned: …"), as Telegram shows its own service message to all members; MTProto clients
// also find it as the chat's pinned message (chatFull.pinned_msg_id). One pinned message a chat
// (the latest), kept in the state (`pin:<chat>`), shared by every account of the chat.
import { newEventId } from '../../../../core/ids.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import type { ChatInfo } from '../directory.ts';
import type { MessageRecord } from '../message-box.ts';
import { actorOf, checked, originOf, publishAndWait } from '../inbound.ts';
import { badRequest, chatOfPeer, intField, liveMessage, objectField, register, updatesOf, viewOf, type ChatCallContext, type ChatDeps } from './common.ts';
import { newMessageUpdates } from './send.ts';
import { pinnedOf } from '../pinned.ts';

/** Characters of the pinned message's text the notice quotes. */
const PREVIEW_CHARS = 60;

function preview(record: MessageRecord): string {
  const text = record.text.replace(/\s+/g, ' ').trim();
  if (text === '') return record.media !== undefined ? 'a file' : 'a message';
  return [...text].length > PREVIEW_CHARS ? `«${[...text].slice(0, PREVIEW_CHARS).join('')}…»` : `«${text}»`;
}

/** Publishes the notice (answering the message) and answers with it, as a send does. */
async function notice(deps: ChatDeps, ctx: ChatCallContext, chat: ChatInfo, record: MessageRecord, pinned: boolean) {
  const view = viewOf(deps, ctx);
  const event = checked({
    v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: chat.room, sender: actorOf(deps, view.account), origin: originOf(chat, ctx),
    text: `📌 ${pinned ? 'Pinned' : 'Unpinned'}: ${preview(record)}`, replyTo: record.ev,
  });
  const published = await publishAndWait(deps, view.account, ctx.turn, chat, event);
  const sent = await newMessageUpdates(deps, view.account, view, chat, [{ id: published.id, randomIds: [] }]);
  return updatesOf(deps, view, sent.updates, sent.users, [chat]);
}

export function registerPins(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'messages.updatePinnedMessage', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const record = await liveMessage(deps, chat, intField(call, 'id'));
    const unpin = call['unpin'] === true;
    const current = await pinnedOf(deps, chat);
    if (unpin ? current !== record.id : current === record.id) throw badRequest('MESSAGE_NOT_MODIFIED');
    if (unpin) await deps.state.delete(`pin:${chat.address}`);
    else await deps.state.set(`pin:${chat.address}`, String(record.id));
    return notice(deps, ctx, chat, record, !unpin);
  });

  // Every pin of the chat goes (there is one at most); told like an unpin.
  register(methods, deps, 'messages.unpinAllMessages', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const current = await pinnedOf(deps, chat);
    if (current > 0) {
      await deps.state.delete(`pin:${chat.address}`);
      const record = await deps.box.record(current);
      if (record !== undefined && record.deleted !== true) await notice(deps, ctx, chat, record, false);
    }
    return { _: 'messages.affectedHistory', pts: await deps.pts.current(view.account), pts_count: 0, offset: 0 };
  });
}
