// The name, bio and username an account set from its client (account.updateProfile,
// account.updateUsername), over what config.yaml provisions: remembered in the state
// (`profile:<id>`, account-records.ts) and shown wherever the account shows: its user object to
// MTProto clients, its name on the events it sends (so other networks see it), the forward line,
// the contact search.
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { AccountRecords } from './account-records.ts';
import type { Account, Directory } from './directory.ts';

/** Telegram's limits: 64 characters per name, 70 for the bio (non-premium), 120 for a bot's, 512 for a bot's description. */
export const MAX_NAME_LENGTH = 64;
export const MAX_ABOUT_LENGTH = 70;
export const MAX_BOT_ABOUT_LENGTH = 120;
export const MAX_DESCRIPTION_LENGTH = 512;

/** What an account set itself; a part it never set shows what config.yaml gives. */
export interface OwnProfile {
  /** Set together: a new name replaces both. */
  readonly name?: { readonly first: string; readonly last?: string };
  readonly about?: string;
  /** null: it removed its username. */
  readonly username?: string | null;
  /** A bot's description: what its empty private chat shows ("What can this bot do?"). */
  readonly description?: string;
}

/** What a client asked to change; a field left out keeps its value. */
export interface ProfileChange {
  readonly firstName?: string;
  readonly lastName?: string;
  readonly about?: string;
  readonly description?: string;
}

export class AccountProfiles extends AccountRecords<OwnProfile> {
  constructor(state: StateStore, directory: Directory, logger: Logger, now: () => number = Date.now) {
    super(state, directory, logger, 'profile', parseProfile, 'profile', now);
  }

  /** The account as it shows now: with the name and username it set, if it set them. */
  shown(account: Account): Account {
    return shownWith(account, this.of(account.id));
  }

  /** The bio it set, if any. */
  about(account: Account): string | undefined {
    return this.of(account.id)?.about;
  }

  /** A bot's description, if it set one. */
  description(account: Account): string | undefined {
    return this.of(account.id)?.description;
  }
}

/** An account with what it set over what config.yaml gives. */
export function shownWith(account: Account, own: OwnProfile | undefined): Account {
  if (own === undefined) return account;
  return {
    ...account,
    ...(own.name !== undefined ? { firstName: own.name.first, lastName: own.name.last } : {}),
    ...(own.username !== undefined ? { username: own.username ?? undefined } : {}),
  };
}

/**
 * The profile after a change, or the rpc_error message that refuses it: an empty first name
 * (`FIRST_NAME_INVALID`), a name longer than 64 characters (`FIRST_NAME_INVALID` /
 * `LASTNAME_INVALID`), a bio longer than 70, a bot's than 120 (`ABOUT_TOO_LONG`), a bot's
 * description longer than 512 (`BOT_DESCRIPTION_INVALID`). Line breaks (but in a description) and
 * control characters become spaces and the ends are trimmed, as Telegram does; an empty last
 * name, bio or description is none.
 */
export function changedProfile(account: Account, current: OwnProfile | undefined, change: ProfileChange): OwnProfile | string {
  const shown = shownWith(account, current);
  const renamed = change.firstName !== undefined || change.lastName !== undefined;
  const first = change.firstName !== undefined ? clean(change.firstName) : shown.firstName;
  const last = change.lastName !== undefined ? clean(change.lastName) : shown.lastName;
  const about = change.about !== undefined ? clean(change.about) : current?.about;
  const description = change.description !== undefined ? change.description.replace(/[^\P{Cc}\n]+/gu, ' ').trim() : current?.description;
  if (first === '' || [...first].length > MAX_NAME_LENGTH) return 'FIRST_NAME_INVALID';
  if (last !== undefined && [...last].length > MAX_NAME_LENGTH) return 'LASTNAME_INVALID';
  if (about !== undefined && [...about].length > (account.bot ? MAX_BOT_ABOUT_LENGTH : MAX_ABOUT_LENGTH)) return 'ABOUT_TOO_LONG';
  if (description !== undefined && [...description].length > MAX_DESCRIPTION_LENGTH) return 'BOT_DESCRIPTION_INVALID';
  const name = renamed ? { first, ...(last ? { last } : {}) } : current?.name;
  return {
    ...(name !== undefined ? { name } : {}),
    ...(about ? { about } : {}),
    ...(current?.username !== undefined ? { username: current.username } : {}),
    ...(description ? { description } : {}),
  };
}

/** A name or bio as Telegram keeps one: line breaks and control characters become spaces, the ends trimmed. */
export function clean(s: string): string {
  return s.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim();
}

const optionalString = (x: unknown): boolean => x === undefined || typeof x === 'string';

function parseProfile(raw: string): OwnProfile | undefined {
  try {
    const v = JSON.parse(raw) as Record<string, unknown> | null;
    if (typeof v !== 'object' || v === null || !optionalString(v['about'])) return undefined;
    const about = typeof v['about'] === 'string' && v['about'] !== '' ? { about: v['about'] } : {};
    const description = typeof v['description'] === 'string' && v['description'] !== '' ? { description: v['description'] } : {};
    const username = typeof v['username'] === 'string' || v['username'] === null ? { username: v['username'] } : {};
    const n = v['name'] as Record<string, unknown> | undefined;
    if (n !== undefined && (typeof n !== 'object' || n === null || typeof n['first'] !== 'string' || n['first'] === '' || !optionalString(n['last']))) return undefined;
    const name = n !== undefined ? { name: { first: n['first'] as string, ...(typeof n['last'] === 'string' && n['last'] !== '' ? { last: n['last'] } : {}) } } : {};
    return { ...name, ...about, ...username, ...description };
  } catch {
    return undefined;
  }
}
