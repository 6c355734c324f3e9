// Each account's contacts (contacts.addContact, importContacts by phone number, deleteContacts),
// kept as `contacts:<account>` in the chat state with the other things an account sets for
// itself (account-records.ts: read at start, consulted without waiting, read again in the
// background; another instance's change arrives by a note). A contact is any user: another
// account, or a person of another network. It shows to the account that added it under the name
// it was saved with (as on Telegram), marked as a contact, and as a mutual contact when that user
// is an account that has the account among its own; status privacy's "my contacts" means them.
// The same record keeps whose private chats' "add contact / block" bar the account dismissed.
import { z } from 'zod';
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { AccountRecords } from './account-records.ts';
import { parseJsonAs } from './json-record.ts';
import type { Directory } from './directory.ts';
import type { TlObject } from '../tl/codec.ts';

/** Contacts one account may keep; past it, adding is refused (CONTACTS_TOO_MUCH) and an import returns the rest to retry. */
export const MAX_CONTACTS = 1000;
/** Users whose "add contact / block" bar an account dismissed (messages.hidePeerSettingsBar), at most this many (the oldest go). */
export const MAX_BARS_HIDDEN = 1000;

const ContactSchema = z.object({
  id: z.string().regex(/^\d{1,20}$/),
  first: z.string().max(256),
  last: z.string().max(256),
  /** The number it was found by (importContacts): the account that knows it sees it on the user. */
  phone: z.string().regex(/^\d{1,20}$/).optional(),
  at: z.number().int().nonnegative(),
});
const ContactListSchema = z.object({
  users: z.array(ContactSchema).max(MAX_CONTACTS),
  barHidden: z.array(z.string().regex(/^\d{1,20}$/)).max(MAX_BARS_HIDDEN).optional(),
});
export type Contact = z.infer<typeof ContactSchema>;
type ContactList = z.infer<typeof ContactListSchema>;

/**
 * The bar `owner`'s client shows over its private chat with `user` (PeerSettings): add them as a
 * contact, block them, report spam; none with a bot, oneself, a contact, or once dismissed.
 */
export function peerSettingsOf(contacts: ContactLists, directory: Directory, owner: bigint, user: bigint): TlObject {
  const bar = directory.account(user)?.bot !== true && contacts.offersBar(owner, user);
  return { _: 'peerSettings', ...(bar ? { add_contact: true, block_contact: true, report_spam: true } : {}) };
}

/** What one change did to a list: users added or renamed, users removed, users that did not fit. */
export interface ContactsChanged {
  readonly saved: readonly bigint[];
  readonly removed: readonly bigint[];
  readonly full: readonly bigint[];
}

export class ContactLists {
  readonly #records: AccountRecords<ContactList>;
  /** Each list read, by user id: a render looks a user up in the viewer's list (up to 1,000 long). */
  readonly #byId = new WeakMap<ContactList, Map<string, Contact>>();

  constructor(state: StateStore, directory: Directory, logger: Logger) {
    this.#records = new AccountRecords(state, directory, logger, 'contacts', (raw) => parseJsonAs(ContactListSchema, raw), 'contacts');
  }

  load(): Promise<void> {
    return this.#records.load();
  }

  /** The contact `owner` keeps for `user`, as known here now (no wait: used on every render). */
  contactOf(owner: bigint, user: bigint): Contact | undefined {
    const list = this.#records.of(owner);
    if (list === undefined) return undefined;
    let byId = this.#byId.get(list);
    if (byId === undefined) {
      byId = new Map(list.users.map((u) => [u.id, u]));
      this.#byId.set(list, byId);
    }
    return byId.get(String(user));
  }

  /**
   * Whether `owner`'s private chat with `user` offers the bar to add them as a contact or block
   * them (as Telegram's apps show it): someone not among its contacts, whose bar it did not dismiss.
   */
  offersBar(owner: bigint, user: bigint): boolean {
    if (owner === user || this.contactOf(owner, user) !== undefined) return false;
    return !(this.#records.of(owner)?.barHidden?.includes(String(user)) ?? false);
  }

  /** Dismisses the bar of `owner`'s chat with `user`; false when it was dismissed already. Throws when other writers kept winning. */
  async hideBar(owner: bigint, user: bigint): Promise<boolean> {
    const id = String(user);
    let changed = false;
    const ok = await this.#records.change(owner, (current) => {
      const hidden = current?.barHidden ?? [];
      changed = !hidden.includes(id);
      return changed ? { users: current?.users ?? [], barHidden: [...hidden, id].slice(-MAX_BARS_HIDDEN) } : undefined;
    });
    if (!ok) throw new Error('the contact list kept changing under us');
    return changed;
  }

  /** The account's contacts as the state holds them, in the order added. */
  async listOf(owner: bigint): Promise<readonly Contact[]> {
    return (await this.#records.fresh(owner))?.users ?? [];
  }

  /**
   * Saves contacts (a user already there is renamed) and removes others, in one change. Throws
   * when other writers kept winning.
   */
  async change(owner: bigint, save: readonly { user: bigint; first: string; last: string; phone?: string }[], remove: readonly bigint[], at: number): Promise<ContactsChanged> {
    let outcome: ContactsChanged = { saved: [], removed: [], full: [] };
    const ok = await this.#records.change(owner, (current) => {
      const gone = new Set(remove.map(String));
      const users = (current?.users ?? []).filter((u) => !gone.has(u.id));
      const removed = (current?.users ?? []).filter((u) => gone.has(u.id)).map((u) => BigInt(u.id));
      const saved: bigint[] = [];
      const full: bigint[] = [];
      for (const c of save) {
        const id = String(c.user);
        const i = users.findIndex((u) => u.id === id);
        const phone = c.phone !== undefined ? { phone: c.phone } : {};
        if (i >= 0) {
          const was = users[i]!;
          if (was.first !== c.first || was.last !== c.last || (c.phone !== undefined && was.phone !== c.phone)) { users[i] = { ...was, first: c.first, last: c.last, ...phone }; saved.push(c.user); }
        } else if (users.length >= MAX_CONTACTS) {
          full.push(c.user);
        } else {
          users.push({ id, first: c.first, last: c.last, ...phone, at });
          saved.push(c.user);
        }
      }
      outcome = { saved, removed, full };
      return saved.length === 0 && removed.length === 0 ? undefined : { users, ...(current?.barHidden !== undefined ? { barHidden: current.barHidden } : {}) };
    });
    if (!ok) throw new Error('the contact list kept changing under us');
    return outcome;
  }

  /** Another instance changed the account's list: read it now. */
  async refresh(owner: bigint): Promise<void> {
    await this.#records.fresh(owner);
  }
}
