// Who and where: the accounts config.yaml provisions (bots and people) and the MTProto chats the
// bridges/ files link (one endpoint `mtproto: <chat id>` = one basic group), and which account
// sees which chat (its `rooms`).
import type { MtprotoAccountConfig } from '../../../config/schema.ts';
import { phoneDigits } from '../../../config/schema.ts';
import type { DirectParty } from '../../../core/direct.ts';
import type { Direction, Endpoint, EndpointDiff, RoutingView } from '../../../core/endpoint.ts';

export interface Account {
  readonly id: bigint;
  readonly bot: boolean;
  readonly firstName: string;
  readonly lastName: string | undefined;
  readonly username: string | undefined;
  /** Digits only (what login compares). */
  readonly phone: string | undefined;
  readonly tokenHash: string | undefined;
  /** Canonical rooms it may use; undefined = all. */
  readonly rooms: ReadonlySet<string> | undefined;
  /** An admin of its groups: deletes anyone's message there (a moderator's removal) and sets their description (the room's topic). Absent: no. */
  readonly moderator?: boolean;
}

/**
 * A conversation: a bridged basic group, or a private chat with one person (`direct`: a `dm:`
 * room of the core, see direct-chats.ts). Its log, its messages' `chat` and its read marks are
 * keyed by `address`.
 */
export interface ChatInfo {
  /** A group's chat id; 0 for a private chat (whose peer depends on who looks: DirectChats.peerOf). */
  readonly id: bigint;
  /** A group's endpoint address (decimal chat id); a private chat's `dm:` room key. */
  readonly address: string;
  /**
   * A group's endpoint: where the id map keeps its message ids. A private chat has no endpoint of
   * its own (`{ mtproto, <room key> }` stands here): its ids are kept under each delivery's own,
   * the account's (outbound.ts), where the mapper looks them up.
   */
  readonly endpoint: Endpoint;
  /** The canonical room it belongs to. */
  readonly room: string;
  readonly title: string;
  /** A private chat: its two parties, in key order. */
  readonly direct?: { readonly parties: readonly [DirectParty, DirectParty] };
}

/** Largest basic-group id clients accept (TDLib: 999999999999). */
export const MAX_CHAT_ID = 999_999_999_999n;

/** The chat id of an endpoint address, or undefined when it is not a valid one. */
export function chatIdOf(address: string): bigint | undefined {
  if (!/^[1-9]\d{0,11}$/.test(address)) return undefined;
  const id = BigInt(address);
  return id <= MAX_CHAT_ID ? id : undefined;
}

/**
 * What a bridges/ reload changed for one group (Directory.apply): who joined it, who left it (all
 * of its members when it was unlinked), and its title before when its room changed.
 */
export interface GroupChange {
  /** The group as it is now (an unlinked one: as it was last, see Directory.formerChat). */
  readonly chat: ChatInfo;
  readonly linked: boolean;
  readonly joined: readonly Account[];
  readonly left: readonly Account[];
  /** Its title before, when its room (and so its title) changed while it stayed linked. */
  readonly retitledFrom?: string;
}

/** A group no longer linked: the accounts that were its members when it was unlinked still see it, as a group they were removed from. */
interface FormerChat {
  readonly chat: ChatInfo;
  readonly members: ReadonlySet<bigint>;
}

export class Directory {
  readonly #accounts = new Map<bigint, Account>();
  readonly #byPhone = new Map<string, Account>();
  readonly #byUsername = new Map<string, Account>();
  readonly #chats = new Map<bigint, ChatInfo>();
  readonly #former = new Map<bigint, FormerChat>();
  /** Accounts a reload of config.yaml took away while this instance ran: shown as deleted accounts. */
  readonly #removed = new Set<bigint>();

  constructor(accounts: readonly MtprotoAccountConfig[], endpoints: readonly Endpoint[], private readonly routing: RoutingView) {
    this.#setAccounts(accounts);
    for (const endpoint of endpoints) {
      const chat = groupOf(endpoint, routing);
      if (chat !== undefined) this.#chats.set(chat.id, chat);
    }
  }

