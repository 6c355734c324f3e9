// Which bots have shown a reply keyboard (`replykb:<bot>`, kept with what accounts set for
// themselves: account-records.ts). Taking a reply keyboard away (replyKeyboardHide) adds no button
// lines to the bot's text, so the writer's cheap check (keyboards.ts, mayEndInButtons) cannot see
// it: for these bots the writer reads the kept keyboard of every message, for the others only
// when the text can end in buttons, so a bot that never shows one (the chat bench's) costs no read.
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { AccountRecords } from './account-records.ts';
import type { Directory } from './directory.ts';

export class ReplyKeyboardBots {
  readonly #records: AccountRecords<true>;

  constructor(state: StateStore, directory: Directory, logger: Logger) {
    this.#records = new AccountRecords(state, directory, logger, 'replykb', (raw) => (raw === 'true' ? true : undefined), 'reply keyboards');
  }

  /** Reads the bots' marks (at start; only a bot has one). */
  load(): Promise<void> {
    return this.#records.load((a) => a.bot);
  }

  /** Whether the bot has shown a reply keyboard, as known here now (another instance's mark shows within 30 s). */
  uses(botId: bigint): boolean {
    return this.#records.of(botId) === true;
  }

  /** Marks the bot (once): before its first reply keyboard goes out, and where the writer meets one. */
  async mark(botId: bigint): Promise<void> {
    if (!this.uses(botId)) await this.#records.set(botId, true);
  }
}
