// Who reacted (messages.getMessageReactionsList, messages.getMessagesReactions) and the small
// questions clients ask about a chat or a user (messages.getOnlines, messages.getCommonChats,
// messages.getPeerSettings, contacts.getStatuses, users.getFullUser's common_chats_count), asked
// by a stock gramjs client; bad parameters get their rpc_errors and the session goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import { Api, BOT_ID, CHAT_ID, PERSON_ID, bigInt, rpcError, updateRecorder, withPersonAndBot, wsEvent, type ChatClient, type GramMessage } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const Messages = (Api as unknown as { messages: Record<string, Ctor> }).messages;
const Contacts = (Api as unknown as { contacts: Record<string, Ctor> }).contacts;
const inputChat = (id = CHAT_ID) => new Api.InputPeerChat({ chatId: bigInt(id) });
const emoji = (e: string) => new Api.ReactionEmoji({ emoticon: e });

interface PeerReaction { peerId: { userId: { toString(): string } }; reaction: { emoticon: string }; my?: boolean }
interface ReactionsList { count: number; reactions: PeerReaction[]; users: Array<{ id: { toString(): string } }>; nextOffset?: string | null }

async function bobSeenBy(bot: ChatClient): Promise<unknown> {
  await bot.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) }));
  const input = await (bot as unknown as { getInputEntity(id: unknown): Promise<{ userId: unknown; accessHash: unknown }> }).getInputEntity(bigInt(PERSON_ID));
  return new Api.InputUser({ userId: input.userId, accessHash: input.accessHash });
}

test('who reacted: the whole list, one emoji, in pages; the reactions of messages now; refused: a message not there, a bad offset, a chat not seen', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const rec = updateRecorder(bot);
    const sent = await person.sendMessage(-CHAT_ID, { message: 'react to me' });
    const ev = await wsEvent(ws, 'message', (e) => e['text'] === 'react to me');
    await person.invoke(new Api.messages.SendReaction({ peer: inputChat(), msgId: sent.id, reaction: [emoji('👍')] }));
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'reaction', target: ev['id'], reactions: ['❤', '👍'] } });
    await rec.next((u) => u.className === 'UpdateEditMessage' && ((u['message'] as GramMessage).reactions?.results.length ?? 0) === 2);

    const list = (params: Record<string, unknown>) => bot.invoke(new Messages['GetMessageReactionsList']!({ peer: inputChat(), id: sent.id, limit: 10, ...params })) as Promise<ReactionsList>;
    const all = await list({});
    assert.equal(all.count, 3);
    const rows = all.reactions.map((r) => [r.peerId.userId.toString() === String(PERSON_ID) ? 'bob' : 'alice', r.reaction.emoticon]);
    assert.deepEqual(rows, [['bob', '👍'], ['alice', '❤'], ['alice', '👍']]);
    assert.equal(all.users.length, 2, 'both reactors are among the users');
    assert.ok(!all.nextOffset, 'everything fit: no next page');

    const thumbs = await list({ reaction: emoji('👍') });
    assert.equal(thumbs.count, 2);
    assert.deepEqual(thumbs.reactions.map((r) => r.reaction.emoticon), ['👍', '👍']);
    assert.equal((await list({ reaction: emoji('🎉') })).count, 0);

    const first = await list({ limit: 2 });
    assert.equal(first.reactions.length, 2);
    assert.equal(first.nextOffset, '2');
    const second = await list({ limit: 2, offset: first.nextOffset });
    assert.deepEqual(second.reactions.map((r) => r.reaction.emoticon), ['👍']);
    assert.ok(!second.nextOffset);

    assert.equal(await rpcError(list({ offset: 'x' })), 'OFFSET_INVALID');
    assert.equal(await rpcError(bot.invoke(new Messages['GetMessageReactionsList']!({ peer: inputChat(), id: 99_999, limit: 10 }))), 'MESSAGE_ID_INVALID');
    assert.equal(await rpcError(bot.invoke(new Messages['GetMessageReactionsList']!({ peer: inputChat(4242), id: sent.id, limit: 10 }))), 'PEER_ID_INVALID');

    // The reactions of messages as they are now: one update per message there (a missing id is left out).
    const now = await bot.invoke(new Messages['GetMessagesReactions']!({ peer: inputChat(), id: [sent.id, 99_999] })) as { updates: Array<{ className: string; msgId: number; reactions: { results: Array<{ reaction: { emoticon: string }; count: number }> } }> };
    assert.deepEqual(now.updates.map((u) => [u.className, u.msgId]), [['UpdateMessageReactions', sent.id]]);
    assert.deepEqual(now.updates[0]!.reactions.results.map((r) => [r.reaction.emoticon, r.count]).sort(), [['❤', 1], ['👍', 2]]);
    assert.equal(await rpcError(bot.invoke(new Messages['GetMessagesReactions']!({ peer: inputChat(), id: Array.from({ length: 101 }, (_, i) => i + 1) }))), 'MESSAGE_IDS_TOO_MUCH');
    // The session goes on.
    assert.equal((await list({})).count, 3);
  });
});

