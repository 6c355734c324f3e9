// Who sees an account's online status (account.setPrivacy, inputPrivacyKeyStatusTimestamp): by
// default everybody; hidden, other MTProto accounts see "recently" and get no pushes of it, and the
// other networks see it offline once and hear nothing more; users always allowed see it. The other
// keys are as the bridge is: asking for what they are answers, anything else is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Directory } from '../../src/connectors/mtproto/chat/directory.ts';
import { StatusPrivacy, statusRules } from '../../src/connectors/mtproto/chat/status-privacy.ts';
import { Api, BOT_ID, CHAT_ID, PERSON_ID, bigInt, rpcError, serverUserHash, updateRecorder, withPersonAndBot, withSecondSession, wsEvent, type ChatClient, type GramUpdate } from './chat-harness.ts';

type Ctor = new (a: Record<string, unknown>) => object;
const A = Api as unknown as Record<string, Ctor> & { account: Record<string, Ctor>; messages: Record<string, Ctor> };
const statusKey = () => new A['InputPrivacyKeyStatusTimestamp']!({});
const rule = (name: string, fields: Record<string, unknown> = {}) => new A[name]!(fields);

interface Rules { rules: Array<{ className: string; users?: Array<{ toString(): string }> }>; users: Array<{ id: { toString(): string } }> }
const shape = (r: Rules) => r.rules.map((x) => (x.users !== undefined ? `${x.className}(${x.users.map(String).join(',')})` : x.className));

/** Bob's status as the bot sees it now (the group's full chat lists him). */
async function bobAsBotSees(bot: ChatClient): Promise<string> {
  const full = await bot.invoke(new A.messages['GetFullChat']!({ chatId: bigInt(CHAT_ID) })) as { users: Array<{ id: { toString(): string }; status?: { className: string } }> };
  return full.users.find((u) => u.id.toString() === String(PERSON_ID))?.status?.className ?? 'none';
}

test('status privacy: hidden from the other accounts ("recently", no pushes) and the other networks (offline once, then nothing); users always allowed see it; back to everybody', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const set = (rules: object[]) => person.invoke(new A.account['SetPrivacy']!({ key: statusKey(), rules })) as Promise<Rules>;
    const online = () => person.invoke(new Api.account.UpdateStatus({ offline: false }));
    const botPushes = updateRecorder(bot);
    const statusPushes = () => botPushes.all.filter((u: GramUpdate) => u.className === 'UpdateUserStatus' && String(u['userId']) === String(PERSON_ID)).length;
    assert.deepEqual(shape(await person.invoke(new A.account['GetPrivacy']!({ key: statusKey() })) as Rules), ['PrivacyValueAllowAll'], 'everybody by default');

    // Everybody: online everywhere.
    await online();
    assert.equal((await wsEvent(ws, 'presence'))['state'], 'available');
    assert.equal(await bobAsBotSees(bot), 'UserStatusOnline');
    await new Promise((r) => setTimeout(r, 200));
    const pushedBefore = statusPushes();
    assert.ok(pushedBefore >= 1, 'the bot was told');

    await withSecondSession(bridge, async (second) => {
      const told = updateRecorder(second);
      // Nobody: WS sees him go offline once, without a last-seen time; the bot sees "recently".
      assert.deepEqual(shape(await set([rule('InputPrivacyValueDisallowAll')])), ['PrivacyValueDisallowAll']);
      const gone = await wsEvent(ws, 'presence');
      assert.deepEqual([gone['state'], gone['lastSeen']], ['offline', undefined]);
      assert.equal(await bobAsBotSees(bot), 'UserStatusRecently');
      // His other session was told.
      const privacy = await told.next((u) => u.className === 'UpdatePrivacy');
      assert.deepEqual((privacy['rules'] as Array<{ className: string }>).map((r) => r.className), ['PrivacyValueDisallowAll']);
    });

    // Online again while hidden: nothing reaches WS (the next thing WS gets is a message), the bot still sees "recently" and was pushed nothing.
    await online();
    await person.sendMessage(-CHAT_ID, { message: 'marker' });
    const next = await ws.next((f) => f.type === 'event' && ['presence', 'message'].includes((f as unknown as { event: { kind: string } }).event.kind));
    assert.equal((next as unknown as { event: { kind: string } }).event.kind, 'message', 'no presence published while hidden');
    assert.equal(await bobAsBotSees(bot), 'UserStatusRecently');
    assert.equal(statusPushes(), pushedBefore, 'no status pushed to the bot while hidden');
    const onlines = async (who: ChatClient) => ((await who.invoke(new A.messages['GetOnlines']!({ peer: new Api.InputPeerChat({ chatId: bigInt(CHAT_ID) }) }))) as { onlines: number }).onlines;
    assert.equal(await onlines(bot), 0, 'nor counted among the group\'s online members');
    assert.equal(await onlines(person), 1, 'he counts himself');

    // Nobody but the bot: the bot sees him online; the rule reads back with the bot among its users.
    const botUser = new Api.InputUser({ userId: bigInt(BOT_ID), accessHash: await serverUserHash(bridge, BigInt(BOT_ID)) });
    const allowed = await set([rule('InputPrivacyValueAllowUsers', { users: [botUser] }), rule('InputPrivacyValueDisallowAll')]);
    assert.deepEqual(shape(allowed), [`PrivacyValueAllowUsers(${BOT_ID})`, 'PrivacyValueDisallowAll']);
    assert.deepEqual(allowed.users.map((u) => u.id.toString()), [String(BOT_ID)]);
    await online();
    assert.equal(await bobAsBotSees(bot), 'UserStatusOnline');
    assert.deepEqual(shape(await person.invoke(new A.account['GetPrivacy']!({ key: statusKey() })) as Rules), [`PrivacyValueAllowUsers(${BOT_ID})`, 'PrivacyValueDisallowAll']);

    // Everybody again: published to WS again.
    assert.deepEqual(shape(await set([rule('InputPrivacyValueAllowAll')])), ['PrivacyValueAllowAll']);
    await online();
    assert.equal((await wsEvent(ws, 'presence'))['state'], 'available');
  });
});

