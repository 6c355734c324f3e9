// What every chat-layer method handler shares: the chat layer's parts, the registration wrapper
// (flood control per account and method class, update channel registration) and the lookups of
// input peers, users and messages with the rpc_errors Telegram answers for bad ones.
import type { Bus } from '../../../../bus/types.ts';
import type { RoutingView } from '../../../../core/endpoint.ts';
import type { Logger } from '../../../../core/logger.ts';
import type { ApiCallContext } from '../../api/context.ts';
import type { MethodRegistry } from '../../api/registry.ts';
import { RpcError } from '../../session/rpc.ts';
import type { TlObject, TlValue } from '../../tl/codec.ts';
import type { LayeredCodec } from '../../tl/layered-codec.ts';
import type { Authorizations } from '../authorizations.ts';
import type { DirectChats } from '../direct-chats.ts';
import type { Account, ChatInfo, Directory } from '../directory.ts';
import type { FileKeys, Uploads } from '../files.ts';
import type { AccountAvatars } from '../account-avatars.ts';
import type { AccountProfiles } from '../account-profiles.ts';
import type { Drafts } from '../drafts.ts';
import type { Counter } from '../../../../core/metrics.ts';
import type { ScheduledQueue } from '../scheduled-queue.ts';
import type { ArchiveMarks } from '../archive-marks.ts';
import type { DialogSettings } from '../dialog-settings.ts';
import type { Usernames } from '../usernames.ts';
import type { BotCommands } from '../bot-commands.ts';
import type { BlockedUsers } from '../blocked-users.ts';
import type { ContactLists } from '../contact-lists.ts';
import type { ReplyKeyboardBots } from '../reply-keyboard-bots.ts';
import type { StatusPrivacy } from '../status-privacy.ts';
import type { PinnedIndex } from '../pinned.ts';
import type { GroupAbouts } from '../group-about.ts';
import type { CallbackQueries } from '../callback-queries.ts';
import type { ChatFiles } from '../chat-files.ts';
import { floodClassOf, type FloodControl } from '../flood.ts';
import type { PublishOrder, Turn } from '../publish-order.ts';
import type { LiveSessions } from '../live-sessions.ts';
import type { CodeDelivery } from '../code-delivery.ts';
import type { LoginCodes } from '../login-codes.ts';
import type { MediaInfo, MessageBox, MessageRecord } from '../message-box.ts';
import type { People } from '../people.ts';
import type { PresenceBook } from '../presence.ts';
import type { PtsBook } from '../pts.ts';
import type { Renderer, View } from '../render.ts';
import { refuseReadOnly } from '../group-direction.ts';
import type { StateStore } from '../../../../bus/types.ts';