test('a group\'s members online, the groups two accounts share (paged by max_id), the peer settings, the contacts\' statuses', { timeout: 120_000 }, async () => {
  const files = { 'bridges/den.yaml': 'endpoints:\n  - websocket: den\n  - mtproto: 1002\n', 'bridges/attic.yaml': 'endpoints:\n  - websocket: attic\n  - mtproto: 1003\n' };
  await withPersonAndBot(async (_bridge, person, bot) => {
    const onlines = async () => (await bot.invoke(new Messages['GetOnlines']!({ peer: inputChat() })) as { onlines: number }).onlines;
    await person.invoke(new Api.account.UpdateStatus({ offline: false }));
    assert.equal(await onlines(), 1, 'bob is online (the bot has no status)');
    await person.invoke(new Api.account.UpdateStatus({ offline: true }));
    assert.equal(await onlines(), 0);

    const bob = await bobSeenBy(bot);
    const common = async (maxId: number, limit: number) => ((await bot.invoke(new Messages['GetCommonChats']!({ userId: bob, maxId: bigInt(maxId), limit })) as { chats: Array<{ id: { toString(): string } }> }).chats.map((c) => Number(c.id.toString())));
    assert.deepEqual(await common(0, 100), [1003, 1002, 1001]);
    assert.deepEqual(await common(0, 2), [1003, 1002]);
    assert.deepEqual(await common(1002, 2), [1001], 'the next page: below the last one');
    assert.deepEqual(((await bot.invoke(new Messages['GetCommonChats']!({ userId: new Api.InputUserSelf(), maxId: bigInt(0), limit: 10 }))) as { chats: unknown[] }).chats, [], 'none with itself');
    assert.equal(await rpcError(bot.invoke(new Messages['GetCommonChats']!({ userId: new Api.InputUser({ userId: bigInt(PERSON_ID), accessHash: bigInt(1) }), maxId: bigInt(0), limit: 10 }))), 'USER_ID_INVALID');
    const full = await bot.invoke(new Api.users.GetFullUser({ id: bob })) as { fullUser: { commonChatsCount: number } };
    assert.equal(full.fullUser.commonChatsCount, 3);

    const settings = await bot.invoke(new Messages['GetPeerSettings']!({ peer: inputChat() })) as { className: string; settings: { className: string } };
    assert.deepEqual([settings.className, settings.settings.className], ['messages.PeerSettings', 'PeerSettings']);
    assert.equal(await rpcError(bot.invoke(new Messages['GetPeerSettings']!({ peer: inputChat(4242) }))), 'PEER_ID_INVALID');
    assert.deepEqual(await person.invoke(new Contacts['GetStatuses']!({})), []);
  }, { files });
});

