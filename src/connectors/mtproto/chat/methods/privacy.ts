// account.getPrivacy / account.setPrivacy: who sees what of the account here. Who sees its online
// status and last seen time is the account's to choose (status-privacy.ts): everybody, "my
// contacts" or nobody, with users always or never allowed. The rest is as the bridge is and
// cannot be changed (a bridge shows an account the same way to everyone it shares a room or
// private chat with): photo, bio, forwards and voice messages reach everyone; the phone number
// nobody (only the account itself sees it); nobody can call, add it to a group (rooms are the
// operator's config) or find it by its number. Setting one of those to what it is answers it;
// to anything else is refused (PRIVACY_VALUE_INVALID).
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import type { Account } from '../directory.ts';
import type { View } from '../render.ts';
import { MAX_PRIVACY_USERS, statusRules, type StatusRule } from '../status-privacy.ts';
import { badRequest, listField, register, userOfInput, viewOf, type ChatDeps } from './common.ts';
import { objects } from './message-input.ts';
import { tellAccount } from './own-news.ts';
import { publishStatus } from './users.ts';

const EVERYONE = 'privacyValueAllowAll';
const NOBODY = 'privacyValueDisallowAll';
const CONTACTS = 'privacyValueAllowContacts';
const STATUS_KEY = 'inputPrivacyKeyStatusTimestamp';

/** The keys the bridge fixes, and their one rule. */
const FIXED_RULE_OF_KEY: Readonly<Record<string, string>> = {
  inputPrivacyKeyProfilePhoto: EVERYONE,
  inputPrivacyKeyAbout: EVERYONE,
  inputPrivacyKeyForwards: EVERYONE,
  inputPrivacyKeyVoiceMessages: EVERYONE,
  inputPrivacyKeyPhoneNumber: NOBODY,
  // Found by number (contacts.importContacts) only by one's own contacts: Telegram's stricter choice.
  inputPrivacyKeyAddedByPhone: CONTACTS,
  inputPrivacyKeyChatInvite: NOBODY,
  inputPrivacyKeyPhoneCall: NOBODY,
  inputPrivacyKeyPhoneP2P: NOBODY,
  inputPrivacyKeyBirthday: NOBODY,
  inputPrivacyKeyStarGiftsAutoSave: NOBODY,
};

async function rulesAnswer(deps: ChatDeps, view: View, rules: TlObject[], userIds: readonly string[]): Promise<TlObject> {
  return { _: 'account.privacyRules', rules, chats: [], users: await deps.render.users(userIds.map(BigInt), view) };
}

/**
 * The status rule the client's InputPrivacyRules ask for, or the rpc_error message refusing them:
 * a rule the bridge has no way to honour (chat participants, close friends, premium users, bots:
 * PRIVACY_VALUE_INVALID), a user that is nobody here (USER_ID_INVALID), a list past
 * MAX_PRIVACY_USERS (PRIVACY_TOO_LONG). No base rule is "nobody", as Telegram takes it.
 */
async function statusRuleOf(deps: ChatDeps, account: Account, input: readonly TlObject[]): Promise<StatusRule | string> {
  let base: StatusRule['base'] = 'nobody';
  const allow = new Set<string>();
  const disallow = new Set<string>();
  for (const rule of input) {
    switch (rule._) {
      case 'inputPrivacyValueAllowAll': base = 'everybody'; break;
      case 'inputPrivacyValueAllowContacts': base = 'contacts'; break;
      case 'inputPrivacyValueDisallowAll': base = 'nobody'; break;
      case 'inputPrivacyValueAllowUsers':
      case 'inputPrivacyValueDisallowUsers': {
        const into = rule._ === 'inputPrivacyValueAllowUsers' ? allow : disallow;
        for (const user of objects(listField(rule, 'users'))) {
          const id = await userOfInput(deps, account, user);
          if (id === undefined || id === account.id) return 'USER_ID_INVALID';
          into.add(String(id));
        }
        break;
      }
      default:
        return 'PRIVACY_VALUE_INVALID';
    }
  }
  if (allow.size > MAX_PRIVACY_USERS || disallow.size > MAX_PRIVACY_USERS) return 'PRIVACY_TOO_LONG';
  // A user in both lists is never allowed.
  for (const id of disallow) allow.delete(id);
  return { base, allow: [...allow], disallow: [...disallow] };
}

export function registerPrivacy(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'account.getPrivacy', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const key = (call['key'] as TlObject | undefined)?._;
    if (key === STATUS_KEY) {
      const rule = deps.statusPrivacy.ruleOf(view.account.id);
      return rulesAnswer(deps, view, statusRules(rule), [...rule.allow, ...rule.disallow]);
    }
    const fixed = key === undefined ? undefined : FIXED_RULE_OF_KEY[key];
    if (fixed === undefined) throw badRequest('PRIVACY_KEY_INVALID');
    return rulesAnswer(deps, view, [{ _: fixed }], []);
  });

  register(methods, deps, 'account.setPrivacy', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const account = view.account;
    const key = (call['key'] as TlObject | undefined)?._;
    const input = objects(listField(call, 'rules'));
    if (key !== STATUS_KEY) {
      const fixed = key === undefined ? undefined : FIXED_RULE_OF_KEY[key];
      if (fixed === undefined) throw badRequest('PRIVACY_KEY_INVALID');
      // Only what it already is: the one rule, asked for in its input form.
      if (input.length !== 1 || input[0]!._ !== `input${fixed[0]!.toUpperCase()}${fixed.slice(1)}`) throw badRequest('PRIVACY_VALUE_INVALID');
      return rulesAnswer(deps, view, [{ _: fixed }], []);
    }
    if (account.bot) throw badRequest('BOT_METHOD_INVALID');
    const rule = await statusRuleOf(deps, account, input);
    if (typeof rule === 'string') throw badRequest(rule);
    const wasPublic = deps.statusPrivacy.isPublic(account.id);
    await deps.statusPrivacy.set(account.id, rule);
    // The other networks saw it online: from now they see it offline, and hear no more.
    if (wasPublic && rule.base !== 'everybody') await publishStatus(deps, ctx, account, 'offline', false);
    await tellAccount(deps, account, { kind: 'privacy', account: String(account.id) }, ctx.channel?.key);
    return rulesAnswer(deps, view, statusRules(rule), [...rule.allow, ...rule.disallow]);
  });
}