  #setAccounts(accounts: readonly MtprotoAccountConfig[]): void {
    this.#accounts.clear();
    this.#byPhone.clear();
    this.#byUsername.clear();
    for (const a of accounts) {
      const account: Account = {
        id: BigInt(a.id), bot: a.bot, firstName: a.firstName, lastName: a.lastName, username: a.username,
        phone: a.phone === undefined ? undefined : phoneDigits(a.phone), tokenHash: a.tokenHash,
        rooms: a.rooms.includes('*') ? undefined : new Set(a.rooms), moderator: a.moderator === true,
      };
      this.#accounts.set(account.id, account);
      if (account.phone !== undefined) this.#byPhone.set(account.phone, account);
      if (account.username !== undefined) this.#byUsername.set(account.username.toLowerCase(), account);
    }
  }

  /**
   * config.yaml's accounts reloaded (checked whole by the app): from now on these are the accounts,
   * for every lookup and every group's membership. Answers the accounts as they were before.
   */
  replaceAccounts(accounts: readonly MtprotoAccountConfig[]): Account[] {
    const before = this.accounts;
    this.#setAccounts(accounts);
    for (const a of before) if (!this.#accounts.has(a.id)) this.#removed.add(a.id);
    for (const id of this.#accounts.keys()) this.#removed.delete(id);
    return before;
  }

  /**
   * Takes a bridges/ reload (the routing view already answers for the new table): added groups
   * are served, removed ones become former chats of their members, moved ones take their new
   * room and title. Returns what changed per group; endpoints that are no chat id are skipped
   * (the app's check refuses them; the connector logs them).
   */
  apply(change: EndpointDiff, routing: RoutingView): GroupChange[] {
    const changes: GroupChange[] = [];
    for (const endpoint of change.removed) {
      const id = chatIdOf(endpoint.address);
      const chat = id === undefined ? undefined : this.#chats.get(id);
      if (chat === undefined) continue;
      const left = this.membersOf(chat);
      this.#chats.delete(chat.id);
      this.#former.set(chat.id, { chat, members: new Set(left.map((a) => a.id)) });
      changes.push({ chat, linked: false, joined: [], left });
    }
    for (const endpoint of [...change.added, ...change.moved.map((m) => m.endpoint)]) {
      const chat = groupOf(endpoint, routing);
      if (chat === undefined) continue;
      const before = this.#chats.get(chat.id);
      const was = before === undefined ? [] : this.membersOf(before);
      this.#chats.set(chat.id, chat);
      // Linked again: its former members are members as any others (its history is theirs again).
      this.#former.delete(chat.id);
      const now = this.membersOf(chat);
      const joined = now.filter((a) => !was.includes(a));
      const left = was.filter((a) => !now.includes(a));
      const retitled = before !== undefined && before.title !== chat.title ? { retitledFrom: before.title } : {};
      changes.push({ chat, linked: true, joined, left, ...retitled });
    }
    return changes;
  }

  /**
   * A group unlinked earlier (chat-links.ts keeps who it was taken from): a former chat of those
   * `members`. Nothing when it is linked now, or `address` is no chat id.
   */
  restoreFormer(address: string, room: string, members: readonly bigint[]): ChatInfo | undefined {
    const id = chatIdOf(address);
    if (id === undefined || this.#chats.has(id)) return undefined;
    const chat: ChatInfo = this.#former.get(id)?.chat ?? { id, address, endpoint: { connector: 'mtproto', address }, room, title: room };
    this.#former.set(id, { chat, members: new Set(members) });
    return chat;
  }

  /** A group that was linked and is not any more, as it was last (undefined: linked, or never known). */
  formerChat(id: bigint): ChatInfo | undefined {
    return this.#former.get(id)?.chat;
  }

  /** Whether the account was a member of the former chat `id` when it was unlinked. */
  wasMember(account: Account, id: bigint): boolean {
    return this.#former.get(id)?.members.has(account.id) === true;
  }

  /** A linked group, or a former one (updates and history of it still name it). */
  knownChatOfAddress(address: string): ChatInfo | undefined {
    const id = chatIdOf(address);
    return id === undefined ? undefined : this.#chats.get(id) ?? this.#former.get(id)?.chat;
  }

  /** Every group no longer linked that its former members still list (their files are still shown). */
  get formerChats(): ChatInfo[] {
    return [...this.#former.values()].map((f) => f.chat);
  }

  /** Whether a group is linked now. */
  isLinked(chat: ChatInfo): boolean {
    return this.#chats.has(chat.id);
  }

  /**
   * Which way a group is bridged now (bridges/ `direction:`; the routing view follows reloads):
   * `both` for a private chat and for a group no longer linked (group-direction.ts says what each means here).
   */
  directionOf(chat: ChatInfo): Direction {
    return chat.direct === undefined && this.isLinked(chat) ? this.routing.directionOf(chat.endpoint) : 'both';
  }

  /** The former chats an account was a member of: listed as groups it was removed from. */
  formerChatsOf(account: Account): ChatInfo[] {
    return [...this.#former.values()].filter((f) => f.members.has(account.id)).map((f) => f.chat).sort(byId);
  }

  /** Whether `id` is an account a reload took away (while this instance ran): Telegram shows such a user as a deleted account. */
  wasRemoved(id: bigint): boolean {
    return this.#removed.has(id);
  }

  account(id: bigint): Account | undefined {
    return this.#accounts.get(id);
  }

  byPhone(digits: string): Account | undefined {
    return this.#byPhone.get(digits);
  }

  byUsername(username: string): Account | undefined {
    return this.#byUsername.get(username.toLowerCase());
  }

  get bots(): Account[] {
    return [...this.#accounts.values()].filter((a) => a.bot);
  }

  get accounts(): Account[] {
    return [...this.#accounts.values()];
  }

  chat(id: bigint): ChatInfo | undefined {
    return this.#chats.get(id);
  }

  chatOfAddress(address: string): ChatInfo | undefined {
    const id = chatIdOf(address);
    return id === undefined ? undefined : this.#chats.get(id);
  }

  get chats(): ChatInfo[] {
    return [...this.#chats.values()];
  }

  mayUse(account: Account, chat: ChatInfo): boolean {
    return account.rooms === undefined || account.rooms.has(chat.room);
  }

  /** The chats an account sees, by id. */
  chatsOf(account: Account): ChatInfo[] {
    return this.chats.filter((c) => this.mayUse(account, c)).sort(byId);
  }

  /**
   * The groups whose logs move an account's pts: those it sees and those it was removed from (the
   * removal's own service message is an update of its, and a group linked again goes on from there).
   */
  groupsCountedFor(account: Account): ChatInfo[] {
    return [...this.chatsOf(account), ...this.formerChatsOf(account)].sort(byId);
  }

  /** The accounts that see a chat. */
  membersOf(chat: ChatInfo): Account[] {
    return this.accounts.filter((a) => this.mayUse(a, chat));
  }
}

const byId = (a: ChatInfo, b: ChatInfo) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The group an endpoint is now (its room from the routing view; undefined: no chat id, or not linked). */
function groupOf(endpoint: Endpoint, routing: RoutingView): ChatInfo | undefined {
  const id = chatIdOf(endpoint.address);
  const room = routing.roomOf(endpoint);
  if (id === undefined || room === undefined) return undefined;
  return { id, address: endpoint.address, endpoint, room, title: room };
}

/** How an account's name shows on other networks. */
export function displayName(account: Account): string {
  return [account.firstName, account.lastName].filter((s) => s !== undefined && s !== '').join(' ');
}
