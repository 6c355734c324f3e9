// The connector's message box: the update log of every chat (chat-log.ts), the current state of
// each retained message, and the connector-wide sequence `g` that orders entries across chats
// (and numbers messages). One writer appends (the egress consumer, which one instance holds at a
// time), a delivery batch at a time: appends are staged, `flush()` writes the batch with one
// write per touched block and message (pipelined), and only then do readers see it. API handlers
// read, and wait for the entry their own publish produced.
import type { Keyboard } from './keyboards.ts';
import type { StateStore } from '../../../bus/types.ts';
import type { Span } from '../../../core/event.ts';
import type { Logger } from '../../../core/logger.ts';
import { ChatLog, type LogEntry } from './chat-log.ts';

/** A stored file a message shows (files.ts keeps the bytes). */
export interface MediaInfo {
  readonly kind: 'photo' | 'document';
  /** File id (decimal): the document or photo id clients see. */
  readonly file: string;
  readonly name: string;
  readonly mime: string;
  readonly size: number;
  readonly sha256: string;
  /** A photo's size, or a video's picture as shown. */
  readonly w?: number;
  readonly h?: number;
  /** How long a video or audio file plays, in seconds, when known (media-attributes.ts). */
  readonly duration?: number;
  /** An audio file is a voice message (true) or music (false), as its sender declared. */
  readonly voice?: boolean;
  /** A video whose index comes first: clients play it while downloading. */
  readonly streamable?: boolean;
  /** As its sender declared (media-attributes.ts): a round video message; a song's title and performer; a voice message's waveform (base64). */
  readonly round?: true;
  readonly title?: string;
  readonly performer?: string;
  readonly waveform?: string;
}

/** A message as it is now (edits, reactions and deletion applied). */
export interface MessageRecord {
  readonly id: number;
  /** Chat id (decimal). */
  readonly chat: string;
  /** Canonical event id. */
  readonly ev: string;
  /** Sender's user id (decimal). */
  readonly from: string;
  readonly date: number;
  readonly text: string;
  readonly spans?: readonly Span[];
  readonly reply?: number;
  readonly media?: MediaInfo;
  /** The album (grouped_id, decimal) of a message that is one file of several (event-entries.ts). */
  readonly group?: string;
  readonly edited?: number;
  /** Each reactor's full set (user id decimal -> emoji), in the order they reacted. */
  readonly reactions?: Readonly<Record<string, readonly string[]>>;
  readonly deleted?: boolean;
  /**
   * A service message: `create` opens every chat's history (clients expect a dialog to have a
   * message); `join`, `leave` and `title` are a bridges/ reload's (chat-links.ts): accounts added
   * to the group, an account removed from it, its new title.
   */
  readonly service?: 'create' | 'join' | 'leave' | 'title';
  /** join: the accounts added; leave: the accounts removed (user ids, decimal). */
  readonly users?: readonly string[];
  /** title: the group's new title. */
  readonly title?: string;
  /** A bot's inline keyboard, shown to MTProto clients instead of the button lines (keyboards.ts). */
  readonly keyboard?: Keyboard;
  /** Sent by the scheduler from its sender's queue of scheduled messages (`from_scheduled`). */
  readonly scheduled?: true;
}

/**
 * Sequence numbers are taken in blocks of RESERVE: block n (ids n*RESERVE .. n*RESERVE+RESERVE-1)
 * belongs to whoever set `seqblock:<n>` first (setIfAbsent: atomic on every driver), so two
 * instances (or a restart) never hand out one id twice; `seq` holds the highest id reserved, where
 * the next claim starts. A restart skips what is left of its block.
 */
const RESERVE = 1_000;
/** Claims expire: only blocks above `seq` are ever claimed again. */
const BLOCK_CLAIM_TTL_MS = 7 * 86_400_000;
/** Largest message id (int32). */
const MAX_ID = 2 ** 31 - 1;
const RECORD_CACHE = 4_096;
/** Deliveries closer together than this do not re-check who appended last (see catchUp). */
const CATCH_UP_EVERY_MS = 1_000;