test('what clients ask at start about things the bridge does not have gets "none" in their layer, not an error', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot) => {
    const Help = (Api as unknown as { help: Record<string, Ctor> }).help;
    const Account = (Api as unknown as { account: Record<string, Ctor> }).account;
    const classOf = async (req: object) => ((await person.invoke(req)) as { className?: string }).className;
    assert.equal(await classOf(new Messages['GetDialogFilters']!({})), 'messages.DialogFilters');
    assert.deepEqual(await person.invoke(new Messages['GetSuggestedDialogFilters']!({})), []);
    assert.equal(await classOf(new Help['GetTermsOfServiceUpdate']!({})), 'help.TermsOfServiceUpdateEmpty');
    assert.equal(await classOf(new Help['GetPromoData']!({})), 'help.PromoDataEmpty');
    assert.equal(await classOf(new Contacts['GetTopPeers']!({ correspondents: true, offset: 0, limit: 10, hash: bigInt(0) })), 'contacts.TopPeersDisabled');
    const stickers = await person.invoke(new Messages['GetAllStickers']!({ hash: bigInt(0) })) as { className: string; sets: unknown[] };
    assert.deepEqual([stickers.className, stickers.sets], ['messages.AllStickers', []]);
    assert.equal(await classOf(new Account['GetContentSettings']!({})), 'account.ContentSettings');
    assert.equal(await classOf(new Account['GetGlobalPrivacySettings']!({})), 'GlobalPrivacySettings');
    const Phone = (Api as unknown as { phone: Record<string, Ctor> }).phone;
    assert.deepEqual([await classOf(new Phone['GetCallConfig']!({})), ((await person.invoke(new Phone['GetCallConfig']!({}))) as { data: string }).data], ['DataJSON', '{}']);
    assert.equal(await classOf(new Help['GetInviteText']!({})), 'help.InviteText');
    assert.equal(await classOf(new Help['GetPassportConfig']!({ hash: 0 })), 'help.PassportConfig');
    // Stickers, GIFs, emoji keywords: none.
    const none = async (req: object, field: string) => ((await person.invoke(req)) as Record<string, unknown>)[field];
    assert.deepEqual(await none(new Messages['GetStickers']!({ emoticon: '👍', hash: bigInt(0) }), 'stickers'), []);
    assert.deepEqual(await none(new Messages['GetSavedGifs']!({ hash: bigInt(0) }), 'gifs'), []);
    assert.deepEqual(await none(new Messages['GetRecentStickers']!({ hash: bigInt(0) }), 'stickers'), []);
    assert.deepEqual(await none(new Messages['GetFavedStickers']!({ hash: bigInt(0) }), 'stickers'), []);
    assert.deepEqual(await none(new Messages['GetFeaturedStickers']!({ hash: bigInt(0) }), 'sets'), []);
    assert.deepEqual(await none(new Messages['GetEmojiKeywords']!({ langCode: 'en' }), 'keywords'), []);
    const animatedEmoji = new (Api as unknown as Record<string, Ctor>)['InputStickerSetAnimatedEmoji']!({});
    assert.equal(await rpcError(person.invoke(new Messages['GetStickerSet']!({ stickerset: animatedEmoji, hash: 0 }))), 'STICKERSET_INVALID');
    assert.deepEqual(await none(new Messages['SearchStickerSets']!({ q: 'cats', hash: bigInt(0) }), 'sets'), []);
    // Invite links: none here (rooms come from the config); their importers are an admin's.
    assert.equal(await rpcError(person.invoke(new Messages['CheckChatInvite']!({ hash: 'AbCdEf' }))), 'INVITE_HASH_INVALID');
    assert.equal(await rpcError(person.invoke(new Messages['ImportChatInvite']!({ hash: 'AbCdEf' }))), 'INVITE_HASH_INVALID');
    assert.equal(await rpcError(person.invoke(new Messages['GetChatInviteImporters']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), offsetDate: 0, offsetUser: new Api.InputUserSelf(), limit: 10 }))), 'CHAT_ADMIN_REQUIRED');
    // Stories: none (layer 198's shapes here; the older ones in test/mtproto/api-layers.test.ts).
    const Stories = (Api as unknown as { stories: Record<string, Ctor> }).stories;
    const all = await person.invoke(new Stories['GetAllStories']!({})) as { className: string; count: number; peerStories: unknown[] };
    assert.deepEqual([all.className, all.count, all.peerStories], ['stories.AllStories', 0, []]);
    const own = await person.invoke(new Stories['GetPeerStories']!({ peer: new (Api as unknown as Record<string, Ctor>)['InputPeerSelf']!({}) })) as { stories: { stories: unknown[]; peer: { userId: { toString(): string } } } };
    assert.deepEqual([own.stories.stories, own.stories.peer.userId.toString()], [[], String(PERSON_ID)]);
    assert.equal(await rpcError(person.invoke(new Stories['GetPeerStories']!({ peer: new Api.InputPeerChat({ chatId: bigInt(424242) }) }))), 'PEER_ID_INVALID');
    assert.equal(await person.invoke(new Account['SetContactSignUpNotification']!({ silent: true })), true);
    assert.equal(await classOf(new Account['GetReactionsNotifySettings']!({})), 'ReactionsNotifySettings');
    assert.deepEqual(await none(new Account['GetRecentEmojiStatuses']!({ hash: bigInt(0) }), 'statuses'), []);
    assert.deepEqual(await none(new Messages['GetRecentLocations']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }), limit: 10, hash: bigInt(0) }), 'messages'), []);
    // No link preview (layer 198's messages.webPagePreview around an empty media).
    const preview = await person.invoke(new Messages['GetWebPagePreview']!({ message: 'see https://example.org' })) as { className: string; media: { className: string } };
    assert.deepEqual([preview.className, preview.media.className], ['messages.WebPagePreview', 'MessageMediaEmpty']);
    // No cloud password, and none can be set here.
    const password = await person.invoke(new Account['GetPassword']!({})) as { hasPassword?: boolean; newAlgo: { className: string }; secureRandom: Buffer };
    assert.deepEqual([Boolean(password.hasPassword), password.newAlgo.className, password.secureRandom.length], [false, 'PasswordKdfAlgoUnknown', 32]);
    assert.deepEqual(await none(new Contacts['GetBlocked']!({ offset: 0, limit: 10 }), 'blocked'), []);
    // Privacy as it is: presence for everyone, the phone number for nobody; something else in the key's place is refused.
    const rule = async (key: string) => ((await person.invoke(new Account['GetPrivacy']!({ key: new (Api as unknown as Record<string, Ctor>)[key]!({}) }))) as { rules: Array<{ className: string }> }).rules.map((r) => r.className);
    assert.deepEqual(await rule('InputPrivacyKeyStatusTimestamp'), ['PrivacyValueAllowAll']);
    assert.deepEqual(await rule('InputPrivacyKeyPhoneNumber'), ['PrivacyValueDisallowAll']);
    assert.deepEqual(await rule('InputPrivacyKeyChatInvite'), ['PrivacyValueDisallowAll']);
    assert.equal(await rpcError(person.invoke(new Account['GetPrivacy']!({ key: new Api.InputPeerEmpty() }))), 'INPUT_CONSTRUCTOR_INVALID', 'no privacy key at all');
    // What newer clients ask besides: none, off.
    const Help2 = (Api as unknown as { help: Record<string, Ctor> }).help;
    assert.deepEqual(await none(new Messages['GetTopReactions']!({ limit: 10, hash: bigInt(0) }), 'reactions'), []);
    assert.deepEqual(await none(new Messages['GetRecentReactions']!({ limit: 10, hash: bigInt(0) }), 'reactions'), []);
    assert.deepEqual(await none(new Messages['GetAttachMenuBots']!({ hash: bigInt(0) }), 'bots'), []);
    assert.deepEqual(await none(new Account['GetDefaultEmojiStatuses']!({ hash: bigInt(0) }), 'statuses'), []);
    assert.deepEqual(await none(new Messages['GetSavedReactionTags']!({ hash: bigInt(0) }), 'tags'), []);
    assert.deepEqual(await none(new Messages['GetQuickReplies']!({ hash: bigInt(0) }), 'quickReplies'), []);
    assert.deepEqual(await none(new Contacts['GetBirthdays']!({}), 'contacts'), []);
    assert.deepEqual(await none(new Help2['GetPeerColors']!({ hash: 0 }), 'colors'), []);
    assert.deepEqual(await none(new Help2['GetPeerProfileColors']!({ hash: 0 }), 'colors'), []);
    assert.deepEqual(await none(new Help2['GetTimezonesList']!({ hash: 0 }), 'timezones'), []);
    assert.equal(await none(new Messages['GetDefaultHistoryTTL']!({}), 'period'), 0);
    assert.equal(await person.invoke(new Account['GetContactSignUpNotification']!({})), false);
    assert.deepEqual(await none(new Messages['GetDefaultTagReactions']!({ hash: bigInt(0) }), 'reactions'), []);
    assert.deepEqual(await none(new Messages['GetAvailableEffects']!({ hash: 0 }), 'effects'), []);
    const page = await person.invoke(new Messages['GetWebPage']!({ url: 'https://example.org/', hash: 0 })) as { className: string; webpage: { className: string } };
    assert.deepEqual([page.className, page.webpage.className], ['messages.WebPage', 'WebPageEmpty']);
    const Users = (Api as unknown as { users: Record<string, Ctor> }).users;
    assert.deepEqual(await person.invoke(new Users['GetIsPremiumRequiredToContact']!({ id: [new Api.InputUserSelf(), new Api.InputUserSelf()] })), [false, false]);
    assert.equal(await rpcError(person.invoke(new Users['GetIsPremiumRequiredToContact']!({ id: Array.from({ length: 201 }, () => new Api.InputUserSelf()) }))), 'LIMIT_INVALID');
    // What an app tells about itself and its device: accepted, nothing kept; no app update, no deep link to explain.
    const A = Api as unknown as Record<string, Ctor>;
    assert.equal(await person.invoke(new Account['RegisterDevice']!({ tokenType: 2, token: 'push-token', appSandbox: false, secret: Buffer.alloc(0), otherUids: [] })), true);
    assert.equal(await person.invoke(new Account['UnregisterDevice']!({ tokenType: 2, token: 'push-token', otherUids: [] })), true);
    assert.equal(await person.invoke(new Account['UpdateDeviceLocked']!({ period: 60 })), true);
    assert.equal(await person.invoke(new Help2['SaveAppLog']!({ events: [new A['InputAppEvent']!({ time: 1, type: 'start', peer: bigInt(0), data: new A['JsonNull']!({}) })] })), true);
    assert.equal(await person.invoke(new Help2['DismissSuggestion']!({ peer: new Api.InputPeerEmpty(), suggestion: 'VALIDATE_PHONE_NUMBER' })), true);
    assert.equal(await person.invoke(new Help2['AcceptTermsOfService']!({ id: new A['DataJSON']!({ data: '{}' }) })), true);
    assert.equal(await person.invoke(new Help2['HidePromoData']!({ peer: new Api.InputPeerEmpty() })), true);
    assert.equal(await bot.invoke(new Help2['SetBotUpdatesStatus']!({ pendingUpdatesCount: 0, message: '' })), true);
    assert.equal(await classOf(new Help2['GetAppUpdate']!({ source: '' })), 'help.NoAppUpdate');
    assert.equal(await classOf(new Help2['GetDeepLinkInfo']!({ path: 'settings' })), 'help.DeepLinkInfoEmpty');
    // What settings screens ask: no wallpapers, themes, ringtones, emoji lists, recent statuses, web logins.
    assert.deepEqual(await none(new Account['GetWallPapers']!({ hash: bigInt(0) }), 'wallpapers'), []);
    assert.deepEqual(await none(new Account['GetThemes']!({ format: 'android', hash: bigInt(0) }), 'themes'), []);
    assert.deepEqual(await none(new Account['GetChatThemes']!({ hash: bigInt(0) }), 'themes'), []);
    assert.deepEqual(await none(new Account['GetSavedRingtones']!({ hash: bigInt(0) }), 'ringtones'), []);
    assert.deepEqual(await none(new Account['GetRecentEmojiStatuses']!({ hash: bigInt(0) }), 'statuses'), []);
    assert.deepEqual(await none(new Account['GetDefaultProfilePhotoEmojis']!({ hash: bigInt(0) }), 'documentId'), []);
    assert.deepEqual(await none(new Account['GetWebAuthorizations']!({}), 'authorizations'), []);
    // No language packs: the client keeps its own strings.
    const Langpack = (Api as unknown as { langpack: Record<string, Ctor> }).langpack;
    assert.deepEqual(await person.invoke(new Langpack['GetLanguages']!({ langPack: 'tdesktop' })), []);
    assert.equal(await rpcError(person.invoke(new Langpack['GetLangPack']!({ langPack: 'tdesktop', langCode: 'en' }))), 'LANG_PACK_INVALID');
  });
});

