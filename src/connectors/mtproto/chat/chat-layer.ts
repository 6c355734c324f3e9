// The chat layer of the MTProto connector, put together: accounts and login, users, groups and private chats,
// the message box with per-account pts, live updates, files, flood control. It plugs into the
// API dispatcher (`extend`, `authorizations`), consumes the connector's egress (`deliver`) and
// serves files over HTTP (`fileRoute`). All persistent state is in `bus.state('mtproto')`, under `chat:`.
import { CodeDelivery } from './code-delivery.ts';
import type { Bus, Stoppable } from '../../../bus/types.ts';
import type { KeyRing } from '../store/key-ring.ts';
import { storedSecret } from '../store/open-stores.ts';
import type { Config } from '../../../config/schema.ts';
import type { Identity } from '../../../config/load.ts';
import type { Endpoint, EndpointDiff, RoutingView } from '../../../core/endpoint.ts';
import type { Logger } from '../../../core/logger.ts';
import { counter, gauge, type Registry } from '../../../core/metrics.ts';
import type { AuthorizationLookup } from '../api/context.ts';
import type { MethodRegistry } from '../api/registry.ts';
import type { LayeredCodec } from '../tl/layered-codec.ts';
import { Authorizations } from './authorizations.ts';
import type { KeyCompanion } from '../store/key-companions.ts';
import { DirectChats } from './direct-chats.ts';
import { Directory } from './directory.ts';
import { FileKeys, fileRoute, Uploads } from './files.ts';
import { MediaFileStore, MemoryFileStore, type FileStore } from './file-store.ts';
import { ChatFiles } from './chat-files.ts';
import { ChatLinks } from './chat-links.ts';
import { tellRedirects } from './group-direction.ts';
import { AccountReload, type AccountChange } from './account-reload.ts';
import type { MtprotoAccountConfig } from '../../../config/schema.ts';
import type { MediaService } from '../../../media/index.ts';
import { FloodControl } from './flood.ts';
import { LiveSessions } from './live-sessions.ts';
import { LoginCodes } from './login-codes.ts';
import { MediaIndex } from './media-index.ts';
import { ProfilePhotos } from './profile-photos.ts';
import { AccountAvatars } from './account-avatars.ts';
import { AccountProfiles } from './account-profiles.ts';
import { Drafts } from './drafts.ts';
import { DialogSettings } from './dialog-settings.ts';
import { ArchiveMarks } from './archive-marks.ts';
import { Usernames } from './usernames.ts';
import { BotCommands } from './bot-commands.ts';
import { MessageBox, type MediaInfo } from './message-box.ts';
import { registerAuth } from './methods/auth.ts';
import { registerChats } from './methods/chats.ts';
import type { ChatDeps } from './methods/common.ts';
import { registerSend } from './methods/send.ts';
import { registerForward } from './methods/forward.ts';
import { registerSearch } from './methods/search.ts';
import { registerReactions } from './methods/reactions.ts';
import { registerPeerInfo, registerReadParticipants } from './methods/peer-info.ts';
import { registerDrafts } from './methods/drafts.ts';
import { registerDialogSettings } from './methods/dialog-settings.ts';
import { registerNothingToShow } from './methods/nothing-to-show.ts';
import { registerClientReports } from './methods/client-reports.ts';
import { registerAppReports } from './methods/app-reports.ts';
import { deliverQuery, registerInlineBots } from './methods/inline-bots.ts';
import { registerSharedMedia } from './methods/shared-media.ts';
import { registerSessions } from './methods/sessions.ts';
import { registerBlocking } from './methods/blocking.ts';
import { BlockedUsers } from './blocked-users.ts';
import { ContactLists } from './contact-lists.ts';
import { ReplyKeyboardBots } from './reply-keyboard-bots.ts';
import { StatusPrivacy } from './status-privacy.ts';
import { PinnedIndex } from './pinned.ts';
import { GroupAbouts } from './group-about.ts';
import { RoomTopics } from '../../room-topics.ts';
import { CallbackQueries } from './callback-queries.ts';
import { registerPrivacy } from './methods/privacy.ts';
import { registerGroupAdmin } from './methods/group-admin.ts';
import { registerGroupAbout } from './methods/group-about.ts';
import { registerBotCommands } from './methods/bot-commands.ts';
import { registerUnreadNotices } from './methods/unread-notices.ts';
import { registerPins } from './methods/pins.ts';
import { registerScheduled, sendScheduled } from './methods/scheduled.ts';
import { ScheduledQueue } from './scheduled-queue.ts';
import { Scheduler } from './scheduler.ts';
import { followNews } from './methods/own-news.ts';
import { announceUser } from './methods/announce-user.ts';
import { registerContacts } from './methods/contacts.ts';
import { registerContactList } from './methods/contact-list.ts';
import { registerBotInfo } from './methods/bot-info.ts';
import { registerNoStories } from './methods/no-stories.ts';
import { registerOwnPhoto } from './methods/own-photo.ts';
import { registerOwnProfile } from './methods/own-profile.ts';
import { registerUpdates } from './methods/updates.ts';
import { registerUpload } from './methods/upload.ts';
import { registerUsers } from './methods/users.ts';
import { FANOUT_CHANNEL, Outbound } from './outbound.ts';
import { People } from './people.ts';
import { PresenceBook } from './presence.ts';
import { PtsBook } from './pts.ts';
import { PublishOrder } from './publish-order.ts';
import { Renderer } from './render.ts';
import { chatState, STATE_NAMESPACE } from './state-namespace.ts';