export interface ChatDeps {
  readonly bus: Bus;
  /** Where the router sends an event: whether a private chat's other party can be reached at all. */
  readonly routing: RoutingView;
  readonly state: StateStore;
  readonly directory: Directory;
  readonly directs: DirectChats;
  readonly people: People;
  readonly box: MessageBox;
  readonly pts: PtsBook;
  readonly render: Renderer;
  readonly live: LiveSessions;
  readonly presence: PresenceBook;
  readonly authorizations: Authorizations;
  readonly codes: LoginCodes;
  /** Sends login codes to a person's linked accounts on other networks. */
  readonly codeDelivery: CodeDelivery;
  /** How long a login code is valid, in seconds (for the message that carries it). */
  readonly codeTtlSeconds: number;
  readonly flood: FloodControl;
  readonly order: PublishOrder;
  readonly files: ChatFiles;
  /** Profile photos accounts set from their clients. */
  readonly avatars: AccountAvatars;
  /** Names and bios accounts set from their clients. */
  readonly profiles: AccountProfiles;
  /** Who holds which username an account chose. */
  readonly usernames: Usernames;
  /** The commands bot accounts offer. */
  readonly botCommands: BotCommands;
  /** Whom accounts blocked. */
  readonly blocked: BlockedUsers;
  /** Whom accounts keep as contacts. */
  readonly contacts: ContactLists;
  /** Which bots have shown a reply keyboard (the writer reads their every message's keyboard). */
  readonly replyKeyboardBots: ReplyKeyboardBots;
  readonly statusPrivacy: StatusPrivacy;
  /** The chats' pinned ids as known here (a message's `pinned` flag). */
  readonly pins: PinnedIndex;
  /** The groups' descriptions: their rooms' topics. */
  readonly abouts: GroupAbouts;
  /** Presses of bots' callback buttons and the bots' answers, across instances. */
  readonly callbacks: CallbackQueries;
  /** What accounts were writing and did not send. */
  readonly drafts: Drafts;
  /** How accounts arrange their chats: pins, unread marks, notifications, the archive. */
  readonly dialogSettings: DialogSettings;
  /** Which chats accounts keep in their archive, as known here (the writer's check for a chat's return). */
  readonly archives: ArchiveMarks;
  /** What accounts queued to be sent later (scheduled messages). */
  readonly scheduled: ScheduledQueue;
  /** Queued messages sent, dropped or left to retry (outcome); none: not counted. */
  readonly scheduledOutcomes?: Counter<string>;
  readonly uploads: Uploads<MediaInfo>;
  readonly keys: FileKeys;
  readonly codec: LayeredCodec;
  readonly httpUrl: string;
  readonly logger: Logger;
  /** How long a call waits for the bus to deliver what it published, in ms. */
  readonly publishWaitMs: number;
  readonly maxTextLength: number;
}

/** A chat-layer call: the API context, plus its turn in its session's publish order. */
export interface ChatCallContext extends ApiCallContext {
  readonly turn: Turn;
}

export type ChatHandler = (call: TlObject, ctx: ChatCallContext) => Promise<TlValue> | TlValue;

/** Method classes whose calls publish: they take a turn in their session's publish order. */
const PUBLISHING = new Set(['send', 'typing']);

/**
 * Registers a method: each call first takes its flood token (per user, or per auth key before
 * login), and a logged-in user's session gets updates from now on (unless the call came in
 * invokeWithoutUpdates, or is a file transfer: media connections get no updates). A publishing
 * call takes its turn in the session's publish order as it starts, given back when it ends at
 * the latest.
 */
export function register(methods: MethodRegistry, deps: ChatDeps, name: string, auth: 'none' | 'user', handle: ChatHandler): void {
  const cls = floodClassOf(name);
  const publishes = PUBLISHING.has(cls);
  methods.register(name, {
    auth,
    handle: async (call, ctx) => {
      deps.flood.take(ctx.user !== undefined ? `u${ctx.user.userId}` : `k${ctx.authKeyIdHex}`, cls);
      if (ctx.user !== undefined && ctx.channel !== undefined && !ctx.withoutUpdates && cls !== 'upload') {
        deps.live.register(ctx.user.userId, ctx.channel, ctx.layer);
      }
      const turn = deps.order.take(publishes ? ctx.channel?.key : undefined);
      try {
        return await handle(call, { ...ctx, turn });
      } finally {
        turn.release();
      }
    },
  });
}

export const badRequest = (message: string) => new RpcError(400, message);

/** The logged-in account of a call (handlers registered with auth 'user' always have one). */
export function accountOf(deps: ChatDeps, ctx: ApiCallContext): Account {
  const account = ctx.user === undefined ? undefined : deps.directory.account(ctx.user.userId);
  if (account === undefined) throw new RpcError(401, 'AUTH_KEY_UNREGISTERED');
  return account;
}

export function viewOf(deps: ChatDeps, ctx: ApiCallContext): View {
  return { account: accountOf(deps, ctx), schema: ctx.schema, now: ctx.now };
}

/** How `account` sees things in a push to a session of its that speaks `layer` (no call to take them from). */
export function viewAt(deps: Pick<ChatDeps, 'codec'>, account: Account, layer: number): View {
  return { account, schema: deps.codec.schemaFor(layer), now: Math.floor(Date.now() / 1000) };
}

