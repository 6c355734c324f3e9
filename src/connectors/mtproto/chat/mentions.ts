// Mentions of an account: a message whose formatting has a mention span naming it (the span's
// user is the account's canonical reference, `mtproto:<id>`). Unread: newer than both its read
// mark of the chat and the mark up to which it read its mentions (messages.readMentions).
import type { ChatLog } from './chat-log.ts';
import type { MessageBox, MessageRecord } from './message-box.ts';

/** Unread messages a chat's mentions are looked for among, the newest (a count past them is a floor). */
export const MENTION_LOOKBACK = 100;

/** Whether a record mentions the user whose canonical reference is `ref` (and is not theirs). */
export function mentions(record: MessageRecord, ref: string | undefined, fromId: string): boolean {
  return ref !== undefined && record.from !== fromId && (record.spans ?? []).some((s) => s.type === 'mention' && s.user === ref);
}

/** The chat's messages after `after` that mention the user, newest first (among the newest MENTION_LOOKBACK). */
export async function unreadMentionsIn(box: MessageBox, log: ChatLog, after: number, ref: string | undefined, fromId: string): Promise<MessageRecord[]> {
  if (ref === undefined) return [];
  const ids = log.messageIds().filter((id) => id > after).slice(-MENTION_LOOKBACK);
  const records = await Promise.all(ids.map((id) => box.record(id)));
  return records.filter((r): r is MessageRecord => r !== undefined && r.deleted !== true && r.service === undefined && mentions(r, ref, fromId)).reverse();
}
