// An account's contacts (contact-lists.ts): contacts.addContact (any user it can name: another
// account, or a person of another network), importContacts (phone numbers: the accounts with
// those numbers that have the importer among their contacts), deleteContacts / deleteByPhones, and what apps read at start (getContacts,
// getContactIDs, getStatuses). The answer carries the users as the account now sees them; its
// other sessions are told, here and on the other instances (a note).
import { phoneDigits } from '../../../../config/schema.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject } from '../../tl/codec.ts';
import { MAX_NAME_LENGTH, clean } from '../account-profiles.ts';
import { peerSettingsOf, type ContactsChanged } from '../contact-lists.ts';
import type { Account } from '../directory.ts';
import { peerUser, type View } from '../render.ts';
import { accountOf, badRequest, chatOfPeer, listField, type ChatHandler, objectField, register, stringField, updatesOf, userOfInput, viewOf, type ChatCallContext, type ChatDeps } from './common.ts';
import { objects } from './message-input.ts';
import { tellAccount } from './own-news.ts';

/** Contacts one import or delete looks at (the rest of an import comes back to retry). */
export const MAX_PER_CALL = 100;
const INT32_MAX = 2 ** 31 - 1;

/** The name a contact is saved under, or the rpc_error refusing it. */
function savedName(call: TlObject): { first: string; last: string } | string {
  const first = clean(stringField(call, 'first_name') ?? '');
  const last = clean(stringField(call, 'last_name') ?? '');
  if (first === '' && last === '') return 'CONTACT_NAME_EMPTY';
  if ([...first].length > MAX_NAME_LENGTH) return 'FIRST_NAME_INVALID';
  if ([...last].length > MAX_NAME_LENGTH) return 'LASTNAME_INVALID';
  // A last name alone is shown as the first (a user has a first name).
  return first === '' ? { first: last, last: '' } : { first, last };
}

/**
 * A person with an account (not a bot, not oneself) by phone number, as `account` may find them:
 * only when they have it among their contacts ("who can find me by my number: my contacts", the
 * stricter of Telegram's two choices), so a number tells nobody else that it has an account here.
 */
function accountByPhone(deps: ChatDeps, account: Account, phone: string | undefined): Account | undefined {
  const digits = phoneDigits(phone ?? '');
  const found = digits === '' ? undefined : deps.directory.byPhone(digits);
  if (found === undefined || found.bot || found.id === account.id) return undefined;
  return deps.contacts.contactOf(found.id, account.id) !== undefined ? found : undefined;
}

