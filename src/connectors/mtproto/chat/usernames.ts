// Usernames accounts choose (account.updateUsername): one account each, case-insensitive. Who
// holds a username is a claim in the state (`username:<lower case>` = the account id, set only
// when absent or free, atomic across instances), checked against what the account shows now. The
// usernames config.yaml gives stay their account's, and the canonical ids of the people of
// mappings/identities.yaml are taken too (contacts.resolveUsername answers them).
import type { StateStore } from '../../../bus/types.ts';
import type { AccountProfiles } from './account-profiles.ts';
import type { Account, Directory } from './directory.ts';
import type { People } from './people.ts';

/** Telegram's rule: 5 to 32 of a-z, 0-9 and _, a letter first, no _ last. */
export const USERNAME = /^[a-zA-Z][a-zA-Z0-9_]{3,30}[a-zA-Z0-9]$/;

/** A released claim: anyone may take the username. */
const FREE = '';
/**
 * How long a released claim is kept before it expires (absent is free too): released claims must
 * not pile up in the state, one for every username an account ever had.
 */
export const FREED_TTL_MS = 60_000;

export type UsernameOutcome = 'ok' | 'USERNAME_INVALID' | 'USERNAME_OCCUPIED' | 'USERNAME_NOT_MODIFIED';
/** A change that lost to other writers of the account's profile every time (its claim is then stale: free). */
export type ChangeOutcome = UsernameOutcome | 'busy';

export class Usernames {
  constructor(private readonly state: StateStore, private readonly directory: Directory, private readonly people: Pick<People, 'identityNamed'>, private readonly profiles: AccountProfiles) {}

  /** The account a username names now: the one that claimed it and still shows it, else the one config.yaml gives it. */
  async holder(name: string): Promise<Account | undefined> {
    const claimant = await this.#claimant(name.toLowerCase());
    return claimant ?? this.directory.byUsername(name);
  }

  /** Whether `account` may take `name` (account.checkUsername; '' is no username). */
  async check(account: Account, name: string): Promise<UsernameOutcome> {
    return this.#verdict(account, name, await this.profiles.fresh(account.id));
  }

  /** check() against the profile the account has (`own`, read by the caller). */
  async #verdict(account: Account, name: string, own: { readonly username?: string | null } | undefined): Promise<UsernameOutcome> {
    if (name === '') return 'ok';
    if (!USERNAME.test(name)) return 'USERNAME_INVALID';
    const lower = name.toLowerCase();
    const current = this.#shown(account, own);
    if (current?.toLowerCase() === lower) return 'USERNAME_NOT_MODIFIED';
    const configured = this.directory.byUsername(lower);
    if (configured !== undefined && configured.id !== account.id) return 'USERNAME_OCCUPIED';
    const person = this.people.identityNamed(lower);
    if (person !== undefined && person.mtproto !== String(account.id)) return 'USERNAME_OCCUPIED';
    const claimant = await this.#claimant(lower);
    return claimant !== undefined && claimant.id !== account.id ? 'USERNAME_OCCUPIED' : 'ok';
  }

  /** Takes `name` for the account ('' removes its username), releasing the one it had. */
  async change(account: Account, name: string): Promise<ChangeOutcome> {
    const before = await this.profiles.fresh(account.id);
    const verdict = await this.#verdict(account, name, before);
    if (verdict !== 'ok') return verdict;
    const previous = this.#shown(account, before);
    if (name === '' && previous === undefined) return 'USERNAME_NOT_MODIFIED';
    const lower = name.toLowerCase();
    // The profile shows the name before the claim is made: a claim whose account does not show
    // its name is stale (free), so a claim made first could be taken over in between.
    if (!await this.profiles.change(account.id, (current) => ({ ...current, username: name === '' ? null : name }))) return 'busy';
    // A username of its own from config.yaml needs no claim: nobody else can take it.
    if (name !== '' && this.directory.byUsername(lower)?.id !== account.id && !await this.#claim(lower, account)) {
      await this.profiles.change(account.id, (current) => ({ ...current, username: before?.username }));
      return 'USERNAME_OCCUPIED';
    }
    if (previous !== undefined && previous.toLowerCase() !== lower) await this.state.replace(keyOf(previous.toLowerCase()), String(account.id), FREE, FREED_TTL_MS);
    return 'ok';
  }

  /** The account whose claim holds `lower` and which still shows it. */
  async #claimant(lower: string): Promise<Account | undefined> {
    const raw = await this.state.get(keyOf(lower));
    if (raw === undefined || raw === FREE || !/^\d{1,20}$/.test(raw)) return undefined;
    const account = this.directory.account(BigInt(raw));
    if (account === undefined) return undefined;
    return this.#shown(account, await this.profiles.fresh(account.id))?.toLowerCase() === lower ? account : undefined;
  }

  /** Claims `lower` for the account: when nobody holds it, it is free, or its holder moved on. */
  async #claim(lower: string, account: Account): Promise<boolean> {
    const key = keyOf(lower);
    if (await this.state.setIfAbsent(key, String(account.id))) return true;
    const raw = await this.state.get(key);
    if (raw === undefined) return this.state.setIfAbsent(key, String(account.id));
    if (raw === String(account.id)) return true;
    if (raw !== FREE && await this.#claimant(lower) !== undefined) return false;
    return this.state.replace(key, raw, String(account.id));
  }

  #shown(account: Account, own: { readonly username?: string | null } | undefined): string | undefined {
    return own?.username !== undefined ? own.username ?? undefined : account.username;
  }
}

const keyOf = (lower: string) => `username:${lower}`;
