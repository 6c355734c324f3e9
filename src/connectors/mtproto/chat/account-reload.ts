// What a reload of config.yaml's `mtproto.accounts` (SIGHUP, Connector.settingsChanged) does,
// the way Telegram shows the same to its users:
//
//  - an account added can log in at once, and is a member of its groups (told as a user added);
//  - an account removed, or whose credential changed (a bot's token, a person's phone), has every
//    login ended as a terminated session is: its sessions' next calls get 401, their updates stop
//    (login-epochs.ts makes that hold on every instance and across restarts); a removed account
//    also leaves its groups, whose members are told (messageActionChatDeleteUser);
//  - its `rooms` changed: its groups change as a bridges/ move into or out of its set does
//    (chat-links.ts: pts offsets moved, messageActionChatAddUser / DeleteUser);
//  - its `moderator` flag: it is its groups' admin or no longer (updateChatParticipantAdmin, with
//    the group's new admin_rights), and what it may do follows on its open sessions;
//  - its names: those who see it are told (updateUser / updateUserName, as for a name it set).
//
// Each instance takes its own SIGHUP; the first to raise an account's login epoch tells the others
// with a note, so that their sessions of the ended logins stop too, before their own reload.
import type { MtprotoAccountConfig } from '../../../config/schema.ts';
import type { Stoppable } from '../../../bus/types.ts';
import type { Counter } from '../../../core/metrics.ts';
import type { ChatLinks } from './chat-links.ts';
import type { Account, GroupChange } from './directory.ts';
import { KeyedLock } from '../../../core/keyed-lock.ts';
import { credentialOf } from './login-epochs.ts';
import { announceUser } from './methods/announce-user.ts';
import { viewAt, type ChatDeps } from './methods/common.ts';

/** The notes channel on which an instance that ended an account's logins tells the others. */
export const ACCOUNTS_NOTES = 'mtproto-accounts';

export type AccountChangeKind = 'added' | 'removed' | 'credential' | 'rooms' | 'moderator' | 'names';

export interface AccountChange {
  readonly id: bigint;
  readonly kinds: readonly AccountChangeKind[];
}

const sameRooms = (a: Account, b: Account): boolean =>
  a.rooms === undefined || b.rooms === undefined ? a.rooms === b.rooms : a.rooms.size === b.rooms.size && [...a.rooms].every((r) => b.rooms!.has(r));

/** What changed per account between two lists (by id); accounts that did not change are left out. */
export function diffAccounts(before: readonly Account[], after: readonly Account[]): AccountChange[] {
  const was = new Map(before.map((a) => [a.id, a]));
  const now = new Map(after.map((a) => [a.id, a]));
  const changes: AccountChange[] = [];
  for (const [id, a] of was) if (!now.has(id)) changes.push({ id, kinds: ['removed'] });
  for (const [id, b] of now) {
    const a = was.get(id);
    if (a === undefined) {
      changes.push({ id, kinds: ['added'] });
      continue;
    }
    const kinds: AccountChangeKind[] = [];
    if (credentialOf(a) !== credentialOf(b)) kinds.push('credential');
    if (!sameRooms(a, b)) kinds.push('rooms');
    if (a.moderator !== b.moderator) kinds.push('moderator');
    if (a.firstName !== b.firstName || a.lastName !== b.lastName || a.username !== b.username) kinds.push('names');
    if (kinds.length > 0) changes.push({ id, kinds });
  }
  return changes;
}

export interface AccountReloadDeps {
  readonly chat: ChatDeps;
  readonly links: ChatLinks;
  /** Account changes by reloads (`switchboard_mtproto_account_changes_total{change}`). */
  readonly changes?: Counter<string>;
}

export class AccountReload {
  /** Reloads apply one after another (a second SIGHUP's background work waits for the first's). */
  readonly #turns = new KeyedLock();

  constructor(private readonly d: AccountReloadDeps) {}

