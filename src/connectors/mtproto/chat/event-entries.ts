// One canonical event can be several entries of a chat's log. A message the mapper split into
// parts is one delivery per part (`<event id>`, `<event id>#1`, ...). One delivery can write more
// than one entry: a message with several files is an album, one MTProto message per file
// (core.telegram.org/api/files#albums-grouped-media), and a retraction deletes every message of
// its target. The first entry of a delivery has the delivery's key, the others `<key>#m<n>`
// (n = 1, 2, ...), in order: the writer and every instance's fan-in find them all the same way,
// and a re-delivered batch writes none of them twice.
import { createHash } from 'node:crypto';
import type { LogEntry } from './chat-log.ts';
import type { MessageBox } from './message-box.ts';

/** Files shown natively in one message (Telegram's album limit); more are links in its text. */
export const MAX_ALBUM_FILES = 10;

/** The key of a delivery's n-th further entry (n >= 1). */
export function moreKey(eventKey: string, n: number): string {
  return `${eventKey}#m${n}`;
}

/** The key of part `part` of a split message (part 0 is the event itself). */
export function partKey(eventId: string, part: number): string {
  return part === 0 ? eventId : `${eventId}#${part}`;
}

/**
 * The grouped_id of an album: derived from the event id (positive, 63 bits), so that the writer,
 * a re-delivery and every instance give the same one.
 */
export function albumGroupOf(eventId: string): string {
  const n = createHash('sha256').update(`album:${eventId}`, 'utf8').digest().readBigUInt64BE(0) >> 1n;
  return (n === 0n ? 1n : n).toString();
}

/** Every entry one delivery wrote in `chat`, the first first (none: it wrote none). */
export async function entriesOfDelivery(box: MessageBox, chat: string, eventKey: string, staged = false): Promise<LogEntry[]> {
  const first = await box.find(chat, eventKey, staged);
  if (first === undefined) return [];
  const out = [first.entry];
  for (let n = 1; ; n++) {
    const more = await box.find(chat, moreKey(eventKey, n), staged);
    if (more === undefined) return out;
    out.push(more.entry);
  }
}

/**
 * The ids of every message a canonical message became in `chat`: its parts and their albums'
 * files, in order; from part `fromPart` on (1: the parts after the first, of a split text).
 */
export async function messagesOfEvent(box: MessageBox, chat: string, eventId: string, staged = false, fromPart = 0): Promise<number[]> {
  const ids: number[] = [];
  for (let part = fromPart; ; part++) {
    const entries = await entriesOfDelivery(box, chat, partKey(eventId, part), staged);
    if (entries.length === 0) return ids;
    for (const e of entries) if (e.k === 'new') ids.push(e.m);
  }
}
