// Who and where: the accounts config.yaml provisions (bots and people) and the MTProto chats the
// bridges/ files link (one endpoint `mtproto: <chat id>` = one basic group), and which account
// sees which chat (its `rooms`).
import type { MtprotoAccountConfig } from '../../../config/schema.ts';
import { phoneDigits } from '../../../config/schema.ts';
import type { DirectParty } from '../../../core/direct.ts';
import type { Endpoint, RoutingView } from '../../../core/endpoint.ts';

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

export class Directory {
  readonly #accounts = new Map<bigint, Account>();
  readonly #byPhone = new Map<string, Account>();
  readonly #byUsername = new Map<string, Account>();
  readonly #chats = new Map<bigint, ChatInfo>();

  constructor(accounts: readonly MtprotoAccountConfig[], endpoints: readonly Endpoint[], routing: RoutingView) {
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
    for (const endpoint of endpoints) {
      const id = chatIdOf(endpoint.address);
      const room = routing.roomOf(endpoint);
      if (id === undefined || room === undefined) continue;
      this.#chats.set(id, { id, address: endpoint.address, endpoint, room, title: room });
    }
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
    return this.chats.filter((c) => this.mayUse(account, c)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The accounts that see a chat. */
  membersOf(chat: ChatInfo): Account[] {
    return this.accounts.filter((a) => this.mayUse(a, chat));
  }
}

/** How an account's name shows on other networks. */
export function displayName(account: Account): string {
  return [account.firstName, account.lastName].filter((s) => s !== undefined && s !== '').join(' ');
}