test('status privacy refused: rules the bridge cannot honour, users nobody knows, a bot, a fixed key set to something else; nothing changes', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (_bridge, person, bot) => {
    const set = (key: object, rules: object[], who: ChatClient = person) => who.invoke(new A.account['SetPrivacy']!({ key, rules }));
    assert.equal(await rpcError(set(statusKey(), [rule('InputPrivacyValueAllowChatParticipants', { chats: [bigInt(CHAT_ID)] })])), 'PRIVACY_VALUE_INVALID');
    assert.equal(await rpcError(set(statusKey(), [rule('InputPrivacyValueAllowAll'), rule('InputPrivacyValueDisallowContacts')])), 'PRIVACY_VALUE_INVALID', 'everybody but contacts is not offered');
    assert.equal(await rpcError(set(statusKey(), [rule('InputPrivacyValueAllowUsers', { users: [new Api.InputUser({ userId: bigInt(424242), accessHash: bigInt(1) })] })])), 'USER_ID_INVALID');
    assert.equal(await rpcError(set(statusKey(), [rule('InputPrivacyValueAllowUsers', { users: [new Api.InputUserSelf() as object] })])), 'USER_ID_INVALID', 'oneself');
    assert.equal(await rpcError(set(statusKey(), [rule('InputPrivacyValueDisallowAll')], bot)), 'BOT_METHOD_INVALID');
    const phone = () => new A['InputPrivacyKeyPhoneNumber']!({});
    assert.equal(await rpcError(set(phone(), [rule('InputPrivacyValueAllowAll')])), 'PRIVACY_VALUE_INVALID', 'the number stays hidden');
    assert.deepEqual(shape(await set(phone(), [rule('InputPrivacyValueDisallowAll')]) as Rules), ['PrivacyValueDisallowAll'], 'what it is: answered');
    assert.equal(await rpcError(set(new Api.InputPeerEmpty() as object, [rule('InputPrivacyValueAllowAll')])), 'INPUT_CONSTRUCTOR_INVALID');
    assert.deepEqual(shape(await person.invoke(new A.account['GetPrivacy']!({ key: statusKey() })) as Rules), ['PrivacyValueAllowAll'], 'nothing changed');
  });
});

test('the rule store: who sees whom, the default stored as nothing, a malformed value is the default, the rules as clients read them', async () => {
  const state = new LocalState().store('mtproto');
  const directory = new Directory([{ id: 1, bot: false, firstName: 'A', phone: '+15550001', rooms: ['*'] }], [], { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' });
  const privacy = new StatusPrivacy(state, directory, silentLogger);
  await privacy.load();
  assert.equal(privacy.shows(1n, 2n), true, 'everybody by default');
  await privacy.set(1n, { base: 'nobody', allow: ['3'], disallow: [] });
  assert.deepEqual([privacy.shows(1n, 2n), privacy.shows(1n, 3n), privacy.shows(1n, 1n), privacy.isPublic(1n)], [false, true, true, false]);
  await privacy.set(1n, { base: 'everybody', allow: [], disallow: ['2'] });
  assert.deepEqual([privacy.shows(1n, 2n), privacy.shows(1n, 3n), privacy.isPublic(1n)], [false, true, true]);
  await privacy.set(1n, { base: 'contacts', allow: [], disallow: [] });
  assert.deepEqual([privacy.shows(1n, 2n), privacy.isPublic(1n)], [false, false], 'nobody is a contact here');
  await privacy.set(1n, { base: 'everybody', allow: [], disallow: [] });
  assert.equal(await state.get('privacy:1'), undefined, 'the default is no key');
  await state.set('privacy:1', '{"base":"sometimes"}');
  await privacy.refresh(1n);
  assert.equal(privacy.shows(1n, 2n), true, 'a malformed rule is the default');
  assert.deepEqual(statusRules({ base: 'nobody', allow: ['3'], disallow: ['4'] }).map((r) => r._), ['privacyValueAllowUsers', 'privacyValueDisallowUsers', 'privacyValueDisallowAll']);
});