  /**
   * Puts the accounts in force: synchronously what calls see (who may log in, what a session may
   * do, which sessions ended, who is a member where), in the background what others are told.
   * Answers the changes (none: nothing changed) and when the background work is done (tests).
   * Never throws; the background never rejects (a failure is logged).
   */
  apply(accounts: readonly MtprotoAccountConfig[]): { changes: AccountChange[]; done: Promise<void> } {
    const { directory, authorizations, live, logger } = this.d.chat;
    const before = directory.replaceAccounts(accounts);
    const changes = diffAccounts(before, directory.accounts);
    if (changes.length === 0) return { changes, done: this.#turns.idle() };
    // Every login is looked up again: an ended one answers 401 on its next call.
    authorizations.accountsChanged();
    const ended = changes.filter((c) => c.kinds.includes('removed') || c.kinds.includes('credential'));
    // A session connected now logged in before this reload: with its login ended, it gets no more updates.
    for (const c of ended) for (const key of live.authKeysOf(c.id)) live.dropAuthKey(key);
    for (const c of changes) {
      for (const kind of c.kinds) this.d.changes?.inc({ change: kind });
      logger.info({ user: String(c.id), changes: c.kinds }, 'mtproto: config.yaml reload: an account changed');
    }
    const wasById = new Map(before.map((a) => [a.id, a]));
    // Started now: a login made from here on waits for it (login-epochs.ts).
    const raised = new Map(changes.filter((c) => c.kinds.some((k) => k === 'added' || k === 'removed' || k === 'credential')).map((c) => {
      const raising = authorizations.epochs.raise(c.id, credentialOf(directory.account(c.id)), !c.kinds.includes('added'));
      raising.catch(() => undefined);
      return [c.id, raising] as const;
    }));
    const groups = this.#groupChanges(before);
    const members = this.d.links.changed(groups, 'accounts');
    const run = this.#turns.run('accounts', async () => {
      await members;
      for (const c of changes) {
        try {
          await this.#tell(c, wasById.get(c.id), raised.get(c.id));
        } catch (err) {
          logger.warn({ err, user: String(c.id), changes: c.kinds }, 'mtproto: telling of an account change failed (clients see it when they ask)');
        }
      }
    });
    return { changes, done: run };
  }

  /** The groups whose members changed: an account added or removed, or rooms that now take a group in or leave it out. */
  #groupChanges(before: readonly Account[]): GroupChange[] {
    const { directory } = this.d.chat;
    const changes: GroupChange[] = [];
    for (const chat of directory.chats) {
      const was = before.filter((a) => directory.mayUse(a, chat));
      const now = directory.membersOf(chat);
      const joined = now.filter((a) => !was.some((w) => w.id === a.id));
      const left = was.filter((a) => !now.some((n) => n.id === a.id));
      if (joined.length + left.length > 0) changes.push({ chat, linked: true, joined, left });
    }
    return changes;
  }

  /**
   * The background of one account's change: once its logins' epoch is raised (`raising`; added
   * accounts too: one removed earlier and provisioned again must not get back logins made
   * meanwhile on an instance that lagged), the other instances are told; those who see it are told.
   */
  async #tell(change: AccountChange, was: Account | undefined, raising: Promise<boolean> | undefined): Promise<void> {
    const deps = this.d.chat;
    const account = deps.directory.account(change.id);
    if (raising !== undefined) {
      const raised = await raising;
      // A person's logins are listed: what is stored of them goes too (a bot's go as each is next looked up, or with its key).
      if (change.kinds.some((k) => k === 'removed' || k === 'credential') && was !== undefined && !was.bot) await deps.authorizations.endListed(change.id);
      if (raised) {
        await deps.bus.notes?.publish(ACCOUNTS_NOTES, JSON.stringify({ account: String(change.id) })).catch((err: unknown) => {
          deps.logger.warn({ err, user: String(change.id) }, 'mtproto: other instances were not told of an account\'s ended logins (they see it within seconds)');
        });
      }
    }
    if (account === undefined) return;
    if (change.kinds.includes('moderator')) this.#tellAdmin(account);
    if (change.kinds.includes('names')) await announceUser(deps, account, 'name', false);
  }

  /** Its groups' members (itself among them) are told it is their admin now, or no longer, with each group as they see it now. */
  #tellAdmin(account: Account): void {
    const deps = this.d.chat;
    for (const chat of deps.directory.chatsOf(account)) {
      for (const member of deps.directory.membersOf(chat)) {
        if (!deps.live.has(member.id)) continue;
        deps.live.push(member.id, (layer) => {
          const view = viewAt(deps, member, layer);
          return {
            _: 'updates',
            updates: [{ _: 'updateChatParticipantAdmin', chat_id: chat.id, user_id: account.id, is_admin: account.moderator === true, version: 1 }],
            users: [deps.render.userObject({ kind: 'account', account }, view)], chats: [deps.render.chatObject(chat, view)], date: view.now, seq: 0,
          };
        });
      }
    }
  }

  /**
   * Follows the other instances' notes: an account's logins ended there, so those of its sessions
   * here whose login no longer holds stop getting updates (and their next call gets 401) now.
   */
  follow(): Stoppable | undefined {
    const deps = this.d.chat;
    return deps.bus.notes?.subscribe(ACCOUNTS_NOTES, (raw) => {
      void this.#ended(raw).catch((err: unknown) => deps.logger.warn({ err }, 'mtproto: another instance\'s ended logins could not be applied here (within seconds they are)'));
    });
  }

  async #ended(raw: string): Promise<void> {
    const deps = this.d.chat;
    const parsed = JSON.parse(raw) as { account?: unknown };
    if (typeof parsed.account !== 'string' || !/^\d{1,20}$/.test(parsed.account)) return;
    const id = BigInt(parsed.account);
    deps.authorizations.epochs.forget(id);
    deps.authorizations.accountsChanged();
    for (const key of deps.live.authKeysOf(id)) {
      if ((await deps.authorizations.userOf(key))?.userId !== id) deps.live.dropAuthKey(key);
    }
  }
}
