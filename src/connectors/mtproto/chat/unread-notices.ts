// What a chat holds for an account that it has not seen besides new messages: mentions of it (a
// message whose formatting has a mention span naming it: the span's user is its canonical
// reference, `mtproto:<id>`), unread when newer than both its read mark of the chat and its mark
// of mentions read (messages.readMentions); and reactions of others to its messages, unread when
// their log entry is past its mark of reactions seen (messages.readReactions).
import type { ChatLog } from './chat-log.ts';
import type { MessageBox, MessageRecord } from './message-box.ts';

/** Unread messages (or reaction entries) looked through, the newest (a count past them is a floor). */
export const NOTICE_LOOKBACK = 100;

/** Whether a record mentions the user whose canonical reference is `ref` (and is not theirs). */
export function mentions(record: MessageRecord, ref: string | undefined, fromId: string): boolean {
  return ref !== undefined && record.from !== fromId && (record.spans ?? []).some((s) => s.type === 'mention' && s.user === ref);
}

/** The chat's messages after `after` that mention the user, newest first (among the newest NOTICE_LOOKBACK). */
export async function unreadMentionsIn(box: MessageBox, log: ChatLog, after: number, ref: string | undefined, fromId: string): Promise<MessageRecord[]> {
  if (ref === undefined) return [];
  const ids = log.messageIds().filter((id) => id > after).slice(-NOTICE_LOOKBACK);
  const records = await Promise.all(ids.map((id) => box.record(id)));
  return records.filter((r): r is MessageRecord => r !== undefined && r.deleted !== true && r.service === undefined && mentions(r, ref, fromId)).reverse();
}

/**
 * The user's messages that others reacted to after log position `after` and that still carry
 * someone else's reaction, newest reaction first (among the newest NOTICE_LOOKBACK reaction
 * entries). A reaction entry written before entries named their reactor counts as someone else's.
 */
export async function unreadReactionsIn(box: MessageBox, log: ChatLog, after: number, userId: string): Promise<MessageRecord[]> {
  const entries = log.entries.filter((e) => e.k === 'react' && e.g > after && e.u !== userId).slice(-NOTICE_LOOKBACK).reverse();
  const ids = [...new Set(entries.map((e) => e.m))];
  const records = await Promise.all(ids.map((id) => box.record(id)));
  return records.filter((r): r is MessageRecord => r !== undefined && r.deleted !== true && r.from === userId
    && Object.keys(r.reactions ?? {}).some((reactor) => reactor !== userId));
}

/** Where a chat's log ends (0: empty): the mark of "everything seen so far". */
export function lastPosition(log: ChatLog): number {
  return log.entries.at(-1)?.g ?? 0;
}
