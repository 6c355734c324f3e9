// Scheduled messages (core.telegram.org/api/scheduled-messages): a send with `schedule_date`
// joins the account's queue of that chat (scheduled-queue.ts) instead of going out; the account
// sees it there (getScheduledHistory), edits, deletes or sends it at once; when it is due the
// scheduler (scheduler.ts) sends it as the account's message, as if sent then. Until then nobody
// else sees anything: the other networks get the message when it goes. Bots cannot schedule, as
// on Telegram.
import { newEventId } from '../../../../core/ids.ts';
import type { Span } from '../../../../core/event.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { Account, ChatInfo } from '../directory.ts';
import type { MediaInfo } from '../message-box.ts';
import { actorOf, checked, CONNECTOR, publishAll } from '../inbound.ts';
import { entriesOfDelivery } from '../event-entries.ts';
import { idsOfItem, SCHEDULE_AHEAD_SECONDS, SCHEDULER_SESSION, SEND_AT_ONCE_SECONDS, txnOf, type ScheduledItem } from '../scheduled-queue.ts';
import { accountOf, badRequest, chatOfPeer, chatsSeenOf, intField, listField, liveMessage, objectField, register, stringField, updatesOf, viewOf, type ChatCallContext, type ChatDeps } from './common.ts';
import { clearDraftOnSend } from './drafts.ts';
import { tellAccount } from './own-news.ts';
import { replyIdOf, textOf } from './message-input.ts';
import { newMessageUpdates } from './sent-updates.ts';

/** `schedule_date` of "send when the user comes online" (Telegram's SCHEDULE_WHEN_ONLINE). */
const WHEN_ONLINE = 0x7ffffffe;

/** A call's schedule_date as asked, refused when it is not served: a bot's, "when online", too far ahead. */
function askedDateOf(account: Account, call: TlObject, now: number): number {
  if (account.bot) throw badRequest('SCHEDULE_BOT_NOT_ALLOWED');
  const at = intField(call, 'schedule_date');
  // Whether someone of another network is online is not known well enough to wait for it.
  if (at === WHEN_ONLINE) throw badRequest('SCHEDULE_STATUS_PRIVATE');
  if (at > now + SCHEDULE_AHEAD_SECONDS) throw badRequest('SCHEDULE_DATE_TOO_LATE');
  return at;
}

/**
 * The date a send asks to be sent at, checked: undefined when it goes at once (no schedule_date,
 * or one less than SEND_AT_ONCE_SECONDS ahead, as on Telegram).
 */
function scheduleDateOf(account: Account, call: TlObject, now: number): number | undefined {
  if (call['schedule_date'] === undefined) return undefined;
  const at = askedDateOf(account, call, now);
  return at < now + SEND_AT_ONCE_SECONDS ? undefined : at;
}

/** One message a call would send: its text, formatting and files, and the random_ids naming it (an album's, one a file). */
export interface ToQueue {
  readonly text: string;
  readonly spans: readonly Span[];
  readonly media: readonly MediaInfo[];
  readonly randomIds: readonly bigint[];
}

/**
 * A send with a schedule_date: queued, and answered as Telegram does (updateMessageID with the
 * queue's id, updateNewScheduledMessage); undefined when it goes at once (the caller sends it).
 */
export function scheduleSend(deps: ChatDeps, ctx: ChatCallContext, account: Account, chat: ChatInfo, call: TlObject,
  body: { text: string; spans: readonly Span[]; media: readonly MediaInfo[] }, randomIds: readonly bigint[]): Promise<TlObject | undefined> {
  return scheduleAll(deps, ctx, account, chat, call, [{ ...body, randomIds }]);
}

/** scheduleSend of several messages of one call (a forward of several): each its own queued item, in order. */
export async function scheduleAll(deps: ChatDeps, ctx: ChatCallContext, account: Account, chat: ChatInfo, call: TlObject, sends: readonly ToQueue[]): Promise<TlObject | undefined> {
  const view = viewOf(deps, ctx);
  const at = scheduleDateOf(account, call, view.now);
  if (at === undefined) return undefined;
  const replyId = replyIdOf(call);
  if (replyId !== undefined) await liveMessage(deps, chat, replyId);
  // All of the call's messages or none.
  const items = await deps.scheduled.addAll(account.id, sends.map((body) => ({
    chat: chat.address, at, made: view.now, text: body.text, ...(body.spans.length > 0 ? { spans: body.spans } : {}),
    ...(replyId !== undefined ? { reply: replyId } : {}), ...(body.media.length > 0 ? { files: body.media } : {}),
    ...(body.randomIds[0] !== undefined ? { random: body.randomIds[0].toString() } : {}),
  })));
  if (items === 'SCHEDULE_TOO_MUCH') throw badRequest(items);
  if (items === 'INTERNAL') throw new RpcError(500, 'INTERNAL');
  await clearDraftOnSend(deps, call, ctx, account, chat);
  await tellAccount(deps, account, { kind: 'scheduled', account: String(account.id), chat: chat.address, ids: items.map((i) => i.id), gone: [], sent: [] }, ctx.channel?.key);
  // An album's random_ids name its messages in order.
  return updatesOf(deps, view, [
    ...items.flatMap((item, n) => { const ids = idsOfItem(item); return sends[n]!.randomIds.map((random_id, k) => ({ _: 'updateMessageID', id: ids[k] ?? item.id, random_id })); }),
    ...items.flatMap((item) => deps.render.scheduled(item, account.id, view).map((message) => ({ _: 'updateNewScheduledMessage', message }))),
  ], [], [chat]);
}