/** The accounts of a conversation: a group's members, a private chat's parties here. */
export function accountsOfChat(deps: Pick<ChatDeps, 'directs' | 'directory'>, chat: ChatInfo): Account[] {
  return chat.direct !== undefined ? deps.directs.accountsOf(chat) : deps.directory.membersOf(chat);
}

function obj(v: TlValue | undefined): TlObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? v : undefined;
}

export function objectField(call: TlObject, name: string): TlObject | undefined {
  return obj(call[name]);
}

export function intField(call: TlObject, name: string, fallback = 0): number {
  const v = call[name];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : fallback;
}

export function stringField(call: TlObject, name: string): string | undefined {
  const v = call[name];
  return typeof v === 'string' ? v : undefined;
}

export function listField(call: TlObject, name: string): TlValue[] {
  const v = call[name];
  return Array.isArray(v) ? v : [];
}

/**
 * The conversation an InputPeer names: a group the account sees, or its private chat with a user
 * it may name (userOfInput), itself included (its Saved Messages, a person's only); PEER_ID_INVALID
 * otherwise.
 */
export async function chatOfPeer(deps: ChatDeps, account: Account, peer: TlObject | undefined, use: GroupUse = 'write'): Promise<ChatInfo> {
  if (peer?._ === 'inputPeerUser' || peer?._ === 'inputPeerUserFromMessage' || peer?._ === 'inputPeerSelf') {
    const id = await userOfInput(deps, account, peer);
    const chat = id === undefined ? undefined : await deps.directs.with(account, id);
    if (chat === undefined) throw badRequest('PEER_ID_INVALID');
    return chat;
  }
  const id = peer?._ === 'inputPeerChat' ? peer['chat_id'] : undefined;
  const chat = typeof id === 'bigint' ? deps.directory.chat(id) : undefined;
  if (chat === undefined && typeof id === 'bigint') refuseFormer(deps, account, id, use);
  if (chat === undefined || !deps.directory.mayUse(account, chat)) throw badRequest('PEER_ID_INVALID');
  if (use === 'post') refuseReadOnly(deps.directory, chat);
  return chat;
}

/** The group an InputPeer names when it is one the account was removed from (its dialog is still listed). */
export function formerOfPeer(deps: Pick<ChatDeps, 'directory'>, account: Account, peer: TlObject | undefined): ChatInfo | undefined {
  const id = peer?._ === 'inputPeerChat' ? peer['chat_id'] : undefined;
  return typeof id === 'bigint' && deps.directory.wasMember(account, id) ? deps.directory.formerChat(id) : undefined;
}

/**
 * What a call does with a group: reads it (history, full chat), acts in it (everything else), or,
 * acting, posts there: puts there what its other members and the bridged networks see (a message,
 * an edit, a reaction, a deletion, a pin, its description). A read-only group (bridged
 * receive-only) refuses a post before anything changes (group-direction.ts); typing and read marks
 * are no posts: they answer, and publish nothing from there.
 */
export type GroupUse = 'read' | 'write' | 'post';

/**
 * A group the account was removed from (unlinked by a bridges/ reload) answers as Telegram
 * answers a member removed from a basic group: CHAT_WRITE_FORBIDDEN to what would act in it,
 * CHAT_FORBIDDEN to reading it; anyone else's call does not learn it existed.
 */
export function refuseFormer(deps: Pick<ChatDeps, 'directory'>, account: Account, id: bigint, use: GroupUse): void {
  if (deps.directory.wasMember(account, id)) throw new RpcError(403, use === 'read' ? 'CHAT_FORBIDDEN' : 'CHAT_WRITE_FORBIDDEN');
}

/**
 * The conversations of `addresses` (a group's chat id, a private chat's room key) that the account
 * sees, in that order: what it kept for a chat it no longer sees is left out. A private chat counts
 * before its first message too.
 */