test('what apps report and ask as they show messages: a voice message played, messages received, spam reported, views, edit data, scheduled and saved messages, contacts', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, _bot, ws) => {
    const Updates = (Api as unknown as { updates: Record<string, Ctor> }).updates;
    const own = await person.sendMessage(-CHAT_ID, { message: 'mine' });
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'from alice' } });
    const theirs = [...await person.getMessages(-CHAT_ID, { limit: 5 })].find((m) => m.message === 'from alice')!;
    const state = await person.invoke(new Updates['GetState']!({})) as { pts: number };
    // Played a voice message / opened a mention: nothing here is unopened, so nothing moves.
    const read = await person.invoke(new Messages['ReadMessageContents']!({ id: [own.id, theirs.id] })) as { pts: number; ptsCount: number };
    assert.deepEqual([read.pts, read.ptsCount], [state.pts, 0]);
    assert.deepEqual(await person.invoke(new Messages['ReceivedMessages']!({ maxId: theirs.id })), []);
    // Spam reported: answered, and a bad peer refused.
    assert.equal(await person.invoke(new Messages['ReportSpam']!({ peer: inputChat() })), true);
    assert.equal(await rpcError(person.invoke(new Messages['ReportSpam']!({ peer: inputChat(4242) }))), 'PEER_ID_INVALID');
    // A message reported (layer 198's dialogue): asked with no option, the reasons; with one, reported. A message not in the chat is refused.
    const report = (option: Buffer, id = theirs.id) => person.invoke(new Messages['Report']!({ peer: inputChat(), id: [id], option, message: 'rude' })) as Promise<{ className: string; options?: Array<{ text: string; option: Buffer }> }>;
    const offered = await report(Buffer.alloc(0));
    assert.equal(offered.className, 'ReportResultChooseOption');
    assert.ok(offered.options!.length > 1, 'reasons to choose from');
    assert.equal((await report(Buffer.from(offered.options![0]!.option))).className, 'ReportResultReported');
    assert.equal(await rpcError(report(Buffer.from('spam'), 99_999)), 'MESSAGE_ID_INVALID');
    const Account = (Api as unknown as { account: Record<string, Ctor> }).account;
    assert.equal(await person.invoke(new Account['ReportPeer']!({ peer: inputChat(), reason: new (Api as unknown as Record<string, Ctor>)['InputReportReasonSpam']!({}), message: '' })), true);
    // Views: one empty counter per id asked (groups and private chats count none); at most 100 ids.
    const views = await person.invoke(new Messages['GetMessagesViews']!({ peer: inputChat(), id: [own.id, theirs.id, 99_999], increment: true })) as { views: Array<{ className: string; views?: number }> };
    assert.deepEqual(views.views.map((v) => [v.className, v.views ?? 'none']), [['MessageViews', 'none'], ['MessageViews', 'none'], ['MessageViews', 'none']]);
    assert.equal(await rpcError(person.invoke(new Messages['GetMessagesViews']!({ peer: inputChat(), id: Array.from({ length: 101 }, (_, i) => i + 1), increment: false }))), 'LIMIT_INVALID');
    assert.equal(await rpcError(person.invoke(new Messages['GetMessagesViews']!({ peer: inputChat(4242), id: [own.id], increment: false }))), 'PEER_ID_INVALID');
    // Edit data: one's own text is no caption; someone else's message or none at all is refused.
    const edit = await person.invoke(new Messages['GetMessageEditData']!({ peer: inputChat(), id: own.id })) as { caption?: boolean };
    assert.equal(Boolean(edit.caption), false);
    assert.equal(await rpcError(person.invoke(new Messages['GetMessageEditData']!({ peer: inputChat(), id: theirs.id }))), 'MESSAGE_AUTHOR_REQUIRED');
    assert.equal(await rpcError(person.invoke(new Messages['GetMessageEditData']!({ peer: inputChat(), id: 99_999 }))), 'MESSAGE_ID_INVALID');
    // Nothing queued (chat-scheduled.test.ts queues), no Saved Messages dialogs, no contacts, no sponsored messages.
    assert.deepEqual(((await person.invoke(new Messages['GetScheduledHistory']!({ peer: inputChat(), hash: bigInt(0) }))) as { messages: unknown[] }).messages, []);
    assert.deepEqual(((await person.invoke(new Messages['GetScheduledMessages']!({ peer: inputChat(), id: [1] }))) as { messages: unknown[] }).messages, []);
    assert.equal(await rpcError(person.invoke(new Messages['GetScheduledHistory']!({ peer: inputChat(4242), hash: bigInt(0) }))), 'PEER_ID_INVALID');
    const saved = await person.invoke(new Messages['GetSavedDialogs']!({ offsetDate: 0, offsetId: 0, offsetPeer: new Api.InputPeerEmpty(), limit: 20, hash: bigInt(0) })) as { className: string; dialogs: unknown[] };
    assert.deepEqual([saved.className, saved.dialogs], ['messages.SavedDialogs', []]);
    assert.deepEqual(((await person.invoke(new Messages['GetPinnedSavedDialogs']!({}))) as { dialogs: unknown[] }).dialogs, []);
    assert.deepEqual(((await person.invoke(new Messages['GetSavedHistory']!({ peer: new (Api as unknown as Record<string, Ctor>)['InputPeerSelf']!({}), offsetId: 0, offsetDate: 0, addOffset: 0, limit: 20, maxId: 0, minId: 0, hash: bigInt(0) }))) as { messages: unknown[] }).messages, []);
    assert.deepEqual(await person.invoke(new Contacts['GetContactIDs']!({ hash: bigInt(0) })), []);
    const imported = await person.invoke(new Contacts['ImportContacts']!({ contacts: [new (Api as unknown as Record<string, Ctor>)['InputPhoneContact']!({ clientId: bigInt(1), phone: '+15550100', firstName: 'Bob', lastName: '' })] })) as { imported: unknown[]; users: unknown[] };
    assert.deepEqual([imported.imported, imported.users], [[], []], 'nobody is found by phone number');
    assert.equal(((await person.invoke(new Messages['GetSponsoredMessages']!({ peer: inputChat() }))) as { className: string }).className, 'messages.SponsoredMessagesEmpty');
    // Nothing of it published anything: the person's pts did not move.
    assert.equal(((await person.invoke(new Updates['GetState']!({}))) as { pts: number }).pts, state.pts);
  });
});

