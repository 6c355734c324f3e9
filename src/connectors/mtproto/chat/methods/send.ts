// What an account does in a chat: send (text or a file), edit, delete, react, type, mark read.
// Each becomes a canonical event published on the bus; the call answers once the bus delivered
// it back into the chat's log, with the message id and the account's pts it got there. A
// send's random_id is a transaction of the account (Bus.publishOnce): a resend answers the
// first send's message and publishes nothing.
import { newEventId } from '../../../../core/ids.ts';
import type { Span } from '../../../../core/event.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { View } from '../render.ts';
import type { Account, ChatInfo } from '../directory.ts';
import { checked, originOf, publishAll, publishAndWait, actorOf } from '../inbound.ts';
import type { MediaInfo, MessageRecord } from '../message-box.ts';
import { MAX_ALBUM_FILES, entriesOfDelivery, messagesOfEvent } from '../event-entries.ts';
import { readInboxOf } from './chats.ts';
import { accountOf, badRequest, type ChatCallContext, chatOfPeer, chatsOfAccount, intField, listField, liveMessage, objectField, register, stringField, updatesOf, userOfInput, usersOfRecord, viewOf, type ChatDeps } from './common.ts';
import { mediaOfInput } from './upload.ts';
import { isReplyKind, isReplyMarkup, keepKeyboard, type Keyboard } from '../keyboards.ts';
import { clearDraftOnSend } from './drafts.ts';
import { mediaAsText } from '../media-as-text.ts';
import { clearUnreadMark } from './dialog-settings.ts';
import { tellAccount } from './own-news.ts';
import { objects, refuseUnserved, replyIdOf, textOf, withButtons } from './message-input.ts';
import { editScheduled, scheduleSend } from './scheduled.ts';
import { newMessageUpdates } from './sent-updates.ts';
import { publishesFrom } from '../group-direction.ts';

/** Reactions one account may set on one message. */
const MAX_REACTIONS = 3;

/** The captions of an album's files as one text (the canonical message has one): the non-empty ones, a line each. */
async function captionsOf(deps: ChatDeps, account: Account, items: readonly TlObject[]): Promise<{ text: string; spans: Span[] }> {
  let text = '';
  const spans: Span[] = [];
  for (const item of items) {
    const caption = await textOf(deps, account, item, true);
    if (caption.text.trim() === '') continue;
    if (text !== '') text += '\n';
    spans.push(...caption.spans.map((span) => ({ ...span, offset: span.offset + text.length })));
    text += caption.text;
  }
  if (text.length > deps.maxTextLength) throw badRequest('MEDIA_CAPTION_TOO_LONG');
  return { text, spans };
}

/**
 * A bot's message without its buttons, for an edit of the buttons alone: the text before the
 * lines its keyboard began at, or all of it when it had none. A message that is several here (an
 * album, a text the mapper split) has its buttons on no message: REPLY_MARKUP_INVALID.
 */
async function textBeforeButtons(deps: ChatDeps, chat: ChatInfo, record: MessageRecord): Promise<[string, Span[]]> {
  if ((await messagesOfEvent(deps.box, chat.address, record.ev)).length > 1) throw badRequest('REPLY_MARKUP_INVALID');
  const at = Math.min(record.keyboard?.at ?? record.text.length, record.text.length);
  return [record.text.slice(0, at), (record.spans ?? []).filter((s) => s.offset + s.length <= at)];
}

/** The newest of `ids` (ascending) that is a canonical message, looking at the last RECEIPT_LOOKBACK. */
async function newestCanonical(deps: ChatDeps, ids: readonly number[]): Promise<MessageRecord | undefined> {
  for (let i = ids.length - 1; i >= 0 && i >= ids.length - RECEIPT_LOOKBACK; i--) {
    const record = await deps.box.record(ids[i]!);
    if (record !== undefined && record.deleted !== true && record.service === undefined) return record;
  }
  return undefined;
}

/** Own messages one messages.deleteHistory with `revoke` retracts at most (the client calls again for more). */
const MAX_RETRACTED = 100;

