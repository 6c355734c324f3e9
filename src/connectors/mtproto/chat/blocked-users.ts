// Whom each account blocked (contacts.block), kept as `blocked:<account>` in the chat state with
// the other things an account sets for itself (account-records.ts: read at start, consulted
// without waiting, read again in the background; another instance's change arrives by a note).
// A blocked user's private messages, edits, reactions, typing and presence no longer reach the
// account (outbound.ts drops them; the sender is not told, as on Telegram), and the account
// cannot write to them until it unblocks them. In groups both go on seeing each other.
import { z } from 'zod';
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { AccountRecords } from './account-records.ts';
import { parseJsonAs } from './json-record.ts';
import type { Directory } from './directory.ts';

/** Users one account may block; past it, contacts.block is refused (BLOCKED_TOO_MUCH). */
export const MAX_BLOCKED = 1000;

const BlockListSchema = z.object({
  users: z.array(z.object({ id: z.string().regex(/^\d{1,20}$/), at: z.number().int().nonnegative() })).max(MAX_BLOCKED),
});
export type BlockList = z.infer<typeof BlockListSchema>;

export class BlockedUsers {
  readonly #records: AccountRecords<BlockList>;

  constructor(state: StateStore, directory: Directory, logger: Logger) {
    this.#records = new AccountRecords(state, directory, logger, 'blocked', (raw) => parseJsonAs(BlockListSchema, raw), 'blocked users');
  }

  load(): Promise<void> {
    return this.#records.load();
  }

  /** Whether the account blocked the user, as known here now (no wait: used on every private delivery). */
  blocks(accountId: bigint, userId: bigint): boolean {
    const id = String(userId);
    return this.#records.of(accountId)?.users.some((u) => u.id === id) ?? false;
  }

  /** The account's list as the state holds it (newest first). */
  async listOf(accountId: bigint): Promise<BlockList['users']> {
    return [...(await this.#records.fresh(accountId))?.users ?? []].reverse();
  }

  /**
   * Blocks or unblocks; true when that changed something. 'full': the list is at its bound.
   * Throws when other writers kept winning.
   */
  async set(accountId: bigint, userId: bigint, blocked: boolean, at: number): Promise<boolean | 'full'> {
    const id = String(userId);
    let outcome: boolean | 'full' = false;
    const ok = await this.#records.change(accountId, (current) => {
      const users = current?.users ?? [];
      const has = users.some((u) => u.id === id);
      if (has === blocked) { outcome = false; return undefined; }
      if (blocked && users.length >= MAX_BLOCKED) { outcome = 'full'; return undefined; }
      outcome = true;
      return { users: blocked ? [...users, { id, at }] : users.filter((u) => u.id !== id) };
    });
    if (!ok) throw new Error('the block list kept changing under us');
    return outcome;
  }

  /** Another instance changed the account's list: read it now. */
  async refresh(accountId: bigint): Promise<void> {
    await this.#records.fresh(accountId);
  }

  /**
   * Waits for a read of the account's list that a note started, if one is under way, so that a
   * delivery handled between the note and the read's answer is checked against the new list.
   */
  settled(accountId: bigint): Promise<void> {
    return this.#records.settled(accountId);
  }
}