test('a bridged room is the operator\'s: what a group admin could change is refused as to a member who is not one, and changes nothing', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, _bot, ws) => {
    const chatId = bigInt(CHAT_ID);
    const bot = new Api.InputUser({ userId: bigInt(BOT_ID), accessHash: bigInt(0) });
    for (const req of [
      new Messages['EditChatTitle']!({ chatId, title: 'mine now' }),
      new Messages['DeleteChatUser']!({ chatId, userId: new Api.InputUserSelf() }),
      new Messages['AddChatUser']!({ chatId, userId: bot, fwdLimit: 10 }),
      new Messages['EditChatAdmin']!({ chatId, userId: bot, isAdmin: true }),
      new Messages['ExportChatInvite']!({ peer: inputChat() }),
      new Messages['MigrateChat']!({ chatId }),
    ]) assert.equal(await rpcError(person.invoke(req)), 'CHAT_ADMIN_REQUIRED', (req as { className?: string }).className);
    const full = await person.invoke(new Api.messages.GetFullChat({ chatId })) as { chats: Array<{ title: string }>; fullChat: { participants: { participants: unknown[] } } };
    assert.equal(full.chats[0]!.title, 'lobby');
    assert.equal(full.fullChat.participants.participants.length, 2, 'the person is still a member');
    // And the room goes on: nothing was published for those calls.
    await person.sendMessage(-CHAT_ID, { message: 'still a member' });
    assert.equal((await wsEvent(ws, 'message'))['text'], 'still a member');
  });
});

