// Which chats each account keeps in its archive, as known here without a read: the archive marks
// (and mutes) of its dialog settings (`dialogs:<user id>`, dialog-settings.ts), read at start and again when
// older than 30 s or told by a note (account-records.ts). The writer asks it for every new
// message it pushes: an unmuted archived chat goes back to the main list with it, as on Telegram,
// and the account's sessions are told so (updateFolderPeers) at once.
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { AccountRecords } from './account-records.ts';
import { archiveOf, isArchived, type DialogSettingsOf } from './dialog-settings.ts';
import type { Directory } from './directory.ts';

export class ArchiveMarks {
  readonly #records: AccountRecords<Pick<DialogSettingsOf, 'archived' | 'notify'>>;

  constructor(state: StateStore, directory: Directory, logger: Logger) {
    // Read only: the record is the dialog settings', written by them alone.
    this.#records = new AccountRecords(state, directory, logger, 'dialogs', archiveOf, 'archived chats');
  }

  load(): Promise<void> {
    return this.#records.load();
  }

  /** Whether new message `messageId` takes `chat` out of the account's archive (not while the chat is muted). */
  returns(accountId: bigint, chat: string, messageId: number): boolean {
    const known = this.#records.of(accountId);
    return known?.archived[chat] !== undefined && !isArchived(known, chat, messageId, Math.floor(Date.now() / 1000));
  }

  /** The chat left the archive (the settings are being written): known here at once, so it is told once. */
  left(accountId: bigint, chat: string): void {
    const known = this.#records.of(accountId);
    if (known === undefined) return;
    const archived = { ...known.archived };
    delete archived[chat];
    this.#records.remember(accountId, Object.keys(archived).length > 0 ? { archived, notify: known.notify } : undefined);
  }

  /** Reads the account's marks again (a change here, or another instance's note). */
  async refresh(accountId: bigint): Promise<void> {
    await this.#records.fresh(accountId);
  }
}