/** What sending queued messages did: each one sent (its message's canonical id), and whether one must be tried again later. */
export interface ScheduledSends {
  readonly sent: ReadonlyArray<{ readonly item: ScheduledItem; readonly chat: ChatInfo; readonly id: string }>;
  readonly retry: boolean;
}

/**
 * Sends queued messages of an account, in order, each as its message of now, and takes them out
 * of the queue; its sessions are told. One the account may no longer send (a chat it no longer
 * sees, a user who blocked it) is dropped and logged; when the bus refuses, the rest waits.
 */
export async function sendScheduled(deps: ChatDeps, account: Account, items: readonly ScheduledItem[]): Promise<ScheduledSends> {
  const sent: Array<{ item: ScheduledItem; chat: ChatInfo; id: string }> = [];
  for (const item of items) {
    const chat = chatsSeenOf(deps, account, [item.chat])[0];
    let outcome: { id: string; messageIds: number[] } | 'dropped' | 'retry';
    if (chat === undefined) {
      outcome = 'dropped';
    } else {
      // The message it answers, if it is still there.
      const reply = item.reply === undefined ? undefined : await deps.box.record(item.reply);
      const replyTo = reply !== undefined && reply.chat === chat.address && reply.deleted !== true && reply.service === undefined ? reply.ev : undefined;
      const origin = { connector: CONNECTOR, endpoint: chat.direct !== undefined ? String(account.id) : chat.address, session: SCHEDULER_SESSION };
      try {
        const event = checked({
          v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: chat.room, sender: actorOf(deps, account), origin,
          text: item.text, ...(item.spans !== undefined && item.spans.length > 0 ? { spans: item.spans } : {}), ...(replyTo !== undefined ? { replyTo } : {}),
          ...(item.files !== undefined ? { attachments: item.files.map((f) => deps.files.attachment(f)) } : {}),
        });
        const [published] = await publishAll(deps, account, deps.order.take(undefined), [{ chat, event, txn: txnOf(item) }]);
        // Every message it became (an album's files are one each).
        outcome = { id: published!.id, messageIds: (await entriesOfDelivery(deps.box, chat.address, published!.id)).map((e) => e.m) };
      } catch (err) {
        // Refused (400; 403 CHAT_WRITE_FORBIDDEN: a reload made the group read-only since it was queued): it never will be sent.
        const refused = err instanceof RpcError && (err.code === 400 || err.code === 403);
        outcome = refused ? 'dropped' : 'retry';
        if (!refused) deps.logger.warn({ err, user: String(account.id), chat: item.chat }, 'mtproto: a scheduled message could not be sent yet');
      }
    }
    deps.scheduledOutcomes?.inc({ outcome: typeof outcome === 'string' ? outcome : 'sent' });
    if (outcome === 'retry') return { sent, retry: true };
    if (outcome === 'dropped') deps.logger.warn({ user: String(account.id), chat: item.chat, scheduled: item.id }, 'mtproto: a scheduled message the account may no longer send was dropped');
    const taken = await deps.scheduled.take(account.id, [item.id], item.chat);
    const messageIds = outcome === 'dropped' ? [] : outcome.messageIds;
    if (outcome !== 'dropped' && chat !== undefined) sent.push({ item, chat, id: outcome.id });
    if (taken.length > 0) await tellAccount(deps, account, { kind: 'scheduled', account: String(account.id), chat: item.chat, ids: [], gone: idsOfItem(item), sent: messageIds }, undefined);
  }
  return { sent, retry: false };
}

/** The queued items of the chat a call names, of the ids it lists (all without `ids`; an album by any of its messages). */
async function itemsOf(deps: ChatDeps, account: Account, chat: ChatInfo, ids?: readonly number[]): Promise<ScheduledItem[]> {
  const items = await deps.scheduled.list(account.id, chat.address);
  return ids === undefined ? items : items.filter((i) => idsOfItem(i).some((id) => ids.includes(id)));
}