export { STATE_NAMESPACE };

export interface ChatLayerOptions {
  readonly bus: Bus;
  readonly routing: RoutingView;
  readonly endpoints: readonly Endpoint[];
  readonly config: Config['mtproto'];
  readonly identities: readonly Identity[];
  readonly codec: LayeredCodec;
  /** The store ttl of records that live as long as an auth key (KeyCompanions.ttlOf): logins. */
  readonly keyTtl?: (authKeyIdHex: string) => number | undefined;
  readonly logger: Logger;
  /** The instance's metrics (private messages dropped); none: not counted. */
  readonly registry?: Registry;
  /** The HTTP server's public base URL (file URLs start with it). */
  readonly httpUrl: string;
  readonly dcId: number;
  /** The app's media store: where file bytes go when there is one (else the connector's own in-memory store), and where its routes are mounted. */
  readonly media?: { readonly service: MediaService; readonly basePath: string } | undefined;
  /** How long a call waits for its event to come back from the bus (default 5 s). */
  readonly publishWaitMs?: number;
  readonly maxTextLength: number;
  /** The key-encryption keys: the file secret is sealed under them like the core's secrets. */
  readonly ring: KeyRing;
}

/** The key behind file access hashes and URL signatures: one per deployment, sealed in the shared state like the salt secret. */
export const FILE_SECRET_KEY = 'secret';

/**
 * The calls whose random_id is a transaction of the bus (a resend or a replay is the same send,
 * answered with the first one's message): they need not wait for the shared replay guard
 * (session/ahead-of-guard.ts). Every layer's constructor of them.
 */
const TRANSACTION_SENDS = new Set(['messages.sendMessage', 'messages.sendMedia', 'messages.sendMultiMedia', 'messages.forwardMessages']);

export function transactionSends(codec: LayeredCodec): (constructorId: number) => boolean {
  const ids = new Set(codec.layers.anyLayer().constructors.filter((c) => c.isFunction && TRANSACTION_SENDS.has(c.name)).map((c) => c.id >>> 0));
  return (id) => ids.has(id >>> 0);
}

export class ChatLayer {
  private constructor(private readonly deps: ChatDeps, readonly outbound: Outbound, private readonly memoryFiles: MemoryFileStore | undefined, private readonly links: ChatLinks,
    private readonly accounts: AccountReload) {}

