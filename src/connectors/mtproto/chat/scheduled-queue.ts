// Scheduled messages (core.telegram.org/api/scheduled-messages): what an account asked to be
// sent later, each in the chat it is for. The queue of each account is one record in the shared
// state (`sched:<account id>`), changed by compare-and-set (json-record.ts) since the account's
// sessions on several instances change it at once. The scheduler (scheduler.ts) reads every
// account's queue (accounts are the config's: a bounded list), and again each one changed.
//
// Ids are the account's own sequence (a scheduled message is not a message yet: clients keep it
// apart, by peer and id), never reused: a queue's record stays when it empties, so `next` goes on.
import { z } from 'zod';
import type { StateStore } from '../../../bus/types.ts';
import type { Span } from '../../../core/event.ts';
import { SpanSchema } from '../../../core/event.ts';
import { changeJson, parseJsonAs } from './json-record.ts';
import type { MediaInfo } from './message-box.ts';

/** Queued messages one chat may hold for one account (Telegram's own limit): one more is SCHEDULE_TOO_MUCH. */
export const MAX_SCHEDULED_PER_CHAT = 100;
/** Queued messages of one account in all its chats: bounds the record rewritten on each change. */
export const MAX_SCHEDULED_PER_ACCOUNT = 300;
/** How far ahead a message may be scheduled (Telegram: 365 days and a day of slack): later is SCHEDULE_DATE_TOO_LATE. */
export const SCHEDULE_AHEAD_SECONDS = 366 * 86_400;
/**
 * Bytes one account's queue may take as stored (its record is rewritten on each change): a
 * message that would pass it is SCHEDULE_TOO_MUCH, however few are queued. 300 messages of 4096
 * characters with all their formatting would otherwise make a record of many megabytes.
 */
export const MAX_QUEUE_BYTES = 1024 * 1024;
/** Files of one queued album at most (Telegram's album limit). */
export const MAX_SCHEDULED_FILES = 10;
/** A schedule_date closer than this is sent at once, as Telegram does. */
export const SEND_AT_ONCE_SECONDS = 10;

const MediaSchema = z.object({
  kind: z.enum(['photo', 'document']), file: z.string().regex(/^\d{1,20}$/), name: z.string(), mime: z.string(), size: z.number().int().nonnegative(), sha256: z.string(),
}).passthrough();

const ItemSchema = z.object({
  id: z.number().int().positive(),
  /** The chat's address (a group's chat id, a private chat's room key). */
  chat: z.string().min(1).max(512),
  /** When it is to be sent (unix seconds). */
  at: z.number().int().positive(),
  /** When it was queued (unix seconds): with the id, what makes its send one transaction (txnOf). */
  made: z.number().int().positive(),
  text: z.string(),
  spans: z.array(SpanSchema).optional(),
  /** The message it answers (a message id of the chat). */
  reply: z.number().int().positive().optional(),
  /** Its files: one, or an album of several (each a message of its own in the queue, as on Telegram). */
  files: z.array(MediaSchema).min(1).max(MAX_SCHEDULED_FILES).optional(),
  edited: z.number().int().positive().optional(),
  /** The send's random_id (decimal): the same send again is the same item, not a second one. */
  random: z.string().regex(/^-?\d{1,20}$/).optional(),
});
export type ScheduledItem = Omit<z.infer<typeof ItemSchema>, 'spans' | 'files'> & { readonly spans?: readonly Span[]; readonly files?: readonly MediaInfo[] };

/**
 * The queue's ids of an item: one per message it shows as, from its own id on (an album of n
 * files is n messages, its caption on the first), as clients count them.
 */
export function idsOfItem(item: ScheduledItem): number[] {
  return Array.from({ length: Math.max(item.files?.length ?? 0, 1) }, (_, k) => item.id + k);
}

const QueueSchema = z.object({ next: z.number().int().positive(), items: z.array(ItemSchema).max(MAX_SCHEDULED_PER_ACCOUNT) });
interface Queue { next: number; items: ScheduledItem[] }

const queueKey = (account: bigint) => `sched:${account}`;
const EMPTY: Queue = { next: 1, items: [] };

function parseQueue(raw: string | undefined): Queue {
  const queue = parseJsonAs(QueueSchema, raw);
  return queue === undefined ? { ...EMPTY, next: EMPTY.next } : { next: queue.next, items: queue.items as ScheduledItem[] };
}

/**
 * The origin session of a queued message when the scheduler sends it: no client session has it
 * (every session of the account gets the message), and the writer marks what it writes from it
 * `from_scheduled`, as Telegram does.
 */
export const SCHEDULER_SESSION = 'scheduler';

function tooBig(queue: Queue): boolean {
  return Buffer.byteLength(JSON.stringify(queue)) > MAX_QUEUE_BYTES;
}

/** The bus transaction of an item's send: a second send of it (two instances, a retry after a crash) publishes nothing new. */
export function txnOf(item: ScheduledItem): string {
  return `sched:${item.id}:${item.made}`;
}

