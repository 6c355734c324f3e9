// account.getPrivacy: who sees what of the account here, as it is (it cannot be changed: a
// bridge shows an account the same way to everyone it shares a room or private chat with).
// Presence, photo, bio and forwards reach everyone; the phone number nobody (only the account
// itself sees it); nobody can call, add it to a group (rooms are the operator's config) or find
// it by its number.
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import { badRequest, register, type ChatDeps } from './common.ts';

const EVERYONE = 'privacyValueAllowAll';
const NOBODY = 'privacyValueDisallowAll';

const RULE_OF_KEY: Readonly<Record<string, string>> = {
  inputPrivacyKeyStatusTimestamp: EVERYONE,
  inputPrivacyKeyProfilePhoto: EVERYONE,
  inputPrivacyKeyAbout: EVERYONE,
  inputPrivacyKeyForwards: EVERYONE,
  inputPrivacyKeyVoiceMessages: EVERYONE,
  inputPrivacyKeyPhoneNumber: NOBODY,
  inputPrivacyKeyAddedByPhone: NOBODY,
  inputPrivacyKeyChatInvite: NOBODY,
  inputPrivacyKeyPhoneCall: NOBODY,
  inputPrivacyKeyPhoneP2P: NOBODY,
  inputPrivacyKeyBirthday: NOBODY,
  inputPrivacyKeyStarGiftsAutoSave: NOBODY,
};

export function registerPrivacy(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'account.getPrivacy', 'user', (call) => {
    const key = call['key'] as TlObject | undefined;
    const rule = key === undefined ? undefined : RULE_OF_KEY[key._];
    if (rule === undefined) throw badRequest('PRIVACY_KEY_INVALID');
    return { _: 'account.privacyRules', rules: [{ _: rule }], chats: [], users: [] };
  });
}