  static async create(opts: ChatLayerOptions): Promise<ChatLayer> {
    // Keys under `chat:`, beside the core's keys of the same namespace (state-namespace.ts).
    const state = chatState(opts.bus.state(STATE_NAMESPACE));
    const directory = new Directory(opts.config.accounts, opts.endpoints, opts.routing);
    const people = new People(directory, opts.identities, state, opts.logger);
    const box = new MessageBox(state, opts.config.historyPerChat, opts.logger);
    await box.start();
    const keys = new FileKeys(await storedSecret(state, opts.ring, FILE_SECRET_KEY, 'file secret'));
    const presence = new PresenceBook();
    const memoryFiles = opts.media === undefined ? new MemoryFileStore(opts.config.files.maxTotalBytes, opts.httpUrl, keys) : undefined;
    const store: FileStore = opts.media !== undefined ? new MediaFileStore(opts.media.service, opts.media.basePath, opts.config.files.maxFileBytes) : memoryFiles!;
    const files = new ChatFiles(store, new MediaIndex(state));
    const photos = new ProfilePhotos(opts.media?.service, files, opts.logger);
    const avatars = new AccountAvatars(state, directory, opts.logger);
    const profiles = new AccountProfiles(state, directory, opts.logger);
    const blocked = new BlockedUsers(state, directory, opts.logger);
    const contacts = new ContactLists(state, directory, opts.logger);
    const replyKeyboardBots = new ReplyKeyboardBots(state, directory, opts.logger);
    const statusPrivacy = new StatusPrivacy(state, directory, opts.logger, contacts);
    const pins = new PinnedIndex(state);
    const abouts = new GroupAbouts(state, RoomTopics.of(opts.bus, opts.logger));
    const archives = new ArchiveMarks(state, directory, opts.logger);
    await Promise.all([avatars.load(), profiles.load(), blocked.load(), contacts.load(), replyKeyboardBots.load(), statusPrivacy.load(), archives.load(), pins.ready(directory.chats.map((c) => c.address))]);
    const directs = new DirectChats(state, directory, people, opts.logger, opts.config.maxDirectChats);
    const render = new Renderer(directory, people, keys, presence, opts.dcId, directs, photos, avatars, profiles, statusPrivacy, pins, contacts);
    const deps: ChatDeps = {
      bus: opts.bus, routing: opts.routing, state, directory, directs, people, box, render, presence,
      pts: new PtsBook(state, box, directory, directs),
      live: new LiveSessions(opts.codec, opts.logger),
      authorizations: new Authorizations(state, directory, Date.now, opts.keyTtl),
      codes: new LoginCodes(state, opts.config.login),
      codeDelivery: new CodeDelivery(opts.bus, opts.routing, opts.identities, opts.logger),
      codeTtlSeconds: opts.config.login.codeTtlSeconds,
      flood: new FloodControl(opts.config.flood),
      order: new PublishOrder(),
      files, avatars, profiles, blocked, contacts, replyKeyboardBots, statusPrivacy, pins, abouts, callbacks: new CallbackQueries(state, opts.bus.notes, opts.logger, opts.config.callbackTimeoutSeconds * 1000), usernames: new Usernames(state, directory, people, profiles), botCommands: new BotCommands(state), drafts: new Drafts(state), dialogSettings: new DialogSettings(state), archives,
      scheduled: new ScheduledQueue(state),
      ...(opts.registry !== undefined ? { scheduledOutcomes: counter(opts.registry, 'switchboard_mtproto_scheduled_total', 'Scheduled messages at their time (outcome: sent; dropped, the account may no longer send it there; retry, the bus refused it and it waits 5 s)', ['outcome']) } : {}),
      uploads: new Uploads<MediaInfo>(opts.config.files.maxFileBytes),
      keys, codec: opts.codec, httpUrl: opts.httpUrl, logger: opts.logger,
      publishWaitMs: opts.publishWaitMs ?? 5_000, maxTextLength: opts.maxTextLength,
    };
    const outbound = new Outbound({
      state, bus: opts.bus, directory, directs, people, box, pts: deps.pts, render, live: deps.live, presence, files, blocked, statusPrivacy, replyKeyboardBots,
      archives, dialogSettings: deps.dialogSettings, abouts,
      codec: opts.codec, logger: opts.logger,
      ...(opts.registry !== undefined ? { dropped: counter(opts.registry, 'switchboard_mtproto_direct_dropped_total', 'Private messages to an account dropped by the connector (reason: no_account, the user id is no account here; full, a new private chat past mtproto.maxDirectChats; blocked, the account blocked the sender)', ['reason']) } : {}),
      ...(opts.registry !== undefined ? { notAuthor: counter(opts.registry, 'switchboard_mtproto_not_author_total', 'Edits and retractions from another network not applied: their sender did not send the message they change (kind: edit, retract)', ['kind']) } : {}),
      ...(opts.registry !== undefined ? { unlinkedDropped: counter(opts.registry, 'switchboard_mtproto_unlinked_dropped_total', 'Deliveries to groups a bridges/ reload unlinked, dropped (routed before the reload; never retried)') } : {}),
      ...(opts.registry !== undefined ? { topics: counter(opts.registry, 'switchboard_mtproto_topics_total', 'Room topics delivered to groups (outcome: set, the group\'s description is now the topic; unchanged, it already was)', ['outcome']) } : {}),
      ...(opts.bus.fanout !== undefined ? { fanout: opts.bus.fanout } : {}),
    });
    // A press reaches the bot's sessions here (or, through a note, on the instance serving them).
    deps.callbacks.deliverWith((query) => deliverQuery(deps, query));
    const links = new ChatLinks({
      state, directory, box, pts: deps.pts, render, people, live: deps.live, codec: opts.codec, logger: opts.logger, exclusive: outbound.exclusive,
      ...(opts.bus.notes !== undefined ? { notes: opts.bus.notes } : {}),
      ...(opts.registry !== undefined ? {
        groups: gauge(opts.registry, 'switchboard_mtproto_groups', 'Basic groups served: the mtproto endpoints of bridges/ in force'),
        changes: counter(opts.registry, 'switchboard_mtproto_group_changes_total', 'Groups changed by a bridges/ reload (change: added, removed, moved to another room)', ['change']),
      } : {}),
    });
    // Before any pts is read: the groups unlinked earlier count for their former members.
    await links.start();
    await outbound.prepare();
    const accounts = new AccountReload({
      chat: deps, links,
      ...(opts.registry !== undefined ? { changes: counter(opts.registry, 'switchboard_mtproto_account_changes_total', 'Accounts changed by config.yaml reloads (change: added, removed, credential (a bot\'s token or a person\'s phone: its logins end), rooms, moderator, names)', ['change']) } : {}),
    });
    return new ChatLayer(deps, outbound, memoryFiles, links, accounts);
  }