test('chat folders before layer 177 are a bare vector', () => {
  const codec = new LayeredCodec();
  assert.ok(codec.schemaFor(150).byName.get('messages.dialogFilters') === undefined, 'no messages.dialogFilters in layer 150');
  assert.ok(codec.encodeResult(150, 'messages.getDialogFilters', []).length > 0);
  assert.ok(codec.encodeResult(198, 'messages.getDialogFilters', { _: 'messages.dialogFilters', filters: [] }).length > 0);
});

test('who read a message of the account: everyone whose read mark reached it, with when; someone else\'s message: nobody', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot, ws) => {
    const sent = await person.sendMessage(-CHAT_ID, { message: 'did you read this?' });
    const ev = await wsEvent(ws, 'message', (e) => e['text'] === 'did you read this?');
    const before = Math.floor(Date.now() / 1000) - 1;
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'receipt', target: ev['id'], receipt: 'displayed' } });
    await bot.invoke(new Api.messages.ReadHistory({ peer: inputChat(), maxId: 0 }));
    const ask = (client: typeof person, msgId: number) => client.invoke(new Messages['GetMessageReadParticipants']!({ peer: inputChat(), msgId })) as Promise<Array<{ userId: { toString(): string }; date: number }>>;
    let readers: Array<{ userId: { toString(): string }; date: number }> = [];
    for (let i = 0; i < 100 && readers.length < 2; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      readers = await ask(person, sent.id);
    }
    assert.equal(readers.length, 2, 'alice (WS) and the bot');
    assert.ok(readers.some((r) => r.userId.toString() === String(BOT_ID)));
    assert.ok(readers.every((r) => r.date >= before && r.date <= Math.floor(Date.now() / 1000) + 1));
    const botsOwn = await bot.sendMessage(-CHAT_ID, { message: 'the bot speaks' });
    assert.deepEqual(await ask(person, botsOwn.id), [], 'not his message');
    assert.ok(new LayeredCodec().schemaFor(150).byName.get('readParticipantDate') === undefined, 'layer 150 answers bare user ids');
  });
});
