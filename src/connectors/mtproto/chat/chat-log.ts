// The update log of one MTProto chat: every change that moves a reader's pts (a new message, an
// edit, a reaction, a deletion, a read mark), in the order the bus delivered them, each with its
// place `g` in the connector-wide sequence. Stored in blocks of BLOCK entries in the connector's
// state (Redis, or the local state file), so it survives restarts; the newest `retain` entries
// (rounded up to whole blocks) are kept. Accounts' pts are derived from these logs (pts.ts):
// nothing is stored per account and message.
import type { StateStore } from '../../../bus/types.ts';

export type EntryKind = 'new' | 'edit' | 'react' | 'del' | 'read';

export interface LogEntry {
  /** Place in the connector-wide sequence (also the message id of a `new` entry). */
  readonly g: number;
  readonly k: EntryKind;
  /** The message: new: its own id; edit, react, del: the target; read: the highest id read. */
  readonly m: number;
  /** read: the reader's user id (decimal); react: who reacted (entries written since it is kept). */
  readonly u?: string;
  /** new: the sender's user id (decimal), for unread counts without reading the message. */
  readonly f?: string;
  /** The canonical event id that made it, with `#<part>` for the later parts of a split message. */
  readonly e: string;
  /** Unix seconds. */
  readonly t: number;
}

/**
 * Entries per stored block. A batch rewrites the blocks it touches whole, so small blocks keep
 * each write small (about 90 bytes an entry); loading a chat reads retain / BLOCK keys.
 */
export const BLOCK = 32;

interface Head {
  /** Oldest block kept. */
  first: number;
  /** Newest block written (a later one may exist: probed on load). */
  last: number;
  /** g of the newest entry dropped by retention (0: none). */
  droppedG: number;
}

function isEntry(v: unknown): v is LogEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e['g'] === 'number' && typeof e['k'] === 'string' && typeof e['m'] === 'number' && typeof e['e'] === 'string' && typeof e['t'] === 'number';
}

/**
 * The log of one chat, loaded from the state store. Appends go through MessageBox (one writer) a
 * batch at a time: entries are staged, the blocks they touch are written once per batch, and only
 * then do readers see them.
 */
export class ChatLog {
  /** Retained entries, oldest first; entries[i] has the absolute index firstN + i. */
  entries: LogEntry[] = [];
  firstN = 0;
  droppedG = 0;
  /** Entry event ids -> absolute index, for de-duplicating a re-delivered batch. */
  readonly #byEvent = new Map<string, number>();
  /** Appended in the batch in hand, not written yet (see stage / write / commit). */
  #staged: LogEntry[] = [];
  #head: Head = { first: 0, last: -1, droppedG: 0 };

  private constructor(readonly chat: string, private readonly state: StateStore, private readonly retain: number) {}