  /**
   * bridges/ was reloaded (the routing view already answers for the new table): the groups
   * follow at once (calls see the new set from now on), and their members are told in the
   * background. Never throws; resolves when the members were told (tests), never rejects.
   */
  endpointsChanged(change: EndpointDiff): Promise<void> {
    const changes = this.deps.directory.apply(change, this.deps.routing);
    for (const c of changes) {
      this.deps.logger.info({ chat: c.chat.address, room: c.chat.room, linked: c.linked, joined: c.joined.length, left: c.left.length, ...(c.retitledFrom !== undefined ? { from: c.retitledFrom } : {}) }, 'mtproto: bridges/ reload: a group changed');
    }
    // Made read-only or writable again: the members' sessions here are told at once (no pts, nothing written).
    tellRedirects(this.deps, change.redirected);
    return this.links.changed(changes);
  }

  /**
   * config.yaml's `mtproto.accounts` reloaded (checked whole by the app): in force at once for
   * every call and session here, their groups' members told in the background (account-reload.ts).
   * Never throws; `done` resolves when everyone was told (tests), never rejects.
   */
  accountsChanged(accounts: readonly MtprotoAccountConfig[]): { changes: AccountChange[]; done: Promise<void> } {
    return this.accounts.apply(accounts);
  }

  /**
   * Follows what the instance consuming the connector's egress writes (several instances on one
   * Redis), so calls and sessions here see it; a no-op with one instance.
   */
  followOthers(): Stoppable | undefined {
    const deliveries = this.deps.bus.fanout?.subscribe(FANOUT_CHANNEL, (batch) => this.outbound.fannedIn(batch), () => this.outbound.resync());
    // What accounts change for themselves on other instances (own-news.ts).
    const news = followNews(this.deps, (account, change) => announceUser(this.deps, account, change, false));
    // Presses of callback buttons and bots' answers, between instances (callback-queries.ts).
    const callbacks = this.deps.callbacks.follow();
    // The service messages another instance's bridges/ reload wrote (chat-links.ts).
    const links = this.links.follow();
    // Logins another instance's reload of config.yaml's accounts ended (account-reload.ts).
    const accounts = this.accounts.follow();
    if (deliveries === undefined && news === undefined && callbacks === undefined && links === undefined && accounts === undefined) return undefined;
    return { close: async () => { await Promise.all([deliveries?.close(), news?.close(), callbacks?.close(), links?.close(), accounts?.close()]); } };
  }