const idsOf = (call: TlObject): number[] => listField(call, 'id').filter((v): v is number => typeof v === 'number').slice(0, 100);

/** An edit of a queued message (messages.editMessage with schedule_date): its text, its date. */
export async function editScheduled(deps: ChatDeps, ctx: ChatCallContext, call: TlObject): Promise<TlObject> {
  const view = viewOf(deps, ctx);
  const account = view.account;
  const chat = await chatOfPeer(deps, account, objectField(call, 'peer'), 'post');
  const at = askedDateOf(account, call, view.now);
  if (call['media'] !== undefined) throw badRequest('MEDIA_PREV_INVALID');
  const id = intField(call, 'id');
  const [item] = await itemsOf(deps, account, chat, [id]);
  if (item === undefined) throw badRequest('MESSAGE_ID_INVALID');
  const text = stringField(call, 'message') !== undefined ? await textOf(deps, account, call, item.files !== undefined) : undefined;
  const edited = await deps.scheduled.edit(account.id, chat.address, id, (current) => ({
    id: current.id, chat: current.chat, made: current.made, ...(current.random !== undefined ? { random: current.random } : {}),
    ...(current.reply !== undefined ? { reply: current.reply } : {}), ...(current.files !== undefined ? { files: current.files } : {}),
    text: text?.text ?? current.text, ...((text?.spans ?? current.spans ?? []).length > 0 ? { spans: text?.spans ?? current.spans } : {}),
    // A date now or past: due at once (the scheduler sends it).
    at: Math.max(at, view.now), edited: view.now,
  }));
  if (edited === undefined) throw badRequest('MESSAGE_ID_INVALID');
  if (edited === 'SCHEDULE_TOO_MUCH') throw badRequest(edited);
  await tellAccount(deps, account, { kind: 'scheduled', account: String(account.id), chat: chat.address, ids: [edited.id], gone: [], sent: [] }, ctx.channel?.key);
  // The message edited (an album's caption is its first's; a new time moves all of it).
  return updatesOf(deps, view, deps.render.scheduled(edited, account.id, view).map((message) => ({ _: 'updateNewScheduledMessage', message })), [], [chat]);
}

export function registerScheduled(methods: MethodRegistry, deps: ChatDeps): void {
  // The chat's queue as Telegram lists it: the latest due first.
  const history = async (call: TlObject, ctx: ChatCallContext, ids?: readonly number[]) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const items = (await itemsOf(deps, view.account, chat, ids)).reverse();
    // Latest first, an album's messages too; by id, only those asked for.
    const messages = items.flatMap((i) => deps.render.scheduled(i, view.account.id, view).reverse()).filter((m) => ids === undefined || ids.includes(m['id'] as number));
    return { _: 'messages.messages', messages, chats: deps.render.chatObjects([chat], view), users: await deps.render.users([view.account.id, ...deps.render.usersOfChat(chat, view)], view) };
  };
  register(methods, deps, 'messages.getScheduledHistory', 'user', (call, ctx) => history(call, ctx));
  register(methods, deps, 'messages.getScheduledMessages', 'user', (call, ctx) => history(call, ctx, idsOf(call)));

  register(methods, deps, 'messages.deleteScheduledMessages', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'));
    const taken = await deps.scheduled.take(account.id, idsOf(call), chat.address);
    const gone = taken.flatMap(idsOfItem);
    if (gone.length > 0) await tellAccount(deps, account, { kind: 'scheduled', account: String(account.id), chat: chat.address, ids: [], gone, sent: [] }, ctx.channel?.key);
    return updatesOf(deps, view, [{ _: 'updateDeleteScheduledMessages', peer: deps.render.peer(chat, view), messages: gone }], [], [chat]);
  });

  // "Send now": each goes as it would have when due; the answer holds the new messages.
  register(methods, deps, 'messages.sendScheduledMessages', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'), 'post');
    const items = await itemsOf(deps, account, chat, idsOf(call));
    if (items.length === 0) throw badRequest('MESSAGE_ID_INVALID');
    const { sent, retry } = await sendScheduled(deps, account, items);
    if (retry && sent.length === 0) throw new RpcError(500, 'INTERNAL');
    const news = await newMessageUpdates(deps, account, view, chat, sent.map((s) => ({ id: s.id, randomIds: [] })));
    const messageIds = news.updates.flatMap((u) => (u['message'] as TlObject | undefined)?.['id'] as number | undefined ?? []);
    return updatesOf(deps, view, [
      { _: 'updateDeleteScheduledMessages', peer: deps.render.peer(chat, view), messages: sent.flatMap((s) => idsOfItem(s.item)), sent_messages: messageIds }, ...news.updates,
    ], news.users, [chat]);
  });
}
