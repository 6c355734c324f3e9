// The name and bio an account set from its client (account.updateProfile), over the ones
// config.yaml provisions: remembered in the state (`profile:<id>`, account-records.ts) and shown
// wherever the account shows: its user object to MTProto clients, its name on the events it sends
// (so other networks see it), the forward line, the contact search.
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import { AccountRecords } from './account-records.ts';
import type { Account, Directory } from './directory.ts';

/** Telegram's limits: 64 characters per name, 70 for the bio (non-premium). */
export const MAX_NAME_LENGTH = 64;
export const MAX_ABOUT_LENGTH = 70;

export interface OwnProfile {
  readonly firstName: string;
  readonly lastName?: string;
  readonly about?: string;
}

/** What a client asked to change; a field left out keeps its value. */
export interface ProfileChange {
  readonly firstName?: string;
  readonly lastName?: string;
  readonly about?: string;
}

export class AccountProfiles extends AccountRecords<OwnProfile> {
  constructor(state: StateStore, directory: Directory, logger: Logger, now: () => number = Date.now) {
    super(state, directory, logger, 'profile', parseProfile, 'name', now);
  }

  /** The account as it shows now: with the name it set, if it set one. */
  shown(account: Account): Account {
    const own = this.of(account.id);
    return own === undefined ? account : { ...account, firstName: own.firstName, lastName: own.lastName };
  }

  /** The bio it set, if any. */
  about(account: Account): string | undefined {
    return this.of(account.id)?.about;
  }
}

/**
 * The profile after a change, or the rpc_error message that refuses it: an empty first name
 * (`FIRST_NAME_INVALID`), a name longer than 64 characters (`FIRST_NAME_INVALID` /
 * `LASTNAME_INVALID`), a bio longer than 70 (`ABOUT_TOO_LONG`). Line breaks and control
 * characters become spaces and the ends are trimmed, as Telegram does; an empty last name or bio
 * is none.
 */
export function changedProfile(account: Account, current: OwnProfile | undefined, change: ProfileChange): OwnProfile | string {
  const firstName = change.firstName !== undefined ? clean(change.firstName) : current?.firstName ?? account.firstName;
  const lastName = change.lastName !== undefined ? clean(change.lastName) : current !== undefined ? current.lastName : account.lastName;
  const about = change.about !== undefined ? clean(change.about) : current?.about;
  if (firstName === '' || [...firstName].length > MAX_NAME_LENGTH) return 'FIRST_NAME_INVALID';
  if (lastName !== undefined && [...lastName].length > MAX_NAME_LENGTH) return 'LASTNAME_INVALID';
  if (about !== undefined && [...about].length > MAX_ABOUT_LENGTH) return 'ABOUT_TOO_LONG';
  return { firstName, ...(lastName ? { lastName } : {}), ...(about ? { about } : {}) };
}

function clean(s: string): string {
  return s.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').trim();
}

function parseProfile(raw: string): OwnProfile | undefined {
  try {
    const v = JSON.parse(raw) as Partial<Record<keyof OwnProfile, unknown>>;
    const optional = (x: unknown): boolean => x === undefined || typeof x === 'string';
    if (typeof v.firstName !== 'string' || v.firstName === '' || !optional(v.lastName) || !optional(v.about)) return undefined;
    return v as OwnProfile;
  } catch {
    return undefined;
  }
}
