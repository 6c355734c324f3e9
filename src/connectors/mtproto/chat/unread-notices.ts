// What a chat holds for an account that it has not seen besides new messages: mentions of it (a
// message whose formatting has a mention span naming it: the span's user is its canonical
// reference, `mtproto:<id>`), unread when newer than both its read mark of the chat and its mark
// of mentions read (messages.readMentions); and reactions of others to its messages, unread when
// their log entry is past its mark of reactions seen (messages.readReactions).
import type { ChatLog } from './chat-log.ts';
import type { DialogSettingsOf } from './dialog-settings.ts';
import type { MessageBox, MessageRecord } from './message-box.ts';

/** Unread messages (or reaction entries) looked through, the newest (a count past them is a floor). */
export const NOTICE_LOOKBACK = 100;

/** Whether a record mentions the user whose canonical reference is `ref` (and is not theirs). */
export function mentions(record: MessageRecord, ref: string | undefined, fromId: string): boolean {
  return ref !== undefined && record.from !== fromId && (record.spans ?? []).some((s) => s.type === 'mention' && s.user === ref);
}

/** The chat's messages after `after` that mention the user, newest first (among the newest NOTICE_LOOKBACK). */
async function unreadMentionsIn(box: MessageBox, log: ChatLog, after: number, ref: string | undefined, fromId: string): Promise<MessageRecord[]> {
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
async function unreadReactionsIn(box: MessageBox, log: ChatLog, after: number, userId: string): Promise<MessageRecord[]> {
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

/** Who looks, and where their marks of a chat stand (the read mark, and the dialog settings' marks). */
export interface Looker {
  readonly userId: string;
  /** Its canonical reference, what a mention of it names. */
  readonly ref: string | undefined;
  readonly inbox: number;
  readonly settings: DialogSettingsOf;
}

/** The unread mentions of the looker in a chat: after its read mark, its mentions mark and what it cleared. */
export function unreadMentionsOf(box: MessageBox, log: ChatLog, address: string, who: Looker): Promise<MessageRecord[]> {
  const s = who.settings;
  return unreadMentionsIn(box, log, Math.max(who.inbox, s.mentionsRead[address] ?? 0, s.clearedUpTo[address] ?? 0), who.ref, who.userId);
}

/** The looker's messages with unseen reactions of others in a chat (not among what it cleared). */
export async function unreadReactionsOf(box: MessageBox, log: ChatLog, address: string, who: Looker): Promise<MessageRecord[]> {
  const cleared = who.settings.clearedUpTo[address] ?? 0;
  return (await unreadReactionsIn(box, log, who.settings.reactionsRead[address] ?? 0, who.userId)).filter((r) => r.id > cleared);
}