export interface AppendResult {
  readonly log: ChatLog;
  readonly entry: LogEntry;
  readonly record: MessageRecord | undefined;
  /** False when the event was already in the log (a re-delivered batch): nothing was written. */
  readonly fresh: boolean;
}

interface Waiter {
  resolve(found: { log: ChatLog; entry: LogEntry }): void;
}

export class MessageBox {
  readonly #chats = new Map<string, Promise<ChatLog>>();
  readonly #records = new Map<number, MessageRecord>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** The batch in hand (see append / flush). */
  #stagedLogs = new Set<ChatLog>();
  #stagedRecords = new Map<number, MessageRecord>();
  #stagedEntries: { log: ChatLog; entry: LogEntry }[] = [];
  #next = 1;
  /** The highest id reserved as this process last saw it (`seq`). */
  #reserved = 0;
  /** The last id of the block this process holds (0: none). */
  #blockEnd = 0;
  /** When the last delivery batch began (catchUp). */
  #checkedAt = 0;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly state: StateStore, private readonly retain: number, private readonly logger: Logger) {}

  async start(): Promise<void> {
    // Nothing reserved yet: the first allocation claims a block above what anyone used.
    this.#reserved = await this.#storedReserve();
    this.#next = this.#reserved + 1;
    this.#blockEnd = 0;
  }

