// users.*, contacts.* and account.updateStatus: accounts and the people of other networks as users.
import { newEventId } from '../../../../core/ids.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import type { TlObject } from '../../tl/codec.ts';
import { checked, originOf, actorOf } from '../inbound.ts';
import type { Account, ChatInfo } from '../directory.ts';
import { someoneOf, userFor } from './contacts.ts';
import { peerSettingsOf } from '../contact-lists.ts';
import { commonGroups } from './peer-info.ts';
import { pinnedOf } from '../pinned.ts';
import { botInfoOf } from './bot-commands.ts';
import { publishesFrom } from '../group-direction.ts';
import { accountOf, badRequest, chatsOfAccount, listField, objectField, register, stringField, userOfInput, viewOf, type ChatCallContext, type ChatDeps } from './common.ts';

/** Private chats an account's presence goes to at most: a status change is that many events. */
export const PRESENCE_DIRECT_CHATS = 50;

/** users.getUsers answers this many users at most, the first asked for (Telegram's own cap is 200). */
export const MAX_USERS_ASKED = 200;

/**
 * Where an account's presence goes: its groups, and its private chats with the newest entries, at
 * most PRESENCE_DIRECT_CHATS (their logs are in memory: its pts reads them); not its Saved
 * Messages, where nobody else is.
 */
async function presenceChatsOf(deps: ChatDeps, account: Account): Promise<ChatInfo[]> {
  const chats = await chatsOfAccount(deps, account);
  const directs = await Promise.all(chats.filter((c) => c.direct !== undefined && !deps.directs.isSaved(c)).map(async (chat) => ({ chat, lastG: (await deps.box.chat(chat.address)).lastG })));
  const active = directs.filter((d) => d.lastG > 0).sort((a, b) => b.lastG - a.lastG).slice(0, PRESENCE_DIRECT_CHATS).map((d) => d.chat);
  // Not into a read-only group's room: nothing from there enters its stream (group-direction.ts).
  return [...chats.filter((c) => c.direct === undefined && publishesFrom(deps.directory, c)), ...active];
}

export function registerUsers(methods: MethodRegistry, deps: ChatDeps): void {
  register(methods, deps, 'users.getUsers', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    // A user the account may not name is left out, as an unknown one (Telegram leaves them out too).
    const ids = await Promise.all(listField(call, 'id').slice(0, MAX_USERS_ASKED).map((input) => userOfInput(deps, view.account, typeof input === 'object' && !Array.isArray(input) && !(input instanceof Uint8Array) ? input as TlObject : undefined)));
    return deps.render.users(ids.filter((id): id is bigint => id !== undefined), view);
  });

  register(methods, deps, 'users.getFullUser', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const id = await userOfInput(deps, view.account, objectField(call, 'id'));
    const person = id === undefined ? undefined : await deps.people.person(id);
    if (id === undefined || person === undefined) throw badRequest('USER_ID_INVALID');
    const about = person.kind === 'puppet' ? `on ${person.puppet.network} (bridged by Switchboard)` : deps.profiles.about(person.account);
    const photo = await deps.render.profilePhotoOf(id);
    // The private chat with them: its commands (a bot's) and its newest pinned message.
    const direct = await deps.directs.with(view.account, id).catch(() => undefined);
    const pinned = direct === undefined ? 0 : await pinnedOf(deps, direct);
    return {
      _: 'users.userFull',
      full_user: {
        _: 'userFull', id, settings: peerSettingsOf(deps.contacts, deps.directory, view.account.id, id), notify_settings: { _: 'peerNotifySettings' }, common_chats_count: commonGroups(deps, view.account, id).length,
        ...(deps.blocked.blocks(view.account.id, id) ? { blocked: true } : {}),
        ...(about !== undefined ? { about } : {}),
        ...(photo !== undefined ? { profile_photo: deps.render.photo(photo, 0) } : {}),
        ...(person.kind === 'account' && person.account.bot ? { bot_info: await botInfoOf(deps, person.account, direct) } : {}),
        ...(pinned > 0 ? { pinned_msg_id: pinned } : {}),
        ...(direct !== undefined && (await deps.scheduled.list(view.account.id, direct.address)).length > 0 ? { has_scheduled: true } : {}),
      },
      chats: [], users: [deps.render.userObject(person, view)],
    };
  });

  // A person's photos: the one profile photo they show now, if any (downloadable by its id and access hash).
  register(methods, deps, 'photos.getUserPhotos', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const id = await userOfInput(deps, view.account, objectField(call, 'user_id'));
    if (id === undefined || await deps.people.person(id) === undefined) throw badRequest('USER_ID_INVALID');
    const photo = await deps.render.profilePhotoOf(id);
    return { _: 'photos.photos', photos: photo === undefined ? [] : [deps.render.photo(photo, 0)], users: [] };
  });

  // An account's username; else the canonical id of a person of identities.yaml, as the user a
  // private chat with them goes to (contacts.ts: only when one reaches them).
  register(methods, deps, 'contacts.resolveUsername', 'user', async (call, ctx) => {
    const view = viewOf(deps, ctx);
    const username = stringField(call, 'username') ?? '';
    const account = await deps.usernames.holder(username);
    const identity = account === undefined ? deps.people.identityNamed(username) : undefined;
    const id = account?.id ?? (identity === undefined ? undefined : await userFor(deps, view.account, someoneOf(identity)));
    if (id === undefined) throw badRequest('USERNAME_NOT_OCCUPIED');
    return { _: 'contacts.resolvedPeer', peer: { _: 'peerUser', user_id: id }, chats: [], users: await deps.render.users([id], view) };
  });

  // Online / offline: shown to the other accounts (as its status privacy lets them: a hidden one is
  // "recently"), and published as canonical presence to every room the account uses and to its
  // most recently active private chats, unless it hid its status (status-privacy.ts).
  register(methods, deps, 'account.updateStatus', 'user', async (call, ctx) => {
    const account = accountOf(deps, ctx);
    const state: 'offline' | 'available' = call['offline'] === true ? 'offline' : 'available';
    deps.presence.set(account.id, state, ctx.now, Date.now());
    if (deps.statusPrivacy.isPublic(account.id)) await publishStatus(deps, ctx, account, state, state === 'offline');
    return true;
  });
}

/**
 * Publishes the account's presence (`lastSeen` now, or none: what an account that hides its
 * status shows the other networks once) in its call's turn.
 */
export async function publishStatus(deps: ChatDeps, ctx: ChatCallContext, account: Account, state: 'offline' | 'available', withLastSeen: boolean): Promise<void> {
  const ts = ctx.now * 1000;
  const events = (await presenceChatsOf(deps, account)).map((chat) => checked({
    v: 1 as const, id: newEventId(), ts, kind: 'presence' as const, room: chat.room, state,
    sender: actorOf(deps, account),
    origin: originOf(chat, ctx),
    ...(withLastSeen ? { lastSeen: ts } : {}),
  }));
  await ctx.turn.ready;
  const published = events.length > 0 ? deps.bus.publish(events) : Promise.resolve();
  ctx.turn.release();
  await published;
}
