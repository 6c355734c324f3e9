// Private chats: an account and one person, who is on another network or is another account
// here, or the account itself (its Saved Messages). Each is a direct room of the core
// (`dm:<party>|<party>`, docs/connectors.md) and a chat log of its own, keyed by that room key and
// shared by both parties when both are accounts here.
//
// An account's pts counts every entry of each of its private chats (pts.ts), so which private
// chats an account has is kept per account (`dms:<account id>`): the writer (the egress consumer)
// adds a chat before its first entry is written, and a chat never leaves the set. Other instances
// read the set when they first need it and learn new chats from the writer's fan-out.
import type { StateStore } from '../../../bus/types.ts';
import { directRoom, parseDirectRoom, type DirectParty } from '../../../core/direct.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Account, ChatInfo, Directory } from './directory.ts';
import { puppetIdOf, type People } from './people.ts';

/** Private chats one account may have by default (`mtproto.maxDirectChats`); a chat past it is refused (the sender: PEER_FLOOD; a delivery: dropped and logged). */
export const MAX_DIRECT_CHATS = 1_000;

const NETWORK = 'mtproto';
const ACCOUNT_ID = /^[1-9]\d{0,14}$/;

/** The room of an account's Saved Messages (its chat with itself: its party twice). */
export function savedRoomOf(accountId: bigint): string | undefined {
  const own: DirectParty = { network: NETWORK, id: String(accountId) };
  return directRoom(own, own);
}

export class DirectChats {
  /** Each account's private chats (room keys, in the order they began), as last read or written. */
  readonly #sets = new Map<bigint, Promise<readonly string[]>>();

  constructor(private readonly state: StateStore, private readonly directory: Directory, private readonly people: People, private readonly logger: Logger,
    private readonly max = MAX_DIRECT_CHATS) {}

  /** The private chat a `dm:` room key names, or undefined when the key is not one in canonical form. */
  chatOf(key: string): ChatInfo | undefined {
    const parties = parseDirectRoom(key);
    if (parties === undefined) return undefined;
    return { id: 0n, address: key, endpoint: { connector: NETWORK, address: key }, room: key, title: '', direct: { parties } };
  }

  /**
   * Whether a private chat is an account's Saved Messages (its chat with itself: the core's direct
   * room of one party twice, which the router delivers to that party alone). Nobody else reads or
   * writes it, so there is nothing to tell anyone of typing, reading or presence in it.
   */
  isSaved(chat: ChatInfo): boolean {
    const parties = chat.direct?.parties;
    return parties !== undefined && parties[0].network === parties[1].network && parties[0].id === parties[1].id;
  }

  /** The accounts here among a private chat's parties (one, or two when two accounts talk). */
  accountsOf(chat: ChatInfo): Account[] {
    const out: Account[] = [];
    for (const party of chat.direct?.parties ?? []) {
      const account = this.accountOfParty(party);
      if (account !== undefined && !out.includes(account)) out.push(account);
    }
    return out;
  }

  /** The account a party is, when it is one here. */
  accountOfParty(party: DirectParty): Account | undefined {
    return party.network === NETWORK && ACCOUNT_ID.test(party.id) ? this.directory.account(BigInt(party.id)) : undefined;
  }

  /**
   * The user a party is to MTProto clients: its account, else the person of another network as
   * People names them (so a private chat's peer is the user their messages come from).
   */
  userIdOf(party: DirectParty): bigint {
    if (party.network === NETWORK && ACCOUNT_ID.test(party.id)) return BigInt(party.id);
    const actor = { network: party.network, id: party.id };
    return this.people.accountOf(actor)?.id ?? puppetIdOf(this.people.keyOf(actor));
  }

  /** The party at the other end of a private chat, for the account `viewer` (one of its parties). */
  peerPartyOf(chat: ChatInfo, viewer: bigint): DirectParty {
    if (chat.direct === undefined) throw new TypeError(`${chat.address} is not a private chat`);
    const [a, b] = chat.direct.parties;
    return a.network === NETWORK && a.id === String(viewer) ? b : a;
  }

  /** The user at the other end of a private chat, for the account `viewer` (one of its parties). */
  peerOf(chat: ChatInfo, viewer: bigint): bigint {
    return this.userIdOf(this.peerPartyOf(chat, viewer));
  }

  /**
   * The private chat of `account` with the user `userId` (another account, or a person of another
   * network it was shown), or undefined: an unknown user, or a pair too long for a key. With itself
   * it is its Saved Messages (a person's only: a bot has none, as on Telegram).
   */
  async with(account: Account, userId: bigint): Promise<ChatInfo | undefined> {
    const own: DirectParty = { network: NETWORK, id: String(account.id) };
    let party: DirectParty;
    if (userId === account.id) {
      if (account.bot) return undefined;
      party = own;
    } else {
      const person = await this.people.person(userId);
      if (person === undefined) return undefined;
      party = person.kind === 'account' ? { network: NETWORK, id: String(person.account.id) } : { network: person.puppet.network, id: person.puppet.nativeId };
    }
    const key = directRoom(own, party);
    return key === undefined ? undefined : this.chatOf(key);
  }

  /** An account's private chats (room keys), in the order they began. */
  keysOf(account: Account | bigint): Promise<readonly string[]> {
    const id = typeof account === 'bigint' ? account : account.id;
    let p = this.#sets.get(id);
    if (p === undefined) {
      p = this.#load(id);
      p.catch(() => this.#sets.delete(id));
      this.#sets.set(id, p);
    }
    return p;
  }

  async #load(id: bigint): Promise<readonly string[]> {
    const raw = await this.state.get(`dms:${id}`);
    if (raw === undefined) return [];
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((k) => typeof k === 'string' && parseDirectRoom(k) !== undefined)) {
      // Never written so by this code: refusing to count them would move the account's pts back, so say it loudly.
      this.logger.error({ account: String(id) }, 'mtproto: the stored list of private chats is malformed: taken as empty');
      return [];
    }
    return parsed as string[];
  }

  /**
   * The writer, before a private chat's first entry: each account among its parties gets it in its
   * set, stored before the entry is (the state keeps the order of writes). False when an account
   * already has the most it may (MAX_DIRECT_CHATS): then nothing of the chat may be written.
   */
  async open(chat: ChatInfo): Promise<boolean> {
    // Every account's room first: a chat refused for one is opened for none.
    if (await this.refuses(chat)) return false;
    for (const account of this.accountsOf(chat)) {
      const keys = await this.keysOf(account);
      if (keys.includes(chat.address)) continue;
      const next = [...keys, chat.address];
      await this.state.set(`dms:${account.id}`, JSON.stringify(next));
      this.#sets.set(account.id, Promise.resolve(next));
    }
    return true;
  }

  /** Whether a private chat is full for one of its accounts and new (what `open` would refuse), without writing. */
  async refuses(chat: ChatInfo): Promise<boolean> {
    for (const account of this.accountsOf(chat)) {
      const keys = await this.keysOf(account);
      if (!keys.includes(chat.address) && keys.length >= this.max) return true;
    }
    return false;
  }

  /** Another instance wrote to a private chat (its fan-out): its accounts have it here too (the writer stored that). */
  async learn(chat: ChatInfo): Promise<void> {
    for (const account of this.accountsOf(chat)) {
      const keys = await this.keysOf(account);
      if (!keys.includes(chat.address)) this.#sets.set(account.id, Promise.resolve([...keys, chat.address]));
    }
  }

  /** Everything may be stale (another instance wrote meanwhile): read the sets again when next needed. */
  forget(): void {
    this.#sets.clear();
  }
}
