// Each account's pts (core.telegram.org/api/updates), derived from the chat logs instead of being
// stored per account and update. An account that sees chats C has
//
//     pts(g) = offset + Σ_{c ∈ C} (entries of c with a place <= g)
//
// after the entry with place g: every entry of its chats moves its pts by one, in the one order
// `g` gives them. The offset is stored per account and changes only when its set of chats does
// (config change), so that its pts goes on from where it was. getDifference(pts) is then the
// entries after the place where pts(g) reaches the client's pts: found by binary search over g,
// read from the chats' logs, never copied per account.
//
// Private chats (direct-chats.ts) count whole, outside the offset: an account's set of them only
// grows, and each joins it before its first entry, so every entry of one is an update for it.
import type { StateStore } from '../../../bus/types.ts';
import type { ChatLog, LogEntry } from './chat-log.ts';
import type { DirectChats } from './direct-chats.ts';
import type { Account, Directory } from './directory.ts';
import type { MessageBox } from './message-box.ts';

export interface DifferenceItem {
  readonly log: ChatLog;
  readonly entry: LogEntry;
  /** The account's pts after this entry. */
  readonly pts: number;
}

export type Difference =
  | { readonly type: 'empty'; readonly pts: number }
  /** The client's pts is older than what is retained (or ahead of the server's): it must refetch. */
  | { readonly type: 'tooLong'; readonly pts: number }
  | { readonly type: 'entries'; readonly items: readonly DifferenceItem[]; readonly pts: number; readonly final: boolean };

interface OffsetRecord {
  sig: string;
  offset: number;
}

export class PtsBook {
  readonly #offsets = new Map<bigint, Promise<number>>();

  constructor(private readonly state: StateStore, private readonly box: MessageBox, private readonly directory: Directory, private readonly directs: DirectChats) {}

  /** The logs whose entries move the account's pts: its groups' and its private chats'. */
  async logsOf(account: Account): Promise<ChatLog[]> {
    const chats = [...this.directory.groupsCountedFor(account).map((c) => c.address), ...await this.directs.keysOf(account)];
    return Promise.all(chats.map((c) => this.box.chat(c)));
  }

  offsetOf(account: Account): Promise<number> {
    let p = this.#offsets.get(account.id);
    if (p === undefined) {
      p = this.#loadOffset(account);
      p.catch(() => this.#offsets.delete(account.id));
      this.#offsets.set(account.id, p);
    }
    return p;
  }

  async #loadOffset(account: Account): Promise<number> {
    const chats = this.directory.groupsCountedFor(account).map((c) => c.address);
    const sig = chats.join(',');
    const key = `pts:${account.id}`;
    const raw = await this.state.get(key);
    const stored = raw === undefined ? undefined : JSON.parse(raw) as OffsetRecord;
    if (stored?.sig === sig) return stored.offset;
    let offset = 0;
    if (stored !== undefined) {
      // Its chats changed: go on from the pts it had, counted over its former chats.
      const before = await Promise.all(stored.sig.split(',').filter((c) => c !== '').map((c) => this.box.chat(c)));
      const after = await Promise.all(chats.map((c) => this.box.chat(c)));
      const was = stored.offset + before.reduce((n, l) => n + l.count, 0);
      offset = was - after.reduce((n, l) => n + l.count, 0);
    }
    await this.state.set(key, JSON.stringify({ sig, offset } satisfies OffsetRecord));
    return offset;
  }

  /**
   * The accounts' sets of groups changed (a bridges/ reload): each offset is read again, and where
   * the set differs from the stored one, moved so that the pts goes on from where it was. Call
   * `offsetOf` for an account before writing an entry its new set counts, or the entry is taken
   * into its offset instead of being an update.
   */
  forget(): void {
    this.#offsets.clear();
  }

  /** The account's pts now. */
  async current(account: Account): Promise<number> {
    const [offset, logs] = await Promise.all([this.offsetOf(account), this.logsOf(account)]);
    return offset + logs.reduce((n, l) => n + l.count, 0);
  }

  /** The account's pts right after the entry with place `g`. */
  async at(account: Account, g: number): Promise<number> {
    const [offset, logs] = await Promise.all([this.offsetOf(account), this.logsOf(account)]);
    return offset + logs.reduce((n, l) => n + l.countUpTo(g), 0);
  }

  /** What an account at `pts` missed, at most `limit` entries (the rest in the next call). */
  async difference(account: Account, pts: number, limit: number): Promise<Difference> {
    const [offset, logs] = await Promise.all([this.offsetOf(account), this.logsOf(account)]);
    // Synchronous from here: appends cannot change the logs under the computation.
    const f = (g: number) => offset + logs.reduce((n, l) => n + l.countUpTo(g), 0);
    const now = offset + logs.reduce((n, l) => n + l.count, 0);
    if (pts === now) return { type: 'empty', pts: now };
    if (pts > now) return { type: 'tooLong', pts: now };
    // Below the newest dropped place of any chat, counts are no longer exact.
    const low = logs.reduce((m, l) => Math.max(m, l.droppedG), 0);
    if (pts < f(low)) return { type: 'tooLong', pts: now };
    let lo = low;
    let hi = logs.reduce((m, l) => Math.max(m, l.lastG), low);
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (f(mid) <= pts) lo = mid;
      else hi = mid;
    }
    if (f(hi) <= pts) lo = hi;
    // Merge the chats' entries after place lo, in place order.
    const cursors = logs.map((l) => ({ log: l, i: l.indexAfter(lo) }));
    const items: DifferenceItem[] = [];
    let running = f(lo);
    for (;;) {
      let best: { log: ChatLog; i: number } | undefined;
      for (const c of cursors) {
        const e = c.log.entries[c.i];
        if (e !== undefined && (best === undefined || e.g < best.log.entries[best.i]!.g)) best = c;
      }
      if (best === undefined) break;
      if (items.length >= limit) return { type: 'entries', items, pts: running, final: false };
      running += 1;
      items.push({ log: best.log, entry: best.log.entries[best.i]!, pts: running });
      best.i += 1;
    }
    return { type: 'entries', items, pts: now, final: true };
  }
}