/** Messages a read mark looks back through for one to point its receipt at. */
const RECEIPT_LOOKBACK = 10;

/** A bot's start parameter as Telegram allows it: up to 64 of A-Z, a-z, 0-9, _ and -. */
const START_PARAM = /^[A-Za-z0-9_-]{0,64}$/;

export function registerSend(methods: MethodRegistry, deps: ChatDeps): void {
  /**
   * Publishes a new message and answers like Telegram: updateShortSentMessage for text (`answer`
   * 'short'; not in Saved Messages); with files, or for a sendMedia that became text ('full'), updateMessageID (one per
   * random_id) and an updateNewMessage per message: several files are an album, one message each
   * (event-entries.ts).
   */
  async function send(ctx: ChatCallContext, account: Account, chat: ChatInfo, call: TlObject, body: { text: string; spans: Span[]; media: readonly MediaInfo[]; keyboard?: Keyboard }, randomIds: readonly bigint[], txn: string | undefined, answer: 'short' | 'full' = 'short') {
    const view = viewOf(deps, ctx);
    const replyId = replyIdOf(call);
    const reply = replyId === undefined ? undefined : await liveMessage(deps, chat, replyId);
    const event = checked({
      v: 1, id: newEventId(), ts: Date.now(), kind: 'message', room: chat.room, sender: actorOf(deps, account), origin: originOf(chat, ctx),
      text: body.text, ...(body.spans.length > 0 ? { spans: body.spans } : {}), ...(reply !== undefined ? { replyTo: reply.ev } : {}),
      ...(body.media.length > 0 ? { attachments: body.media.map((m) => deps.files.attachment(m)) } : {}),
    });
    // A bot's keyboard, for MTProto clients: kept for the writer before the event goes out (a reply
    // keyboard first marks its bot, so the writer reads its later messages for the keyboard's removal).
    if (body.keyboard !== undefined) {
      if (body.keyboard.reply !== undefined) await deps.replyKeyboardBots.mark(account.id);
      // A selective one also shows to the sender of the message it answers.
      const selective = body.keyboard.reply?.selective === true && reply !== undefined ? { ...body.keyboard, reply: { ...body.keyboard.reply, to: reply.from } } : body.keyboard;
      await keepKeyboard(deps.state, event.id, selective);
    }
    const published = await publishAndWait(deps, account, ctx.turn, chat, event, txn);
    await clearDraftOnSend(deps, call, ctx, account, chat);
    const record = await deps.box.record(published.entry.m);
    if (record === undefined) throw badRequest('MESSAGE_ID_INVALID');
    // A text message answers in the short form (core.telegram.org/constructor/updateShortSentMessage):
    // the client knows the chat from its call and the text from its request. The full form costs
    // a client several 64-bit reads per send (users, chats, peers): a stock gramjs client spent
    // more time parsing it than doing anything else at a steady send rate (bench/RESULTS.md).
    // Not in Saved Messages: its messages carry saved_peer_id (layer 170 on), which the short form
    // cannot, and mtcute 0.30 cannot build a message from it for a chat it named inputPeerSelf.
    if (body.media.length === 0 && answer === 'short' && !deps.directs.isSaved(chat)) {
      const pts = await deps.pts.at(account, published.entry.g);
      const entities = deps.render.entitiesOf(record);
      return { _: 'updateShortSentMessage', out: true, id: record.id, pts, pts_count: 1, date: record.date, ...(entities.length > 0 ? { entities } : {}) };
    }
    const sent = await newMessageUpdates(deps, account, view, chat, [{ id: published.id, randomIds }]);
    return updatesOf(deps, view, sent.updates, sent.users, [chat]);
  }

  const randomIdOf = (call: TlObject): bigint[] => (typeof call['random_id'] === 'bigint' ? [call['random_id']] : []);

  register(methods, deps, 'messages.sendMessage', 'user', async (call, ctx) => {
    refuseUnserved(call);
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'), 'post');
    const ids = randomIdOf(call);
    const body = { ...await textOf(deps, account, call, false), media: [] };
    return await scheduleSend(deps, ctx, account, chat, call, body, ids) ?? send(ctx, account, chat, call, body, ids, ids[0]?.toString());
  });

  // A bot's START button (and t.me/<bot>?start=<param> links): "/start <param>" from the person
  // to the bot, as Telegram sends it: in their private chat, or as "/start@<bot> <param>" in a
  // group the bot is in (adding a bot to a bridged group is the operator's, as every member change).
  register(methods, deps, 'messages.startBot', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const botId = await userOfInput(deps, account, objectField(call, 'bot'));
    const bot = botId === undefined ? undefined : deps.directory.account(botId);
    if (bot === undefined || !bot.bot || bot.id === account.id) throw badRequest('BOT_INVALID');
    const param = stringField(call, 'start_param') ?? '';
    if (!START_PARAM.test(param)) throw badRequest('START_PARAM_INVALID');
    const peer = objectField(call, 'peer');
    const chat = await chatOfPeer(deps, account, peer, 'post');
    if (chat.direct !== undefined ? await userOfInput(deps, account, peer) !== bot.id : !deps.directory.mayUse(bot, chat)) {
      throw badRequest(chat.direct !== undefined ? 'PEER_ID_INVALID' : 'CHAT_ADMIN_REQUIRED');
    }
    const username = deps.profiles.shown(bot).username;
    const command = chat.direct === undefined && username !== undefined ? `/start@${username}` : '/start';
    const ids = randomIdOf(call);
    return send(ctx, account, chat, call, { text: param === '' ? command : `${command} ${param}`, spans: [], media: [] }, ids, ids[0]?.toString(), 'full');
  });

  register(methods, deps, 'messages.sendMedia', 'user', async (call, ctx) => {
    refuseUnserved(call);
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'), 'post');
    const text = await textOf(deps, account, call, true);
    const ids = randomIdOf(call);
    // A location, a contact, a dice, a poll: text with the caption under it (media-as-text.ts).
    const asText = mediaAsText(objectField(call, 'media'));
    if (typeof asText === 'string') throw badRequest(asText);
    if (asText !== undefined) {
      const gap = text.text === '' ? '' : '\n';
      const body = { text: asText.text + gap + text.text, spans: [...asText.spans, ...text.spans.map((s) => ({ ...s, offset: s.offset + asText.text.length + gap.length }))], media: [] };
      return await scheduleSend(deps, ctx, account, chat, call, body, ids) ?? send(ctx, account, chat, call, body, ids, ids[0]?.toString(), 'full');
    }
    const media = await mediaOfInput(deps, account, objectField(call, 'media'));
    const body = { ...text, media: [media] };
    return await scheduleSend(deps, ctx, account, chat, call, body, ids) ?? send(ctx, account, chat, call, body, ids, ids[0]?.toString());
  });

  // An album: one canonical message with all its files (and its captions as one text).
  register(methods, deps, 'messages.sendMultiMedia', 'user', async (call, ctx) => {
    refuseUnserved(call);
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'), 'post');
    const items = objects(listField(call, 'multi_media'));
    if (items.length === 0 || items.some((item) => item._ !== 'inputSingleMedia')) throw badRequest('MEDIA_INVALID');
    if (items.length > MAX_ALBUM_FILES) throw badRequest('MULTI_MEDIA_TOO_LONG');
    const randomIds = items.map((item) => item['random_id']);
    if (randomIds.some((id) => typeof id !== 'bigint') || new Set(randomIds).size !== randomIds.length) throw badRequest('RANDOM_ID_INVALID');
    const caption = await captionsOf(deps, account, items);
    const media: MediaInfo[] = [];
    for (const item of items) media.push(await mediaOfInput(deps, account, objectField(item, 'media')));
    const ids = randomIds as bigint[];
    const body = { ...caption, media };
    return await scheduleSend(deps, ctx, account, chat, call, body, ids) ?? send(ctx, account, chat, call, body, ids, `album:${ids[0]!.toString()}`);
  });

  register(methods, deps, 'messages.editMessage', 'user', async (call, ctx) => {
    // With schedule_date, the id is of the chat's schedule, not of a message (scheduled.ts).
    if (call['schedule_date'] !== undefined) return editScheduled(deps, ctx, call);
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'), 'post');
    const record = await liveMessage(deps, chat, intField(call, 'id'));
    if (record.from !== String(view.account.id)) throw badRequest('MESSAGE_AUTHOR_REQUIRED');
    if (call['media'] !== undefined) throw badRequest('MEDIA_PREV_INVALID');
    // Without a text, a bot edits its buttons alone (the Bot API's editMessageReplyMarkup): none takes them away.
    if (call['message'] === undefined && !view.account.bot) throw badRequest('MESSAGE_EMPTY');
    // Only inline keyboards are edited (as on Telegram): a reply keyboard is neither given nor replaced by an edit.
    const markup = view.account.bot ? objectField(call, 'reply_markup') : undefined;
    if (isReplyMarkup(markup) || ((markup !== undefined || call['message'] === undefined) && isReplyKind(record.keyboard))) throw badRequest('REPLY_MARKUP_INVALID');
    const { text, spans, keyboard } = call['message'] === undefined
      ? withButtons(...await textBeforeButtons(deps, chat, record), markup)
      : await textOf(deps, view.account, call, false);
    // A file's buttons taken away with no caption left: the canonical edit has no empty text.
    if (text === '') throw badRequest('MESSAGE_EMPTY');
    if (text === record.text && JSON.stringify(spans) === JSON.stringify(record.spans ?? []) && JSON.stringify(keyboard?.rows ?? []) === JSON.stringify(record.keyboard?.rows ?? [])) throw badRequest('MESSAGE_NOT_MODIFIED');
    const event = checked({
      v: 1, id: newEventId(), ts: Date.now(), kind: 'edit', room: chat.room, sender: actorOf(deps, view.account), origin: originOf(chat, ctx),
      target: record.ev, text, ...(spans.length > 0 ? { spans } : {}),
    });
    if (keyboard !== undefined) await keepKeyboard(deps.state, event.id, keyboard);
    const published = await publishAndWait(deps, view.account, ctx.turn, chat, event);
    const now = await deps.box.record(record.id) ?? record;
    const pts = await deps.pts.at(view.account, published.entry.g);
    return updatesOf(deps, view, [{ _: 'updateEditMessage', message: deps.render.message(now, view), pts, pts_count: 1 }], usersOfRecord(now), [chat]);
  });

  // Basic groups and private chats: ids without a peer. Only one's own messages can be deleted, for
  // everyone, except by a group's admin (an account with `moderator`), who deletes anyone's there:
  // a moderator's removal (canonical `moderation`), carried out on every network of the room. A
  // message that is one of several of a canonical message (a file of an album, a part of a long
  // text) deletes them all: the canonical retraction has no finer grain.
  /** Publishes a canonical retraction per target; each wrote a deletion per message it deleted here (event-entries.ts). */
  async function retract(ctx: ChatCallContext, account: Account, targets: readonly { record: MessageRecord; chat: ChatInfo; moderated?: boolean }[]) {
    const published = await publishAll(deps, account, ctx.turn, targets.map(({ record, chat, moderated }) => ({
      chat,
      event: checked({
        v: 1, id: newEventId(), ts: Date.now(), kind: 'retract', room: chat.room, sender: actorOf(deps, account), origin: originOf(chat, ctx),
        target: record.ev, ...(moderated === true ? { moderation: {} } : {}),
      }),
    })));
    return Promise.all(published.map((p, i) => entriesOfDelivery(deps.box, targets[i]!.chat.address, p.id)));
  }

  /**
   * Clearing a chat's history for the account (messages.deleteHistory): everything up to max_id
   * (0: all) is hidden from it (its cleared mark: history, dialogs, search, unread counts; other
   * accounts and networks keep theirs). With `revoke`, its own messages among them are also
   * retracted, for everyone, 100 a call: while more remain the answer's `offset` is positive and
   * the client calls again (as Telegram's). Others' messages cannot be deleted on their networks.
   */
  register(methods, deps, 'messages.deleteHistory', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const account = view.account;
    // Clearing it for oneself is no post; retracting one's messages for everyone (`revoke`) is.
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'), call['revoke'] === true ? 'post' : 'write');
    const maxId = intField(call, 'max_id');
    const ids = (await deps.box.chat(chat.address)).messageIds().filter((id) => maxId <= 0 || id <= maxId);
    const upTo = ids.at(-1);
    const unchanged = async () => ({ _: 'messages.affectedHistory', pts: await deps.pts.current(account), pts_count: 0, offset: 0 });
    if (upTo === undefined) return unchanged();
    if (!await deps.dialogSettings.markSeen(account.id, 'clearedUpTo', chat.address, upTo)) throw new RpcError(420, 'FLOOD_WAIT_1');
    // The account's other sessions drop the cleared messages too (here, and through a note elsewhere).
    await tellAccount(deps, account, { kind: 'cleared', account: String(account.id), chat: chat.address }, ctx.channel?.key);
    if (call['revoke'] !== true) return unchanged();
    const own: { record: MessageRecord; chat: ChatInfo }[] = [];
    const events = new Set<string>();
    let more = false;
    for (const id of [...ids].reverse()) {
      const record = await deps.box.record(id);
      if (record === undefined || record.deleted === true || record.service !== undefined || record.from !== String(account.id) || events.has(record.ev)) continue;
      if (own.length === MAX_RETRACTED) { more = true; break; }
      events.add(record.ev);
      own.push({ record, chat });
    }
    await retract(ctx, account, own);
    return { _: 'messages.affectedHistory', pts: await deps.pts.current(account), pts_count: 0, offset: more ? own.at(-1)!.record.id : 0 };
  });

  register(methods, deps, 'messages.deleteMessages', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const visible = new Map((await chatsOfAccount(deps, account)).map((c) => [c.address, c]));
    const ids = [...new Set(listField(call, 'id').filter((v): v is number => typeof v === 'number'))].slice(0, 100);
    const targets: { record: MessageRecord; chat: ChatInfo; moderated: boolean }[] = [];
    const events = new Set<string>();
    for (const id of ids) {
      const record = id > 0 ? await deps.box.record(id) : undefined;
      const chat = record === undefined ? undefined : visible.get(record.chat);
      if (record === undefined || chat === undefined || record.deleted === true) continue; // nothing to delete: not counted
      const someoneElses = record.from !== String(account.id);
      // A group's admin deletes anyone's message there, for everyone (`revoke`: a "delete for me"
      // of another's message is no removal, and there is no hiding one message for one account);
      // never a service message, nor another's in a private chat.
      if (someoneElses && (account.moderator !== true || call['revoke'] !== true || chat.direct !== undefined || record.service !== undefined)) throw badRequest('MESSAGE_DELETE_FORBIDDEN');
      if (events.has(record.ev)) continue; // another message of the same one: retracted once
      events.add(record.ev);
      targets.push({ record, chat, moderated: someoneElses });
    }
    const written = await retract(ctx, account, targets);
    const entries = written.flat();
    if (entries.length === 0) return { _: 'messages.affectedMessages', pts: await deps.pts.current(account), pts_count: 0 };
    // One that deleted more than was asked (an album, a split text) is pushed to this session too
    // (outbound.ts): this answer cannot name those messages. It then says where the account was
    // before them, so the pushed deletions apply in order whichever arrives first.
    if (written.some((w) => w.length > 1)) return { _: 'messages.affectedMessages', pts: await deps.pts.at(account, Math.min(...entries.map((e) => e.g)) - 1), pts_count: 0 };
    return { _: 'messages.affectedMessages', pts: await deps.pts.at(account, Math.max(...entries.map((e) => e.g))), pts_count: entries.length };
  });

  register(methods, deps, 'messages.sendReaction', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'), 'post');
    const record = await liveMessage(deps, chat, intField(call, 'msg_id'));
    // Layer 145+: a vector of Reaction (empty or absent = none); before: one emoticon string ('' = none).
    const raw = call['reaction'];
    const emoji = typeof raw === 'string'
      ? (raw === '' ? [] : [raw])
      : objects(Array.isArray(raw) ? raw : []).flatMap((r) => (r._ === 'reactionEmoji' && typeof r['emoticon'] === 'string' ? [r['emoticon']] : r._ === 'reactionEmpty' ? [] : ['\u0000']));
    if (emoji.includes('\u0000')) throw badRequest('REACTION_INVALID');
    if (emoji.length > MAX_REACTIONS || emoji.some((e) => e.length === 0 || e.length > 64)) throw badRequest('REACTION_INVALID');
    const event = checked({
      v: 1, id: newEventId(), ts: Date.now(), kind: 'reaction', room: chat.room, sender: actorOf(deps, view.account), origin: originOf(chat, ctx),
      target: record.ev, reactions: [...new Set(emoji)],
    });
    const published = await publishAndWait(deps, view.account, ctx.turn, chat, event);
    const now = await deps.box.record(record.id) ?? record;
    const pts = await deps.pts.at(view.account, published.entry.g);
    return updatesOf(deps, view, [{ _: 'updateEditMessage', message: deps.render.message(now, view), pts, pts_count: 1 }], usersOfRecord(now), [chat]);
  });

  // Typing is fire and forget: published, not waited for.
  register(methods, deps, 'messages.setTyping', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'));
    const action = objectField(call, 'action');
    const state = action?._ === 'sendMessageCancelAction' ? 'stopped' : 'active';
    // Typing in Saved Messages is told to nobody: only the account is there; in a read-only group, to nobody else.
    if (deps.directs.isSaved(chat) || !publishesFrom(deps.directory, chat)) return true;
    const event = checked({ v: 1, id: newEventId(), ts: Date.now(), kind: 'typing', room: chat.room, sender: actorOf(deps, account), origin: originOf(chat, ctx), state });
    await ctx.turn.ready;
    const published = deps.bus.publish([event]);
    ctx.turn.release();
    try {
      await published;
    } catch (err) {
      deps.logger.warn({ err }, 'mtproto: typing not published');
      throw new RpcError(500, 'INTERNAL');
    }
    return true;
  });

  register(methods, deps, 'messages.readHistory', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const chat = await chatOfPeer(deps, account, objectField(call, 'peer'));
    await clearUnreadMark(deps, ctx, account, chat);
    // Saved Messages holds the account's own messages only: nothing to mark read, nobody to tell.
    if (deps.directs.isSaved(chat)) return { _: 'messages.affectedMessages', pts: await deps.pts.current(account), pts_count: 0 };
    const log = await deps.box.chat(chat.address);
    const maxId = intField(call, 'max_id');
    const ids = log.messageIds();
    const upTo = [...ids].reverse().find((id) => maxId <= 0 || id <= maxId);
    const already = await readInboxOf(deps, account, chat);
    const unchanged = async () => ({ _: 'messages.affectedMessages', pts: await deps.pts.current(account), pts_count: 0 });
    if (upTo === undefined || upTo <= already) return unchanged();
    await deps.state.set(`read:${account.id}:${chat.address}`, String(upTo));
    // Read in a read-only group: the account's own mark, no receipt for the other networks.
    if (!publishesFrom(deps.directory, chat)) return unchanged();
    // The receipt points at the newest message read that is a canonical one (not the chat's
    // creation, not deleted); with none among the newest few, the mark is all there is.
    const record = await newestCanonical(deps, ids.filter((id) => id > already && id <= upTo));
    if (record === undefined) return unchanged();
    const event = checked({
      v: 1, id: newEventId(), ts: Date.now(), kind: 'receipt', room: chat.room, sender: actorOf(deps, account), origin: originOf(chat, ctx),
      target: record.ev, receipt: 'displayed',
    });
    const published = await publishAndWait(deps, account, ctx.turn, chat, event);
    return { _: 'messages.affectedMessages', pts: await deps.pts.at(account, published.entry.g), pts_count: 1 };
  });
}