  async #storedReserve(): Promise<number> {
    const reserved = Number(await this.state.get('seq') ?? '0');
    return Number.isSafeInteger(reserved) && reserved > 0 ? reserved : 0;
  }

  /**
   * Called before each delivery batch: when another instance appended since this one last did (it
   * held the egress consumer meanwhile, and reserved sequence numbers past ours), everything in
   * memory is stale: forget it and go on after what it used. One read per second of deliveries at
   * most: another instance can only have written after this one went a lease's time (about 10 s)
   * without deliveries, and the first batch after such a pause always checks. True when it reloaded.
   */
  async catchUp(now = Date.now()): Promise<boolean> {
    await this.#tail;
    const last = this.#checkedAt;
    this.#checkedAt = now;
    if (now - last < CATCH_UP_EVERY_MS) return false;
    const stored = await this.#storedReserve();
    if (stored <= this.#reserved) return false;
    this.logger.info({ reserved: this.#reserved, stored }, 'mtproto: another instance appended meanwhile: reloading the message box');
    this.#chats.clear();
    this.#records.clear();
    this.#reserved = stored;
    this.#next = stored + 1;
    this.#blockEnd = 0;
    return true;
  }

  /**
   * Another instance appended outside the egress (a bridges/ reload's service messages,
   * chat-links.ts): the next delivery batch checks who appended last however soon it comes, so a
   * writer never appends after entries it has not seen.
   */
  othersAppended(): void {
    this.#checkedAt = 0;
  }

  /**
   * Another instance wrote to a chat (its fan-out says so): what it appended becomes visible here,
   * messages it changed are read again, and calls waiting for one of its entries are answered.
   * Returns the new entries (none when this instance never loaded the chat: it reads it whole later).
   */
  async refresh(chat: string): Promise<{ log: ChatLog; fresh: LogEntry[] } | undefined> {
    const loaded = this.#chats.get(chat);
    if (loaded === undefined) return undefined;
    let log = await loaded;
    let fresh = await log.refresh();
    if (fresh === undefined) {
      // The writer dropped old blocks: read the chat anew; everything past what was known is new.
      const known = log.count;
      this.#chats.delete(chat);
      log = await this.chat(chat);
      fresh = log.entries.filter((_, i) => log.firstN + i >= known);
    }
    for (const e of fresh) {
      this.#records.delete(e.m);
      this.#wake(e.e, log, e);
    }
    return { log, fresh };
  }

  /** Everything may be stale (a fan-out message was lost): read it all again as it is needed. */
  forgetAll(): void {
    if (this.#stagedLogs.size > 0) return;
    this.#chats.clear();
    this.#records.clear();
  }

  /** A chat's log (loaded on first use). */
  chat(chat: string): Promise<ChatLog> {
    let p = this.#chats.get(chat);
    if (p === undefined) {
      p = ChatLog.load(chat, this.state, this.retain);
      p.catch(() => this.#chats.delete(chat));
      this.#chats.set(chat, p);
    }
    return p;
  }

  /**
   * The files of the messages `chat`'s log retains as stored now (for the media store's garbage
   * collector: any instance's view, however old its caches), read without filling the caches: a
   * sweep over every chat must not keep them all in memory. What the writer has not stored yet is
   * young, and the collector keeps young files anyway.
   */
  async *mediaOf(chat: string): AsyncGenerator<MediaInfo> {
    const log = await ChatLog.load(chat, this.state, this.retain);
    const seen = new Set<number>();
    for (const entry of log.entries) {
      if (seen.has(entry.m)) continue;
      seen.add(entry.m);
      const raw = await this.state.get(`msg:${entry.m}`);
      const media = raw === undefined ? undefined : (JSON.parse(raw) as MessageRecord).media;
      if (media !== undefined) yield media;
    }
  }

  async record(id: number): Promise<MessageRecord | undefined> {
    const cached = this.#stagedRecords.get(id) ?? this.#records.get(id);
    if (cached !== undefined) return cached;
    const raw = await this.state.get(`msg:${id}`);
    if (raw === undefined) return undefined;
    const record = JSON.parse(raw) as MessageRecord;
    this.#cache(record);
    return record;
  }

  #cache(record: MessageRecord): void {
    this.#records.delete(record.id);
    this.#records.set(record.id, record);
    if (this.#records.size > RECORD_CACHE) {
      const oldest = this.#records.keys().next();
      if (oldest.done !== true) this.#records.delete(oldest.value);
    }
  }

  async #allocate(): Promise<number> {
    if (this.#next > this.#blockEnd) await this.#claimBlock();
    return this.#next++;
  }

  /** Claims the first free block above every id reserved so far. */
  async #claimBlock(): Promise<void> {
    let n = Math.floor(Math.max(this.#reserved, await this.#storedReserve()) / RESERVE) + 1;
    for (;; n++) {
      if ((n + 1) * RESERVE - 1 > MAX_ID) throw new Error('mtproto message ids exhausted');
      if (await this.state.setIfAbsent(`seqblock:${n}`, '1', BLOCK_CLAIM_TTL_MS)) break;
    }
    const end = (n + 1) * RESERVE - 1;
    await this.state.set('seq', String(end));
    this.#reserved = end;
    this.#next = n * RESERVE;
    this.#blockEnd = end;
  }

  /**
   * Appends one entry to the batch in hand (serialized with every other append). `change` gets
   * the new entry's g and returns the message record to store with it (a new message, or the
   * target's new state, read inside the serialized section: `record()` sees this batch's records),
   * or undefined. Idempotent per `eventKey`: an event already in the chat's log (written or in
   * this batch) is not appended again. Nothing is written or visible to readers until `flush()`.
   */
  append(chat: string, make: { kind: LogEntry['k']; eventKey: string; time: number; reader?: string; from?: string; target?: number },
    change: (g: number) => Promise<MessageRecord | undefined> | MessageRecord | undefined): Promise<AppendResult> {
    const run = this.#tail.then(async (): Promise<AppendResult> => {
      const log = await this.chat(chat);
      const existing = log.byEvent(make.eventKey, true);
      if (existing !== undefined) return { log, entry: existing, record: await this.record(existing.m), fresh: false };
      const g = await this.#allocate();
      const record = await change(g);
      const entry: LogEntry = {
        g, k: make.kind, m: make.kind === 'new' ? g : make.target ?? 0, e: make.eventKey, t: make.time,
        ...(make.reader !== undefined ? { u: make.reader } : {}), ...(make.from !== undefined ? { f: make.from } : {}),
      };
      log.stage(entry);
      this.#stagedLogs.add(log);
      if (record !== undefined) this.#stagedRecords.set(record.id, record);
      this.#stagedEntries.push({ log, entry });
      return { log, entry, record, fresh: true };
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes the batch in hand: its messages first (an entry never points at a message that is not
   * stored), then each touched block of each log once, all issued back to back in that order (one
   * round trip: the state keeps the order of calls); only then does it become visible (readers,
   * waiters). On a failed write nothing of the batch stays (the bus delivers the batch again) and
   * the error is thrown. Then old blocks past retention are dropped (best effort: retried next time).
   */
  async flush(): Promise<void> {
    await this.#tail;
    const logs = [...this.#stagedLogs];
    const records = [...this.#stagedRecords.values()];
    const entries = this.#stagedEntries;
    this.#stagedLogs = new Set();
    this.#stagedRecords = new Map();
    this.#stagedEntries = [];
    if (logs.length === 0) return;
    try {
      // Records before the log entries that point at them, issued back to back: the state applies
      // calls in the order they are made (StateStore), so this is one round trip, not two.
      await Promise.all([
        ...records.map((r) => this.state.set(`msg:${r.id}`, JSON.stringify(r))),
        ...logs.map((l) => l.write()),
      ]);
    } catch (err) {
      for (const l of logs) l.discard();
      // What was handed out of the lost batch is never reused: the next append claims a new block.
      this.#blockEnd = 0;
      throw err;
    }
    for (const l of logs) l.commit();
    for (const r of records) this.#cache(r);
    for (const { log, entry } of entries) this.#wake(entry.e, log, entry);
    for (const l of logs) {
      try {
        await this.#forget(await l.trim());
      } catch (err) {
        this.logger.warn({ err, chat: l.chat }, 'mtproto: dropping old log blocks failed (retried after the next batch)');
      }
    }
  }

  /** Messages whose `new` entry left the retained window are deleted with it. */
  async #forget(dropped: readonly LogEntry[]): Promise<void> {
    const gone = dropped.filter((e) => e.k === 'new');
    for (const e of gone) this.#records.delete(e.m);
    // A block's messages at once (a trim drops a whole block), not a round trip each.
    await Promise.all(gone.map((e) => this.state.delete(`msg:${e.m}`)));
  }

  /** The entry `eventKey` made in `chat`, if the log has it (with `staged`: also if the batch in hand has it). */
  async find(chat: string, eventKey: string, staged = false): Promise<{ log: ChatLog; entry: LogEntry } | undefined> {
    const log = await this.chat(chat);
    const entry = log.byEvent(eventKey, staged);
    return entry === undefined ? undefined : { log, entry };
  }

  /**
   * Waits until `eventKey` has an entry in `chat` (the bus delivered what a client published), at
   * most `timeoutMs`; undefined on timeout.
   */
  async waitFor(chat: string, eventKey: string, timeoutMs: number): Promise<{ log: ChatLog; entry: LogEntry } | undefined> {
    const found = await this.find(chat, eventKey);
    if (found !== undefined) return found;
    return new Promise((resolve) => {
      let set = this.#waiters.get(eventKey);
      if (set === undefined) this.#waiters.set(eventKey, set = new Set());
      const waiter: Waiter = {
        resolve: (value) => { clearTimeout(timer); resolve(value); },
      };
      const timer = setTimeout(() => {
        set.delete(waiter);
        if (set.size === 0) this.#waiters.delete(eventKey);
        resolve(undefined);
      }, timeoutMs);
      set.add(waiter);
    });
  }

  #wake(eventKey: string, log: ChatLog, entry: LogEntry): void {
    const set = this.#waiters.get(eventKey);
    if (set === undefined) return;
    this.#waiters.delete(eventKey);
    for (const w of set) w.resolve({ log, entry });
  }
}