  /**
   * Sends scheduled messages when due (on the one instance that holds the scheduler's lease at a
   * time): started once the connector delivers, closed before it stops.
   */
  startScheduler(): Stoppable {
    const deps = this.deps;
    return new Scheduler({
      bus: deps.bus, queue: deps.scheduled, logger: deps.logger,
      accounts: () => deps.directory.accounts.filter((a) => !a.bot).map((a) => a.id),
      send: async (id, items) => {
        const account = deps.directory.account(id);
        // An account gone from the config: its queue waits (it may come back), sending nothing.
        return account === undefined ? true : !(await sendScheduled(deps, account, items)).retry;
      },
    });
  }

  /**
   * The stored files the chat layer still shows (content hashes, as the media store names them),
   * beyond what the rooms' streams refer to: the accounts' profile photos, the files of every
   * message the chats' logs retain (groups and every account's private chats), and those waiting
   * in scheduled queues. The media store's garbage collector keeps them (docs/media.md): the logs
   * outlive the streams on the memory driver's restart, and a profile photo is in a stream only
   * when its account speaks. A chat's log as this instance knows it (another instance's newest
   * entries may be missing: their files are young, which the collector keeps anyway). An error
   * propagates, and the collector then deletes nothing.
   */
  async *mediaReferences(): AsyncGenerator<string> {
    const { directory, directs, box, avatars, scheduled } = this.deps;
    for (const account of directory.accounts) {
      const avatar = await avatars.fresh(account.id);
      if (avatar !== undefined) yield avatar.sha256;
      for (const item of await scheduled.list(account.id)) for (const file of item.files ?? []) yield file.sha256;
    }
    // Groups unlinked by a reload too: their members still list them, and linked again they show their old history.
    const chats = new Set([...directory.chats, ...directory.formerChats].map((c) => c.address));
    for (const account of directory.accounts) for (const key of await directs.keysOf(account)) chats.add(key);
    for (const chat of chats) for await (const media of box.mediaOf(chat)) yield media.sha256;
  }

  /** Resolves when what it queued for the bus state is written (room-topic records): at shutdown, before the bus closes. */
  idle(): Promise<void> {
    return this.deps.abouts.idle();
  }

  /** mappings/identities.yaml reloaded (SIGHUP): users' links and login-code routes follow it. */
  identitiesChanged(identities: readonly Identity[]): void {
    this.deps.people.setIdentities(identities);
    this.deps.codeDelivery.setIdentities(identities);
  }

  get authorizations(): AuthorizationLookup {
    return this.deps.authorizations;
  }

  /** The logins live and die with their auth keys (the connector registers this with the key store). */
  get keyCompanion(): KeyCompanion {
    return this.deps.authorizations;
  }

  /** Registers the chat layer's API methods. */
  readonly extend = (methods: MethodRegistry): void => {
    registerAuth(methods, this.deps);
    registerUsers(methods, this.deps);
    registerChats(methods, this.deps);
    registerSend(methods, this.deps);
    registerForward(methods, this.deps);
    registerSearch(methods, this.deps);
    registerReactions(methods, this.deps);
    registerPeerInfo(methods, this.deps);
    registerReadParticipants(methods, this.deps);
    registerDrafts(methods, this.deps);
    registerDialogSettings(methods, this.deps);
    registerNothingToShow(methods, this.deps);
    registerClientReports(methods, this.deps);
    registerAppReports(methods, this.deps);
    registerInlineBots(methods, this.deps);
    registerSharedMedia(methods, this.deps);
    registerSessions(methods, this.deps);
    registerBlocking(methods, this.deps);
    registerPrivacy(methods, this.deps);
    registerGroupAdmin(methods, this.deps);
    registerGroupAbout(methods, this.deps);
    registerBotCommands(methods, this.deps);
    registerUnreadNotices(methods, this.deps);
    registerPins(methods, this.deps);
    registerScheduled(methods, this.deps);
    registerContacts(methods, this.deps);
    registerContactList(methods, this.deps);
    registerBotInfo(methods, this.deps);
    registerNoStories(methods, this.deps);
    registerOwnPhoto(methods, this.deps);
    registerOwnProfile(methods, this.deps);
    registerUpdates(methods, this.deps);
    registerUpload(methods, this.deps);
  };

  /** GET handler of the connector's own file route: only without a media store (which serves files itself). */
  get fileRoute(): ReturnType<typeof fileRoute> | undefined {
    return this.memoryFiles === undefined ? undefined : fileRoute(this.memoryFiles, this.deps.keys);
  }

  /** Sessions receiving updates on this instance (health, tests). */
  get liveSessions(): number {
    return this.deps.live.size;
  }
}
