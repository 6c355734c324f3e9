// Who sees when an account is online and was last seen (account.setPrivacy with the key
// inputPrivacyKeyStatusTimestamp): everybody (the default), "my contacts" (contact-lists.ts) or
// nobody, with users always or never allowed. Kept as `privacy:<account>`
// with what else an account sets for itself (account-records.ts: read at start, consulted without
// waiting; another instance's change arrives by a note).
//
// Where it holds: other MTProto accounts see a hidden status as "recently" (what Telegram shows)
// and get no pushes of it; other networks cannot be shown something per viewer, so a status that
// is not everybody's is not published to them at all (the account shows offline there from the
// moment it hid it).
import { z } from 'zod';
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import type { TlObject } from '../tl/codec.ts';
import { AccountRecords } from './account-records.ts';
import { parseJsonAs } from './json-record.ts';
import type { ContactLists } from './contact-lists.ts';
import type { Directory } from './directory.ts';

/** Users one list (always / never) may name; past it, setPrivacy is refused (PRIVACY_TOO_LONG). */
export const MAX_PRIVACY_USERS = 100;

const Id = z.string().regex(/^\d{1,20}$/);
const RuleSchema = z.object({
  base: z.enum(['everybody', 'contacts', 'nobody']),
  allow: z.array(Id).max(MAX_PRIVACY_USERS),
  disallow: z.array(Id).max(MAX_PRIVACY_USERS),
});
export type StatusRule = z.infer<typeof RuleSchema>;

export const EVERYBODY: StatusRule = { base: 'everybody', allow: [], disallow: [] };

const BASE_RULE: Readonly<Record<StatusRule['base'], string>> = { everybody: 'privacyValueAllowAll', contacts: 'privacyValueAllowContacts', nobody: 'privacyValueDisallowAll' };

/** A status rule as PrivacyRules: the exceptions first, then the base, as Telegram lists them. */
export function statusRules(rule: StatusRule): TlObject[] {
  return [
    ...(rule.allow.length > 0 ? [{ _: 'privacyValueAllowUsers', users: rule.allow.map(BigInt) }] : []),
    ...(rule.disallow.length > 0 ? [{ _: 'privacyValueDisallowUsers', users: rule.disallow.map(BigInt) }] : []),
    { _: BASE_RULE[rule.base] },
  ];
}

export class StatusPrivacy {
  readonly #records: AccountRecords<StatusRule>;

  readonly #contacts: Pick<ContactLists, 'contactOf'> | undefined;

  constructor(state: StateStore, directory: Directory, logger: Logger, contacts?: Pick<ContactLists, 'contactOf'>) {
    this.#records = new AccountRecords(state, directory, logger, 'privacy', (raw) => parseJsonAs(RuleSchema, raw), 'status privacy');
    this.#contacts = contacts;
  }

  load(): Promise<void> {
    return this.#records.load();
  }

  /** The account's rule as known here now (everybody when it set none). */
  ruleOf(accountId: bigint): StatusRule {
    return this.#records.of(accountId) ?? EVERYBODY;
  }

  /** Whether `viewer` may see `owner`'s status (an owner that is no account has no rule). */
  shows(owner: bigint, viewer: bigint): boolean {
    if (owner === viewer) return true;
    const rule = this.#records.of(owner);
    if (rule === undefined) return true;
    const id = String(viewer);
    if (rule.disallow.includes(id)) return false;
    return rule.base === 'everybody' || rule.allow.includes(id) || (rule.base === 'contacts' && this.#contacts?.contactOf(owner, viewer) !== undefined);
  }

  /** Whether the account's status goes to everybody (and so to the other networks). */
  isPublic(accountId: bigint): boolean {
    return this.ruleOf(accountId).base === 'everybody';
  }

  async set(accountId: bigint, rule: StatusRule): Promise<void> {
    // The default is stored as nothing: an account that never hid its status has no key.
    const isDefault = rule.base === 'everybody' && rule.allow.length === 0 && rule.disallow.length === 0;
    await this.#records.set(accountId, isDefault ? undefined : rule);
  }

  /** Another instance changed the account's rule: read it now. */
  async refresh(accountId: bigint): Promise<void> {
    await this.#records.fresh(accountId);
  }
}
