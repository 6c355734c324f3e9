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
import { RpcError } from '../session/rpc.ts';
import type { TlObject } from '../tl/codec.ts';
import type { ChatInfo, Directory } from './directory.ts';

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

/** Whether a chat gets what the other endpoints of its room say: not a send-only group (a source). */
export function receivesFromOthers(directory: Pick<Directory, 'directionOf'>, chat: ChatInfo): boolean {
  return directory.directionOf(chat) !== 'send-only';
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

/** A group's default_banned_rights field, for its chat object: set in a read-only group only. */
export function bannedRightsOf(directory: Pick<Directory, 'directionOf'>, chat: ChatInfo): { default_banned_rights?: TlObject } {
  return isReadOnly(directory, chat) ? { default_banned_rights: READ_ONLY_RIGHTS } : {};
}