export function registerContactList(methods: MethodRegistry, deps: ChatDeps): void {
  // Bots keep no contacts (Telegram answers them BOT_METHOD_INVALID; Telethon counts on it to tell a bot it cannot look people up by number).
  const registerForPeople = (name: string, auth: 'user', handle: ChatHandler): void => register(methods, deps, name, auth, (call, ctx) => {
    if (accountOf(deps, ctx).bot) throw badRequest('BOT_METHOD_INVALID');
    return handle(call, ctx);
  });
  /** Changes the list; tells the other sessions of what changed. */
  const change = async (ctx: ChatCallContext, account: Account, save: readonly { user: bigint; first: string; last: string }[], remove: readonly bigint[]): Promise<ContactsChanged> => {
    let changed: ContactsChanged;
    try {
      changed = await deps.contacts.change(account.id, save, remove, ctx.now);
    } catch {
      throw new RpcError(420, 'FLOOD_WAIT_1');
    }
    const users = [...changed.saved, ...changed.removed].map(String);
    if (users.length > 0) await tellAccount(deps, account, { kind: 'contacts', account: String(account.id), users }, ctx.channel?.key);
    return changed;
  };
  const peerSettings = (account: Account, ids: readonly bigint[]): TlObject[] => ids.map((id) => ({ _: 'updatePeerSettings', peer: peerUser(id), settings: peerSettingsOf(deps.contacts, deps.directory, account.id, id) }));

  registerForPeople('contacts.addContact', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const user = await userOfInput(deps, view.account, objectField(call, 'id'));
    const person = user === undefined ? undefined : await deps.people.person(user);
    if (user === undefined || user === view.account.id || person === undefined || (person.kind === 'account' && person.account.bot)) throw badRequest('CONTACT_ID_INVALID');
    const name = savedName(call);
    if (typeof name === 'string') throw badRequest(name);
    const changed = await change(ctx, view.account, [{ user, ...name }], []);
    if (changed.full.length > 0) throw badRequest('CONTACTS_TOO_MUCH');
    return updatesOf(deps, view, peerSettings(view.account, [user]), [user], []);
  });

  registerForPeople('contacts.importContacts', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const inputs = objects(listField(call, 'contacts')).filter((c) => c._ === 'inputPhoneContact');
    const found: { clientId: bigint; user: bigint; first: string; last: string; phone?: string }[] = [];
    const retry: bigint[] = [];
    for (const [i, c] of inputs.entries()) {
      const clientId = typeof c['client_id'] === 'bigint' ? c['client_id'] : 0n;
      if (i >= MAX_PER_CALL) { retry.push(clientId); continue; }
      const other = accountByPhone(deps, view.account, stringField(c, 'phone'));
      const name = savedName(c);
      if (other !== undefined && typeof name !== 'string') found.push({ clientId, user: other.id, ...name, ...(other.phone !== undefined ? { phone: other.phone } : {}) });
    }
    const changed = found.length === 0 ? { saved: [], removed: [], full: [] } : await change(ctx, view.account, found, []);
    const full = new Set(changed.full);
    const imported = found.filter((f) => !full.has(f.user));
    return {
      _: 'contacts.importedContacts',
      imported: imported.map((f) => ({ _: 'importedContact', user_id: f.user, client_id: f.clientId })),
      popular_invites: [],
      retry_contacts: [...retry, ...found.filter((f) => full.has(f.user)).map((f) => f.clientId)],
      users: await deps.render.users(imported.map((f) => f.user), view),
    };
  });

  registerForPeople('contacts.deleteContacts', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const ids: bigint[] = [];
    for (const input of objects(listField(call, 'id')).slice(0, MAX_PER_CALL)) {
      const id = await userOfInput(deps, view.account, input);
      if (id !== undefined) ids.push(id);
    }
    const changed = await change(ctx, view.account, [], ids);
    return updatesOf(deps, view, peerSettings(view.account, changed.removed), changed.removed, []);
  });

  registerForPeople('contacts.deleteByPhones', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    // One's own contacts by their number (no finding here: a number not among them removes nothing).
    const ids = listField(call, 'phones').slice(0, MAX_PER_CALL).flatMap((p) => {
      const digits = typeof p === 'string' ? phoneDigits(p) : '';
      const other = digits === '' ? undefined : deps.directory.byPhone(digits);
      return other === undefined ? [] : [other.id];
    });
    if (ids.length > 0) await change(ctx, view.account, [], ids);
    return true;
  });

  // The bar over a private chat (peerSettingsOf), dismissed for good; a group has none.
  register(methods, deps, 'messages.hidePeerSettingsBar', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const chat = await chatOfPeer(deps, view.account, objectField(call, 'peer'));
    const user = deps.render.usersOfChat(chat, view)[0];
    if (user === undefined) return true;
    let hidden: boolean;
    try {
      hidden = await deps.contacts.hideBar(view.account.id, user);
    } catch {
      throw new RpcError(420, 'FLOOD_WAIT_1');
    }
    if (hidden) await tellAccount(deps, view.account, { kind: 'contacts', account: String(view.account.id), users: [String(user)] }, ctx.channel?.key);
    return true;
  });

  // Phone contacts the app uploaded are not kept apart from the added ones: nothing to reset.
  registerForPeople('contacts.resetSaved', 'user', () => true);

  const contactUsers = async (view: View) => (await deps.contacts.listOf(view.account.id)).map((c) => BigInt(c.id));

  registerForPeople('contacts.getContacts', 'user', async (_call, ctx) => {
    const view = viewOf(deps, ctx);
    const ids = await contactUsers(view);
    const users = await deps.render.users(ids, view);
    const known = new Set(users.map((u) => u['id']));
    return {
      _: 'contacts.contacts',
      contacts: ids.filter((id) => known.has(id)).map((id) => ({ _: 'contact', user_id: id, mutual: deps.contacts.contactOf(id, view.account.id) !== undefined })),
      saved_count: 0,
      users,
    };
  });

  // The ids as ints (Telegram's old form): the contacts whose id fits in one.
  registerForPeople('contacts.getContactIDs', 'user', async (_call, ctx) => (await contactUsers(viewOf(deps, ctx))).filter((id) => id <= BigInt(INT32_MAX)).map(Number));

  registerForPeople('contacts.getStatuses', 'user', async (_call, ctx) => {
    const view = viewOf(deps, ctx);
    const users = await deps.render.users(await contactUsers(view), view);
    return users.flatMap((u) => (u['status'] !== undefined ? [{ _: 'contactStatus', user_id: u['id'], status: u['status'] }] : []));
  });
}
