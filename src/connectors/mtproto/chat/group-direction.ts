// A group's direction (bridges/ `direction:`, core/endpoint.ts) as its members see it on MTProto.
// The server here is the network its clients use, so a direction shows the way Telegram shows it:
// - `receive-only`: a read-only group, as one whose default rights forbid members to write. Its chat
//   object carries those rights (default_banned_rights), so clients grey out the input; a call that
//   would put something there (a message, an edit, a reaction, a deletion, a pin, the description)
//   is refused with Telegram's answer, CHAT_WRITE_FORBIDDEN, before anything changes; typing and
//   read marks answer as usual and publish nothing. Nothing said there may enter the room's stream,
//   so this holds for moderator accounts too: their admin rights are not shown there.
// - `send-only`: a source. The router delivers no other endpoint's events to it, and what members
//   see (live updates, getDifference, history) is only what was delivered into its log; its
//   description is its own too, never the room's topic set on another network (group-about.ts).
// A bridges/ reload that turns `receive-only` on or off tells the members' sessions here at once
// (updateChatDefaultBannedRights); a client that was away gets the rights with the chat objects.
import type { Endpoint, EndpointDiff, RoutingView } from '../../../core/endpoint.ts';
import type { TopicEvent } from '../../room-topics.ts';
import type { Logger } from '../../../core/logger.ts';
import { RpcError } from '../session/rpc.ts';
import type { TlObject } from '../tl/codec.ts';
import type { ChatInfo, Directory } from './directory.ts';
import type { LiveSessions } from './live-sessions.ts';
import { peerChat, type Renderer } from './render.ts';
import { viewAt } from './methods/common.ts';
import type { LayeredCodec } from '../tl/layered-codec.ts';

/**
 * The version basic groups' chat objects carry (render.ts). An update of a chat's rights names its
 * version: clients (Telegram Desktop) drop one older than the chat they know, and refetch the full
 * chat for one that skips ahead, so it names the version they were shown.
 */
export const CHAT_VERSION = 1;

/** Whether a group is bridged receive-only now: members read, nothing of theirs is bridged. */
export function isReadOnly(directory: Pick<Directory, 'directionOf'>, chat: ChatInfo): boolean {
  return directory.directionOf(chat) === 'receive-only';
}

/**
 * Whether the router delivers a room's topic event to this group: not another network's to a
 * send-only group (a source), not one a room's `ignore:` rules keep back. What a group newly linked
 * shows from the room's topic record (group-about.ts) must match what live delivery would have shown.
 */
export function topicShownIn(routing: Pick<RoutingView, 'route'>, chat: ChatInfo): (topic: TopicEvent) => boolean {
  return (topic) => routing.route(topic).some((ep) => ep.connector === chat.endpoint.connector && ep.address === chat.endpoint.address);
}

/** Whether what members do in a chat (typing, read marks, presence) may be published: not from a read-only group. */
export function publishesFrom(directory: Pick<Directory, 'directionOf'>, chat: ChatInfo): boolean {
  return !isReadOnly(directory, chat);
}

/**
 * Refuses a call that would put something into a read-only group, as Telegram refuses a member of
 * a group whose rights forbid writing (403 CHAT_WRITE_FORBIDDEN, as for a group one was removed from).
 */
export function refuseReadOnly(directory: Pick<Directory, 'directionOf'>, chat: ChatInfo): void {
  if (isReadOnly(directory, chat)) throw new RpcError(403, 'CHAT_WRITE_FORBIDDEN');
}

/**
 * A read-only group's default rights: every right to write taken, reading left (view_messages
 * stays off), for good (until_date 0). The flags of every layer served are set: a layer's encoder
 * writes those its chatBannedRights has (send_plain and the other media kinds from layer 152,
 * send_reactions from 225) and leaves the others out.
 */
const READ_ONLY_RIGHTS: TlObject = {
  _: 'chatBannedRights',
  send_messages: true, send_media: true, send_stickers: true, send_gifs: true, send_games: true, send_inline: true, embed_links: true, send_polls: true,
  change_info: true, invite_users: true, pin_messages: true, manage_topics: true,
  send_photos: true, send_videos: true, send_roundvideos: true, send_audios: true, send_voices: true, send_docs: true, send_plain: true,
  send_reactions: true,
  until_date: 0,
};

/** Rights that take nothing: what an update tells when a group stops being read-only. */
const NO_RIGHTS_TAKEN: TlObject = { _: 'chatBannedRights', until_date: 0 };

/** A group's default_banned_rights field, for its chat object: set in a read-only group only. */
export function bannedRightsOf(directory: Pick<Directory, 'directionOf'>, chat: ChatInfo): { default_banned_rights?: TlObject } {
  return isReadOnly(directory, chat) ? { default_banned_rights: READ_ONLY_RIGHTS } : {};
}

/** Of a reload's redirects, the endpoints that became read-only or stopped being read-only. */
export function rightsChangedBy(redirected: EndpointDiff['redirected']): Endpoint[] {
  return redirected.filter((r) => (r.from === 'receive-only') !== (r.to === 'receive-only')).map((r) => r.endpoint);
}

export interface RightsPushDeps {
  readonly directory: Directory;
  readonly render: Renderer;
  readonly live: LiveSessions;
  readonly codec: LayeredCodec;
}

/**
 * Tells the members' sessions here of a group's rights now (a reload made it read-only, or writable
 * again): updateChatDefaultBannedRights, with the chat, so the input greys or comes back without a
 * reconnect. No pts: a session that was away sees the rights in the chat objects it gets next
 * (dialogs, full chat, difference). Each instance tells its own sessions on its own reload.
 * Answers how many sessions were told.
 */
export function pushRights(d: RightsPushDeps, chat: ChatInfo): number {
  let told = 0;
  for (const account of d.directory.membersOf(chat)) {
    if (!d.live.has(account.id)) continue;
    told += d.live.push(account.id, (layer) => {
      const view = viewAt(d, account, layer);
      const rights = bannedRightsOf(d.directory, chat).default_banned_rights ?? NO_RIGHTS_TAKEN;
      return {
        _: 'updates', updates: [{ _: 'updateChatDefaultBannedRights', peer: peerChat(chat.id), default_banned_rights: rights, version: CHAT_VERSION }],
        users: [], chats: d.render.chatObjects([chat], view), date: view.now, seq: 0,
      };
    });
  }
  return told;
}

/**
 * A bridges/ reload's redirects of groups (EndpointDiff.redirected; the directory already took the
 * reload): each is logged, and the members of those that became read-only or writable again are
 * told. A group redirected and moved in the same reload is told of both (its move by chat-links.ts).
 */
export function tellRedirects(d: RightsPushDeps & { readonly logger: Logger }, redirected: EndpointDiff['redirected']): void {
  const changed = new Set(rightsChangedBy(redirected).map((e) => e.address));
  for (const { endpoint, from, to } of redirected) {
    const chat = d.directory.chatOfAddress(endpoint.address);
    if (chat === undefined) continue;
    const sessions = changed.has(chat.address) ? pushRights(d, chat) : 0;
    d.logger.info({ chat: chat.address, room: chat.room, from, to, sessions }, 'mtproto: bridges/ reload: a group is bridged another way');
  }
}
