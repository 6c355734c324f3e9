// What clients ask at start about things the bridge does not have (chat folders, terms of
// service, promoted chats, top peers, stickers and GIFs, emoji keywords, link previews, a cloud
// password, content and privacy settings, translations, calls' and Passport's configuration, and what newer clients ask besides): an answer that says
// "none" in the client's layer, rather than an error each start. TDLib and the official apps ask
// these; gramjs and Telethon do when their users call them.
import { randomBytes } from 'node:crypto';
import type { MethodRegistry } from '../../api/registry.ts';
import { accountOf, badRequest, chatOfPeer, listField, objectField, register, stringField, viewOf, type ChatDeps, type ChatHandler } from './common.ts';
import { MAX_USERS_ASKED } from './users.ts';
import type { TlObject, TlValue } from '../../tl/codec.ts';

/** How long a client may keep an empty "terms of service" or "promotion" answer, in seconds. */
const EXPIRES_SECONDS = 86_400;

export function registerNothingToShow(methods: MethodRegistry, deps: ChatDeps): void {
  // Chat folders: none (a vector up to layer 174, messages.dialogFilters from 177).
  register(methods, deps, 'messages.getDialogFilters', 'user', (_call, ctx) =>
    (viewOf(deps, ctx).schema.byName.has('messages.dialogFilters') ? { _: 'messages.dialogFilters', filters: [] } : []));
  register(methods, deps, 'messages.getSuggestedDialogFilters', 'user', () => []);
  register(methods, deps, 'help.getTermsOfServiceUpdate', 'user', (_call, ctx) => ({ _: 'help.termsOfServiceUpdateEmpty', expires: ctx.now + EXPIRES_SECONDS }));
  register(methods, deps, 'help.getPromoData', 'user', (_call, ctx) => ({ _: 'help.promoDataEmpty', expires: ctx.now + EXPIRES_SECONDS }));
  register(methods, deps, 'contacts.getTopPeers', 'user', () => ({ _: 'contacts.topPeersDisabled' }));
  register(methods, deps, 'messages.getAllStickers', 'user', () => ({ _: 'messages.allStickers', hash: 0n, sets: [] }));
  // No sticker sets at all (apps ask for their animated emoji and others at start): Telegram's answer for a set it does not have.
  register(methods, deps, 'messages.getStickerSet', 'user', () => { throw badRequest('STICKERSET_INVALID'); });
  register(methods, deps, 'messages.searchStickerSets', 'user', () => ({ _: 'messages.foundStickerSets', hash: 0n, sets: [] }));
  // Rooms are joined through the operator's config, not invite links: every link is unknown here.
  register(methods, deps, 'messages.checkChatInvite', 'user', () => { throw badRequest('INVITE_HASH_INVALID'); });
  register(methods, deps, 'messages.importChatInvite', 'user', () => { throw badRequest('INVITE_HASH_INVALID'); });
  register(methods, deps, 'account.getContentSettings', 'user', () => ({ _: 'account.contentSettings' }));
  // Calls are not bridged (an empty configuration; MadelineProto asks for it where it can place calls), there is
  // no invitation text to share, and no Telegram Passport here (no countries' languages).
  register(methods, deps, 'phone.getCallConfig', 'user', () => ({ _: 'dataJSON', data: '{}' }));
  register(methods, deps, 'help.getInviteText', 'user', () => ({ _: 'help.inviteText', message: '' }));
  register(methods, deps, 'help.getPassportConfig', 'user', () => ({ _: 'help.passportConfig', hash: 0, countries_langs: { _: 'dataJSON', data: '{}' } }));
  register(methods, deps, 'account.getGlobalPrivacySettings', 'user', () => ({ _: 'globalPrivacySettings' }));
  // Stickers, GIFs and emoji keywords: none (hash 0: the client asks again next time).
  register(methods, deps, 'messages.getStickers', 'user', () => ({ _: 'messages.stickers', hash: 0n, stickers: [] }));
  register(methods, deps, 'messages.getSavedGifs', 'user', () => ({ _: 'messages.savedGifs', hash: 0n, gifs: [] }));
  register(methods, deps, 'messages.getRecentStickers', 'user', () => ({ _: 'messages.recentStickers', hash: 0n, packs: [], stickers: [], dates: [] }));
  register(methods, deps, 'messages.getFavedStickers', 'user', () => ({ _: 'messages.favedStickers', hash: 0n, packs: [], stickers: [] }));
  register(methods, deps, 'messages.getFeaturedStickers', 'user', () => ({ _: 'messages.featuredStickers', hash: 0n, count: 0, sets: [], unread: [] }));
  register(methods, deps, 'messages.getEmojiKeywords', 'user', (call) => ({ _: 'emojiKeywordsDifference', lang_code: (stringField(call, 'lang_code') ?? '').slice(0, 16), from_version: 0, version: 0, keywords: [] }));
  // Link previews: none (the bridge fetches nobody's links; a MessageMedia up to layer 193, messages.webPagePreview from 198).
  register(methods, deps, 'messages.getWebPagePreview', 'user', (_call, ctx) =>
    (viewOf(deps, ctx).schema.byName.has('messages.webPagePreview') ? { _: 'messages.webPagePreview', media: { _: 'messageMediaEmpty' }, users: [] } : { _: 'messageMediaEmpty' }));
  // No cloud password (two-step verification) exists here, and none can be set: algorithms this
  // server names "unknown", as Telegram tells a client too old to set one.
  register(methods, deps, 'account.getPassword', 'user', () => ({
    _: 'account.password', has_password: false, new_algo: { _: 'passwordKdfAlgoUnknown' }, new_secure_algo: { _: 'securePasswordKdfAlgoUnknown' }, secure_random: randomBytes(32),
  }));
  // What newer clients (TDLib's among them) also ask at start: reactions to put first, attachment-menu
  // bots, emoji statuses, saved-reaction tags, quick replies, birthdays, name colours, time zones,
  // the default auto-delete timer and sign-up notices, tag reactions, message effects, pages behind
  // links, whether Premium is needed to write to someone: none, off.
  register(methods, deps, 'messages.getTopReactions', 'user', () => ({ _: 'messages.reactions', hash: 0n, reactions: [] }));
  register(methods, deps, 'messages.getRecentReactions', 'user', () => ({ _: 'messages.reactions', hash: 0n, reactions: [] }));
  register(methods, deps, 'messages.getAttachMenuBots', 'user', () => ({ _: 'attachMenuBots', hash: 0n, bots: [], users: [] }));
  register(methods, deps, 'account.getDefaultEmojiStatuses', 'user', () => ({ _: 'account.emojiStatuses', hash: 0n, statuses: [] }));
  // Nobody is told here when a contact joins (there are no sign-ups to tell of): the setting is taken as it is.
  register(methods, deps, 'account.setContactSignUpNotification', 'user', () => true);
  // Reactions notify like messages (the app's settings screen asks, layer 178+): the defaults.
  register(methods, deps, 'account.getReactionsNotifySettings', 'user', () => ({ _: 'reactionsNotifySettings', sound: { _: 'notificationSoundDefault' }, show_previews: true }));
  register(methods, deps, 'messages.getSavedReactionTags', 'user', () => ({ _: 'messages.savedReactionTags', tags: [], hash: 0n }));
  register(methods, deps, 'messages.getQuickReplies', 'user', () => ({ _: 'messages.quickReplies', quick_replies: [], messages: [], chats: [], users: [] }));
  register(methods, deps, 'contacts.getBirthdays', 'user', () => ({ _: 'contacts.contactBirthdays', contacts: [], users: [] }));
  register(methods, deps, 'help.getPeerColors', 'user', () => ({ _: 'help.peerColors', hash: 0, colors: [] }));
  register(methods, deps, 'help.getPeerProfileColors', 'user', () => ({ _: 'help.peerColors', hash: 0, colors: [] }));
  register(methods, deps, 'help.getTimezonesList', 'user', () => ({ _: 'help.timezonesList', timezones: [], hash: 0 }));
  register(methods, deps, 'messages.getDefaultHistoryTTL', 'user', () => ({ _: 'defaultHistoryTTL', period: 0 }));
  register(methods, deps, 'messages.getDefaultTagReactions', 'user', () => ({ _: 'messages.reactions', hash: 0n, reactions: [] }));
  register(methods, deps, 'messages.getAvailableEffects', 'user', () => ({ _: 'messages.availableEffects', hash: 0, effects: [], documents: [] }));
  // No link previews here, so no page behind one (a bare WebPage up to layer 164, messages.webPage from 165).
  register(methods, deps, 'messages.getWebPage', 'user', (_call, ctx) =>
    (viewOf(deps, ctx).schema.byName.has('messages.webPage') ? { _: 'messages.webPage', webpage: { _: 'webPageEmpty', id: 0n }, chats: [], users: [] } : { _: 'webPageEmpty', id: 0n }));
  // Nobody here needs Premium (or, from layer 200, paid messages) to be written to: the same
  // answer for each user asked about, at most MAX_USERS_ASKED.
  const eachUserAsked = (answer: TlValue) => (call: TlObject) => {
    const asked = listField(call, 'id');
    if (asked.length > MAX_USERS_ASKED) throw badRequest('LIMIT_INVALID');
    return asked.map(() => answer);
  };
  register(methods, deps, 'users.getIsPremiumRequiredToContact', 'user', eachUserAsked(false));
  register(methods, deps, 'users.getRequirementsToContact', 'user', eachUserAsked({ _: 'requirementToContactEmpty' }));
  register(methods, deps, 'account.getContactSignUpNotification', 'user', () => false);
  // What apps ask when a chat opens: no sponsored messages. (A chat's scheduled messages:
  // scheduled.ts; Saved Messages' dialogs: chats.ts.)
  const noMessages = () => ({ _: 'messages.messages', messages: [], chats: [], users: [] });
  // Nobody shares a live location here (a location is text: media-as-text.ts).
  register(methods, deps, 'messages.getRecentLocations', 'user', async (call, ctx) => {
    await chatOfPeer(deps, accountOf(deps, ctx), objectField(call, 'peer'));
    return noMessages();
  });
  // Saved Messages' own dialogs (getSavedDialogs, getSavedHistory): chats.ts. None of them pinned.
  register(methods, deps, 'messages.getPinnedSavedDialogs', 'user', () => ({ _: 'messages.savedDialogs', dialogs: [], messages: [], chats: [], users: [] }));
  register(methods, deps, 'messages.getSponsoredMessages', 'user', () => ({ _: 'messages.sponsoredMessagesEmpty' }));
  // What an app's settings screens ask: no wallpapers, themes, ringtones, emoji lists for photos
  // and backgrounds, recent emoji statuses or logins on websites.
  register(methods, deps, 'account.getWallPapers', 'user', () => ({ _: 'account.wallPapers', hash: 0n, wallpapers: [] }));
  register(methods, deps, 'account.getThemes', 'user', () => ({ _: 'account.themes', hash: 0n, themes: [] }));
  register(methods, deps, 'account.getChatThemes', 'user', () => ({ _: 'account.themes', hash: 0n, themes: [] }));
  register(methods, deps, 'account.getSavedRingtones', 'user', () => ({ _: 'account.savedRingtones', hash: 0n, ringtones: [] }));
  register(methods, deps, 'account.getRecentEmojiStatuses', 'user', () => ({ _: 'account.emojiStatuses', hash: 0n, statuses: [] }));
  for (const name of ['account.getDefaultProfilePhotoEmojis', 'account.getDefaultGroupPhotoEmojis', 'account.getDefaultBackgroundEmojis']) {
    register(methods, deps, name, 'user', () => ({ _: 'emojiList', hash: 0n, document_id: [] }));
  }
  register(methods, deps, 'account.getWebAuthorizations', 'user', () => ({ _: 'account.webAuthorizations', authorizations: [], users: [] }));
  // No translations of the clients' own texts: no language packs (clients keep their built-in strings).
  register(methods, deps, 'langpack.getLanguages', 'none', () => []);
  for (const name of ['langpack.getLangPack', 'langpack.getDifference', 'langpack.getStrings', 'langpack.getLanguage']) {
    register(methods, deps, name, 'none', () => { throw badRequest('LANG_PACK_INVALID'); });
  }
}