export class ScheduledQueue {
  readonly #listeners = new Set<(account: bigint) => void>();

  constructor(private readonly state: StateStore) {}

  /** The account's queued messages (of one chat, or all), in the order they are due. */
  async list(account: bigint, chat?: string): Promise<ScheduledItem[]> {
    const { items } = parseQueue(await this.state.get(queueKey(account)));
    return items.filter((i) => chat === undefined || i.chat === chat).sort((a, b) => a.at - b.at || a.id - b.id);
  }

  /**
   * Queues a message: the item with its id (the one queued before, for a send with the same
   * random_id), or the refusal (SCHEDULE_TOO_MUCH: past the count limits or MAX_QUEUE_BYTES;
   * INTERNAL when other writers kept winning).
   */
  async add(account: bigint, item: Omit<ScheduledItem, 'id'>): Promise<ScheduledItem | 'SCHEDULE_TOO_MUCH' | 'INTERNAL'> {
    const added = await this.addAll(account, [item]);
    return typeof added === 'string' ? added : added[0]!;
  }

  /** Queues several messages of one call (a forward of several) all or none, in order: as `add`. */
  async addAll(account: bigint, items: ReadonlyArray<Omit<ScheduledItem, 'id'>>): Promise<ScheduledItem[] | 'SCHEDULE_TOO_MUCH' | 'INTERNAL'> {
    let added: ScheduledItem[] | 'SCHEDULE_TOO_MUCH' = [];
    const ok = await this.#change(account, (queue) => {
      const out: ScheduledItem[] = [];
      let next: Queue = queue;
      for (const item of items) {
        // The same send again (its random_id): the item it queued the first time.
        const again = item.random === undefined ? undefined : next.items.find((i) => i.random === item.random && i.chat === item.chat);
        if (again !== undefined) {
          out.push(again);
          continue;
        }
        if (next.items.length >= MAX_SCHEDULED_PER_ACCOUNT || next.items.filter((i) => i.chat === item.chat).length >= MAX_SCHEDULED_PER_CHAT) {
          added = 'SCHEDULE_TOO_MUCH';
          return undefined;
        }
        const queued: ScheduledItem = { ...item, id: next.next };
        next = { next: next.next + idsOfItem(queued).length, items: [...next.items, queued] };
        out.push(queued);
      }
      if (tooBig(next)) {
        added = 'SCHEDULE_TOO_MUCH';
        return undefined;
      }
      added = out;
      return next === queue ? undefined : next;
    });
    return ok ? added : 'INTERNAL';
  }

  /**
   * Changes the queued item of `chat` that shows as message `id` (its text, its date): the item
   * as it now is, undefined when there is none such, or SCHEDULE_TOO_MUCH when the queue would
   * pass MAX_QUEUE_BYTES.
   */
  async edit(account: bigint, chat: string, id: number, change: (item: ScheduledItem) => ScheduledItem): Promise<ScheduledItem | 'SCHEDULE_TOO_MUCH' | undefined> {
    let edited: ScheduledItem | 'SCHEDULE_TOO_MUCH' | undefined;
    const ok = await this.#change(account, (queue) => {
      edited = undefined;
      const at = queue.items.findIndex((i) => i.chat === chat && idsOfItem(i).includes(id));
      if (at < 0) return undefined;
      const current = queue.items[at]!;
      const changed: ScheduledItem = { ...change(current), id: current.id, chat };
      const next = { next: queue.next, items: queue.items.map((i, n) => (n === at ? changed : i)) };
      if (tooBig(next)) {
        edited = 'SCHEDULE_TOO_MUCH';
        return undefined;
      }
      edited = changed;
      return next;
    });
    return ok ? edited : undefined;
  }

  /** Takes queued items out (those showing as one of `ids`, in `chat`, or in any chat without it; an album goes whole): the ones taken. */
  async take(account: bigint, ids: readonly number[], chat?: string): Promise<ScheduledItem[]> {
    let taken: ScheduledItem[] = [];
    const wanted = new Set(ids);
    const ok = await this.#change(account, (queue) => {
      taken = queue.items.filter((i) => idsOfItem(i).some((id) => wanted.has(id)) && (chat === undefined || i.chat === chat));
      if (taken.length === 0) return undefined;
      return { next: queue.next, items: queue.items.filter((i) => !taken.includes(i)) };
    });
    return ok ? taken : [];
  }

  /** Told of every change to a queue made here or (through `changed`) on another instance. */
  onChange(listener: (account: bigint) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** An account's queue changed (here, or on another instance: its note): the scheduler looks again. */
  changed(account: bigint): void {
    for (const listener of this.#listeners) listener(account);
  }

  async #change(account: bigint, change: (queue: Queue) => Queue | undefined): Promise<boolean> {
    let changed = false;
    const ok = await changeJson(this.state, queueKey(account), parseQueue, (queue) => {
      const next = change(queue);
      changed = next !== undefined;
      return next;
    });
    if (ok && changed) this.changed(account);
    return ok;
  }
}