export function chatsSeenOf(deps: Pick<ChatDeps, 'directory' | 'directs'>, account: Account, addresses: readonly string[]): ChatInfo[] {
  return addresses.flatMap((address) => {
    const chat = deps.directory.chatOfAddress(address) ?? deps.directs.chatOf(address);
    const sees = chat !== undefined && (chat.direct !== undefined ? deps.directs.accountsOf(chat).includes(account) : deps.directory.mayUse(account, chat));
    return sees ? [chat] : [];
  });
}

/** Every conversation of an account: its groups, then its private chats. */
export async function chatsOfAccount(deps: ChatDeps, account: Account): Promise<ChatInfo[]> {
  const directs = (await deps.directs.keysOf(account)).flatMap((key) => { const chat = deps.directs.chatOf(key); return chat === undefined ? [] : [chat]; });
  return [...deps.directory.chatsOf(account), ...directs];
}

/**
 * The user an InputUser / InputPeer names, when the account may name them that way (as Telegram,
 * which answers a wrong access hash with USER_ID_INVALID or PEER_ID_INVALID): itself; a user with
 * the access hash the account was given (inputUser, inputPeerUser); or (the *FromMessage forms,
 * what clients use for a user they know only from a message) through a message of a group the
 * account sees that the user sent. Undefined otherwise, and for an id nobody has: an account can
 * not learn which ids exist by guessing.
 */
export async function userOfInput(deps: ChatDeps, account: Account, input: TlObject | undefined): Promise<bigint | undefined> {
  switch (input?._) {
    case 'inputUserSelf':
    case 'inputPeerSelf':
      return account.id;
    case 'inputUser':
    case 'inputPeerUser': {
      const id = input['user_id'];
      const hash = input['access_hash'];
      return typeof id === 'bigint' && typeof hash === 'bigint' && deps.keys.checkPeerHash('user', String(id), hash) ? id : undefined;
    }
    case 'inputUserFromMessage':
    case 'inputPeerUserFromMessage': {
      const id = input['user_id'];
      return typeof id === 'bigint' && await sentInGroup(deps, account, input, id) ? id : undefined;
    }
    default:
      return undefined;
  }
}

/** Whether the message a *FromMessage input points at is in a group the account sees and was sent by `id`. */
async function sentInGroup(deps: ChatDeps, account: Account, input: TlObject, id: bigint): Promise<boolean> {
  const where = objectField(input, 'peer');
  if (where?._ !== 'inputPeerChat') return false;
  const chat = await chatOfPeer(deps, account, where).catch(() => undefined);
  const msgId = intField(input, 'msg_id');
  const record = chat === undefined || msgId <= 0 ? undefined : await deps.box.record(msgId);
  return record !== undefined && record.chat === chat?.address && record.from === String(id);
}

/**
 * A message of a chat the account sees, not deleted and not a service message (the chat's
 * creation: no canonical event stands behind it, so nothing can reply, react or point at it);
 * MESSAGE_ID_INVALID otherwise.
 */
export async function liveMessage(deps: ChatDeps, chat: ChatInfo, id: number): Promise<MessageRecord> {
  const record = Number.isInteger(id) && id > 0 ? await deps.box.record(id) : undefined;
  if (record === undefined || record.chat !== chat.address || record.deleted === true || record.service !== undefined) throw badRequest('MESSAGE_ID_INVALID');
  return record;
}

/** `updates` with the users and chats its updates mention (a private chat: its peer, among the users). */
export async function updatesOf(deps: ChatDeps, view: View, updates: TlObject[], userIds: Iterable<bigint>, chats: readonly ChatInfo[]): Promise<TlObject> {
  return {
    _: 'updates', updates, users: await deps.render.users([...userIds, ...chats.flatMap((c) => deps.render.usersOfChat(c, view))], view),
    chats: deps.render.chatObjects(chats, view), date: view.now, seq: 0,
  };
}

/** The users a message shows: its sender, its reactors, and those a service message names. */
export function usersOfRecord(record: MessageRecord): bigint[] {
  return [BigInt(record.from), ...Object.keys(record.reactions ?? {}).map((u) => BigInt(u)), ...(record.users ?? []).map((u) => BigInt(u))];
}