  static async load(chat: string, state: StateStore, retain: number): Promise<ChatLog> {
    const log = new ChatLog(chat, state, retain);
    const raw = await state.get(`head:${chat}`);
    if (raw !== undefined) {
      const head = JSON.parse(raw) as Head;
      log.#head = head;
      log.firstN = head.first * BLOCK;
      log.droppedG = head.droppedG;
      // The head is written after a new block, so one more block than it names may exist.
      for (let b = head.first; ; b++) {
        const text = await state.get(`log:${chat}:${b}`);
        if (text === undefined) break;
        const block = (JSON.parse(text) as unknown[]).filter(isEntry);
        log.entries.push(...block);
        log.#head.last = Math.max(log.#head.last, b);
        if (block.length < BLOCK) break;
      }
      log.entries.forEach((e, i) => log.#byEvent.set(e.e, log.firstN + i));
    }
    return log;
  }

  /** Entries ever appended (pts counts them). */
  get count(): number {
    return this.firstN + this.entries.length;
  }

  get lastG(): number {
    return this.entries.at(-1)?.g ?? this.droppedG;
  }

  /** Index into `entries` of the first entry with a g above `g`. */
  indexAfter(g: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.g <= g) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Ids of the retained messages not deleted, oldest first. */
  messageIds(): number[] {
    const deleted = new Set<number>();
    for (const e of this.entries) if (e.k === 'del') deleted.add(e.m);
    const ids: number[] = [];
    for (const e of this.entries) if (e.k === 'new' && !deleted.has(e.m)) ids.push(e.m);
    return ids;
  }

  /** The newest message still there (0: none): what a chat's archive mark and its "read up to the end" are. */
  newestMessageId(): number {
    return this.messageIds().at(-1) ?? 0;
  }

  /** The newest `new` entries' senders after message `after` not from `me` (unread count). */
  unreadAfter(after: number, me: string): number {
    const deleted = new Set<number>();
    for (const e of this.entries) if (e.k === 'del') deleted.add(e.m);
    let n = 0;
    for (const e of this.entries) if (e.k === 'new' && e.m > after && e.f !== me && e.f !== '0' && !deleted.has(e.m)) n++;
    return n;
  }

  /** The highest message id someone other than `me` marked read. */
  readByOthers(me: string): number {
    let max = 0;
    for (const e of this.entries) if (e.k === 'read' && e.u !== me && e.m > max) max = e.m;
    return max;
  }

  /** How many entries have a g at or below `g`: exact for g >= droppedG. */
  countUpTo(g: number): number {
    return this.firstN + this.indexAfter(g);
  }

  /** The entry an event made, if retained (`staged` too: what this batch appended but did not write yet). */
  byEvent(eventKey: string, staged = false): LogEntry | undefined {
    const n = this.#byEvent.get(eventKey);
    if (n !== undefined) return this.entries[n - this.firstN];
    return staged ? this.#staged.find((e) => e.e === eventKey) : undefined;
  }

  /** Entries appended, written or not: the next entry's index. */
  get stagedCount(): number {
    return this.count + this.#staged.length;
  }

  /**
   * Takes an entry into this batch: it is written by `write()` and only then visible to readers
   * (`commit()`), so a failed write leaves the log as readers knew it.
   */
  stage(entry: LogEntry): void {
    this.#staged.push(entry);
  }

  get hasStaged(): boolean {
    return this.#staged.length > 0;
  }

  /** Writes the blocks the staged entries touch (each once, whole) and the head when a block is new. */
  async write(): Promise<void> {
    if (this.#staged.length === 0) return;
    const all = [...this.entries, ...this.#staged];
    const firstBlock = Math.floor(this.count / BLOCK);
    const lastBlock = Math.floor((this.stagedCount - 1) / BLOCK);
    const writes: Promise<void>[] = [];
    for (let b = firstBlock; b <= lastBlock; b++) {
      const from = b * BLOCK - this.firstN;
      writes.push(this.state.set(`log:${this.chat}:${b}`, JSON.stringify(all.slice(from, from + BLOCK))));
    }
    // After its blocks (issued after them, so applied after them: StateStore keeps call order):
    // a head never names a block that is not written (load() probes one further).
    const head = lastBlock > this.#head.last ? { ...this.#head, last: lastBlock } : undefined;
    if (head !== undefined) writes.push(this.state.set(`head:${this.chat}`, JSON.stringify(head)));
    await Promise.all(writes);
    if (head !== undefined) this.#head = head;
  }

  /** The written entries become visible. */
  commit(): void {
    for (const e of this.#staged) {
      this.#byEvent.set(e.e, this.count);
      this.entries.push(e);
    }
    this.#staged = [];
  }

  /** A failed write: the staged entries are forgotten (the bus delivers them again). */
  discard(): void {
    this.#staged = [];
  }

  /**
   * Reads what another instance (the writer) appended since this one loaded or last refreshed:
   * the blocks from the last one it has on. Returns the new entries, or undefined when the writer
   * dropped blocks this log still holds (then load it anew). Not while this log has staged entries.
   */
  async refresh(): Promise<LogEntry[] | undefined> {
    if (this.#staged.length > 0) return [];
    const raw = await this.state.get(`head:${this.chat}`);
    if (raw === undefined) return [];
    const head = JSON.parse(raw) as Head;
    if (head.first !== this.#head.first) return undefined;
    const fresh: LogEntry[] = [];
    for (let b = Math.floor(this.count / BLOCK); ; b++) {
      const text = await this.state.get(`log:${this.chat}:${b}`);
      if (text === undefined) break;
      const block = (JSON.parse(text) as unknown[]).filter(isEntry);
      for (const [i, e] of block.entries()) {
        const n = b * BLOCK + i;
        if (n < this.count) continue;
        this.#byEvent.set(e.e, n);
        this.entries.push(e);
        fresh.push(e);
      }
      this.#head.last = Math.max(this.#head.last, b);
      if (block.length < BLOCK) break;
    }
    return fresh;
  }

  /** Drops whole old blocks while more than `retain` entries would still be kept; returns them. */
  async trim(): Promise<LogEntry[]> {
    const dropped: LogEntry[] = [];
    while (this.entries.length - BLOCK >= this.retain) {
      const gone = this.entries.slice(0, BLOCK);
      const lastG = gone.at(-1)!.g;
      const head: Head = { first: this.#head.first + 1, last: this.#head.last, droppedG: lastG };
      // The head first (readers then never look for the block), the block right behind it.
      await Promise.all([this.state.set(`head:${this.chat}`, JSON.stringify(head)), this.state.delete(`log:${this.chat}:${this.#head.first}`)]);
      this.#head = head;
      this.entries = this.entries.slice(BLOCK);
      this.firstN += BLOCK;
      this.droppedG = lastG;
      for (const e of gone) this.#byEvent.delete(e.e);
      dropped.push(...gone);
    }
    return dropped;
  }
}
