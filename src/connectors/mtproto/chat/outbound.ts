// Canonical deliveries -> the message box and live updates. The egress handler of 'mtproto':
// each delivery to a chat becomes an entry of that chat's log (new message, edit, reaction,
// deletion, read mark) and an update pushed to every session here of every account that sees
// the chat, with that account's pts; typing and presence are pushed only (they have no pts).
// A delivery of a direct room is for an account's private chat (direct-chats.ts): when both
// parties are accounts here it comes twice (once per party), and is written and pushed once.
// A room's topic sets a group's description (group-about.ts) and tells its members (updateChat).
// Deliveries are handled one at a time, in order; a failed write throws, and the bus retries the
// batch (entries already written are recognised by their event id and not written twice).
import { KeyedLock } from '../../../core/keyed-lock.ts';
import { isReplyKind, keptKeyboard, mayEndInButtons } from './keyboards.ts';
import type { Delivery, Fanout } from '../../../bus/types.ts';
import type { Endpoint } from '../../../core/endpoint.ts';
import type { CanonicalEvent, EventOfKind, Span } from '../../../core/event.ts';
import type { EventId } from '../../../core/ids.ts';
import { isDirectRoom } from '../../../core/direct.ts';
import type { Counter } from '../../../core/metrics.ts';
import type { TlObject } from '../tl/codec.ts';
import { hintsOf, type DeliveryHints } from '../../../mapper/types.ts';
import type { LogEntry } from './chat-log.ts';
import { chatIdOf, type Account, type ChatInfo } from './directory.ts';
import type { MediaInfo, MessageRecord } from './message-box.ts';
import { MAX_ALBUM_FILES, albumGroupOf, entriesOfDelivery, messagesOfEvent, moreKey, partKey } from './event-entries.ts';
import { peerUser } from './render.ts';
import { SCHEDULER_SESSION } from './scheduled-queue.ts';
import { accountsOfChat, viewAt, type ChatDeps } from './methods/common.ts';

/** What the egress handler needs of the chat layer (the same parts the API methods get), and its own extras. */
export interface OutboundDeps extends Pick<ChatDeps, 'state' | 'bus' | 'directory' | 'directs' | 'people' | 'box' | 'pts' | 'render' | 'live' | 'presence' | 'files' | 'blocked' | 'statusPrivacy' | 'replyKeyboardBots' | 'archives' | 'dialogSettings' | 'abouts' | 'codec' | 'logger'> {
  /** The bus's fan-out to the other instances, when there are any to reach. */
  readonly fanout?: Fanout;
  /** Private messages dropped here, by reason (`switchboard_mtproto_direct_dropped_total`). */
  readonly dropped?: Counter<string>;
  /** Edits and retractions dropped because their sender did not send the message (`switchboard_mtproto_not_author_total`). */
  readonly notAuthor?: Counter<'kind'>;
  /** Room topics delivered to groups, by outcome (`switchboard_mtproto_topics_total`). */
  readonly topics?: Counter<'outcome'>;
  /** Deliveries to groups a bridges/ reload unlinked, dropped (`switchboard_mtproto_unlinked_dropped_total`). */
  readonly unlinkedDropped?: Counter<string>;
}

/** The fan-out channel of the MTProto connector's written batches. */
export const FANOUT_CHANNEL = 'mtproto';

const seconds = (ms: number) => Math.floor(ms / 1000);

/** A delivery's conversation, and in a private chat the account it is addressed to. */
interface Target {
  readonly chat: ChatInfo;
  /**
   * Where the id map keeps the conversation's message ids: a group's endpoint; in a private chat,
   * the delivery's own (the account's: where the mapper looks up what a reply or edit points at).
   */
  readonly endpoint: Endpoint;
  readonly to?: Account;
}

/**
 * The MTProto session a delivery's entries are not pushed to: the one whose call made the event
 * got them as its answer. Except a retraction that deleted several messages here (an album, a
 * split text): messages.affectedMessages cannot name them, so that session gets every deletion
 * pushed like everyone else (and its answer is the pts before them: methods/send.ts).
 */
function answeredSession(event: CanonicalEvent, entries: number): string | undefined {
  if (event.origin.connector !== 'mtproto') return undefined;
  return event.kind === 'retract' && entries > 1 ? undefined : event.origin.session;
}

/** Work that follows a batch's write: its id-map link, its live updates. */
interface After {
  readonly link?: () => Promise<void>;
  readonly push?: () => Promise<void> | void;
}

export class Outbound {
  /** Fanned-in batches, handled one at a time, in the order they came. */
  #fanChain: Promise<void> = Promise.resolve();

  constructor(private readonly d: OutboundDeps) {}

  /** The egress handler: one batch at a time, and never while other work writes the logs (exclusive). */
  readonly deliver = (deliveries: readonly Delivery[]): Promise<void> => this.exclusive(() => this.#deliver(deliveries));

  /**
   * Runs `work` between batches: a bridges/ reload's service messages (chat-links.ts) are
   * appended and flushed on their own, never into a batch in hand (whose flush, or failure, they
   * would share).
   */
  readonly exclusive = <T>(work: () => Promise<T>): Promise<T> => this.#writing.run('logs', work);

  /** The logs' writers, one at a time (a single key). */
  readonly #writing = new KeyedLock();

  readonly #deliver = async (deliveries: readonly Delivery[]): Promise<void> => {
    // Another instance wrote meanwhile (the box reloads itself): forget the private-chat sets too.
    if (await this.d.box.catchUp()) this.#forgetAll();
    // What follows the batch's write, in order: id-map links, then live updates.
    const after: After[] = [];
    for (const delivery of deliveries) {
      if (delivery.target.connector !== 'mtproto') continue;
      const target = this.#targetOf(delivery, true);
      if (target === undefined) continue;
      if (target.to !== undefined) await this.d.blocked.settled(target.to.id);
      if (this.#blockedFor(target, delivery)) {
        this.d.dropped?.inc({ reason: 'blocked' });
        continue;
      }
      // A private chat joins its accounts' sets (their pts) before its first entry; typing, presence, membership and topics write none.
      const writes = delivery.event.kind !== 'typing' && delivery.event.kind !== 'presence' && delivery.event.kind !== 'membership' && delivery.event.kind !== 'topic';
      if (target.chat.direct !== undefined && writes && !await this.d.directs.open(target.chat)) {
        this.d.dropped?.inc({ reason: 'full' });
        this.d.logger.warn({ room: target.chat.room, event: delivery.event.id }, 'mtproto: an account has too many private chats for a new one: dropped');
        continue;
      }
      await this.#one(target, delivery.event, hintsOf(delivery), after);
    }
    // The id-map links go out together with the batch's writes, not one round trip after them:
    // this handler runs inside the bus's publish (direct delivery), so every round trip here holds
    // the next publish back. Both are done before the batch counts as delivered. A link that
    // landed for a batch whose write failed points at an id the retry replaces (it links again).
    await Promise.all([this.d.box.flush(), ...after.flatMap((a) => (a.link ? [a.link()] : []))]);
    for (const a of after) if (a.push) await a.push();
    // The other instances' sessions: they read what was written and push it (fannedIn). Best
    // effort: a lost message makes them resync, and their clients catch up with getDifference.
    if (this.d.fanout !== undefined) {
      try {
        await this.d.fanout.publish(FANOUT_CHANNEL, deliveries);
      } catch (err) {
        this.d.logger.warn({ err, deliveries: deliveries.length }, 'mtproto fan-out publish failed: other instances resync');
      }
    }
  };

  /**
   * A batch another instance wrote (its fan-out): each touched chat's log is read again from the
   * state (answering calls here that wait for those entries), and its updates go to the sessions
   * on this instance, as the writer pushed them to its own.
   */
  readonly fannedIn = (deliveries: readonly Delivery[]): void => {
    this.#fanChain = this.#fanChain.then(() => this.#fannedIn(deliveries)).catch((err: unknown) => {
      this.d.logger.warn({ err }, 'mtproto: a fanned-in batch failed: reading everything again');
      this.#forgetAll();
    });
  };

  /** Fanned-in batches may have been lost: read every chat again when it is next needed. */
  readonly resync = (): void => {
    this.#fanChain = this.#fanChain.then(() => this.#forgetAll());
  };

  /**
   * Everything read from the state may be stale: the chats' logs and messages, and which private
   * chats each account has (both are read again when next needed). The one place that forgets,
   * so neither is ever forgotten without the other.
   */
  #forgetAll(): void {
    this.d.box.forgetAll();
    this.d.directs.forget();
  }

  async #fannedIn(deliveries: readonly Delivery[]): Promise<void> {
    const refreshed = new Map<string, Promise<unknown>>();
    // A private chat between two accounts here comes once per party: its entries are pushed once.
    const pushed = new Set<string>();
    for (const delivery of deliveries) {
      if (delivery.target.connector !== 'mtproto') continue;
      const target = this.#targetOf(delivery, false);
      if (target?.to !== undefined) await this.d.blocked.settled(target.to.id);
      if (target === undefined || this.#blockedFor(target, delivery)) continue;
      const { chat } = target;
      if (chat.direct !== undefined) await this.d.directs.learn(chat);
      if (!refreshed.has(chat.address)) refreshed.set(chat.address, this.d.box.refresh(chat.address));
      await refreshed.get(chat.address);
      const { event } = delivery;
      const hints = hintsOf(delivery);
      if (event.kind === 'typing') {
        await this.#pushTyping(target, event, await this.d.people.senderIdOf(event.sender, hints?.identity));
      } else if (event.kind === 'presence') {
        const at = event.state === 'offline' && event.lastSeen !== undefined ? seconds(event.lastSeen) : seconds(event.ts);
        this.#pushPresence(target, event, await this.d.people.senderIdOf(event.sender, hints?.identity), at);
      } else if (event.kind === 'topic') {
        // The writer stored it: members here are told when it is what the group shows now.
        if (chat.direct === undefined && await this.d.abouts.isCurrent(chat, event.id)) this.#pushChatChanged(chat);
        this.d.abouts.applied(event.id);
      } else if (event.kind !== 'membership') {
        const eventKey = event.kind === 'message' ? partKey(event.id, hints?.part?.index ?? 0) : event.id;
        if (pushed.has(`${chat.address}\n${eventKey}`)) continue;
        pushed.add(`${chat.address}\n${eventKey}`);
        // Every entry the writer made of it (none: it dropped it, e.g. it pointed at an unknown message).
        const entries = await entriesOfDelivery(this.d.box, chat.address, eventKey);
        for (const entry of entries) {
          const record = entry.k === 'read' ? undefined : await this.d.box.record(entry.m);
          await this.#pushEntry(chat, entry, record, answeredSession(event, entries.length));
        }
      }
    }
  }

  /** Whether the delivery is from someone the addressed account blocked (private chats only: in groups both see each other). */
  #blockedFor(target: Target, delivery: Delivery): boolean {
    if (target.to === undefined) return false;
    const sender = this.d.people.senderIdNow(delivery.event.sender, hintsOf(delivery)?.identity);
    return sender !== target.to.id && this.d.blocked.blocks(target.to.id, sender);
  }

  /**
   * The conversation a delivery is for, and the account it is addressed to in a private chat; or
   * undefined (logged when `log`). A direct room's target is a person, not a group: taking their
   * id for a chat id would put a private message into the group that has the same number.
   */
  #targetOf(delivery: Delivery, log: boolean): Target | undefined {
    const { event, target } = delivery;
    if (isDirectRoom(event.room)) {
      const chat = this.d.directs.chatOf(event.room);
      const account = chat?.direct?.parties.find((p) => p.network === 'mtproto' && p.id === target.address);
      const to = account === undefined ? undefined : this.d.directs.accountOfParty(account);
      if (chat === undefined || to === undefined) {
        // The login service's messages (code-delivery.ts) come back to their own sender, who is no account: nothing to say.
        const ownEcho = event.origin.connector === 'mtproto' && event.origin.endpoint === target.address;
        if (log && !ownEcho) {
          this.d.dropped?.inc({ reason: 'no_account' });
          this.d.logger.info({ room: event.room, user: target.address, event: event.id }, 'mtproto: a private message for a user who is no account here: dropped');
        }
        return undefined;
      }
      return { chat, endpoint: target, to };
    }
    const chat = this.d.directory.chatOfAddress(target.address);
    if (chat === undefined && log) this.#notServed(target.address, event);
    return chat === undefined ? undefined : { chat, endpoint: chat.endpoint };
  }

  /**
   * A delivery to a chat not served here is dropped, never retried (a retry cannot make it
   * served). One to a group a bridges/ reload unlinked was routed before the reload (it waited
   * on the bus): nothing is bridged to an unlinked group, and linking it again replays none of it.
   */
  #notServed(address: string, event: CanonicalEvent): void {
    const id = chatIdOf(address);
    if (id !== undefined && this.d.directory.formerChat(id) !== undefined) {
      this.d.unlinkedDropped?.inc();
      this.d.logger.info({ endpoint: address, event: event.id, kind: event.kind }, 'mtproto: delivery to a group unlinked by a bridges/ reload: dropped');
      return;
    }
    this.d.logger.warn({ endpoint: address, event: event.id }, 'mtproto: delivery to a chat that is not served (not a numeric chat id?): dropped');
  }

  /** `hints`: what the mapper says about the delivery (absent with the mapper off). */
  async #one(to: Target, event: CanonicalEvent, hints: DeliveryHints | undefined, after: After[]): Promise<void> {
    const target = hints?.refs?.target;
    switch (event.kind) {
      case 'message': return this.#message(to, event, hints, after);
      case 'edit': return this.#edit(to, event, target, hints, after);
      case 'retract': return this.#retract(to, event, target, hints, after);
      case 'reaction': {
        const reactor = String(await this.d.people.senderIdOf(event.sender, hints?.identity));
        const id = await this.#targetIdOf(to, event, event.target, target);
        if (id === undefined) return;
        return this.#change(to, event, after, 'react', id, event.id, answeredSession(event, 1), reactor, (r) => {
          const reactions: Record<string, readonly string[]> = { ...r.reactions };
          if (event.reactions.length === 0) delete reactions[reactor];
          else reactions[reactor] = [...new Set(event.reactions)];
          return { ...r, reactions };
        });
      }
      case 'receipt': return this.#receipt(to, event, hints, after);
      case 'typing': return this.#typing(to, event, hints, after);
      case 'presence': return this.#presence(to, event, hints, after);
      case 'membership': return;
      case 'topic': return this.#topic(to, event, after);
    }
  }

  /**
   * Opens the history of every chat whose log is empty with a "group created" service message:
   * clients expect each dialog to have a top message (gramjs cannot even list one without).
   */
  async prepare(): Promise<void> {
    for (const chat of this.d.directory.chats) {
      const log = await this.d.box.chat(chat.address);
      if (log.count > 0) continue;
      const time = seconds(Date.now());
      await this.d.box.append(chat.address, { kind: 'new', eventKey: `created:${chat.address}`, time, from: '0' }, (g) => ({
        id: g, chat: chat.address, ev: `created:${chat.address}`, from: '0', date: time, text: '', service: 'create',
      }));
    }
    await this.d.box.flush();
  }

  /**
   * The message id a canonical event has in a chat (undefined: never delivered there, or
   * forgotten): the mapper's resolved native id when it gave one, else the id map, else the log.
   */
  async #msgIdOf({ chat, endpoint }: Target, eventId: EventId, resolved?: string): Promise<number | undefined> {
    if (resolved !== undefined && /^\d{1,10}$/.test(resolved)) return Number(resolved);
    const native = await this.d.bus.idMap.nativeOf(eventId, endpoint);
    if (native !== undefined && /^\d+$/.test(native)) return Number(native);
    // Earlier in this very batch: not linked yet.
    const found = await this.d.box.find(chat.address, eventId, true);
    return found?.entry.k === 'new' ? found.entry.m : undefined;
  }

  async #message(to: Target, event: EventOfKind<'message'>, hints: DeliveryHints | undefined, after: After[]): Promise<void> {
    const { chat } = to;
    const from = String(await this.d.people.senderIdOf(event.sender, hints?.identity));
    const reply = event.replyTo === undefined ? undefined : await this.#msgIdOf(to, event.replyTo, hints?.refs?.replyTo);
    let text = event.text;
    const spans: Span[] = [...(event.spans ?? [])];
    const files: MediaInfo[] = [];
    // The mapper's plans carry the URL to use here (a signed media-store link); without it, the attachment's own.
    const urls = new Map(hints?.attachments?.map((p) => [p.attachment.id, p.url]));
    for (const a of event.attachments ?? []) {
      const url = urls.get(a.id) ?? a.url;
      // Bytes in our store (sent from here, or, with the media store, uploaded by another network): a native file.
      const known = files.length < MAX_ALBUM_FILES ? await this.d.files.native(a) : undefined;
      if (known !== undefined) {
        files.push(known);
        continue;
      }
      // Elsewhere (or past an album's files): a line with a link to it.
      const label = `📎 ${a.name.trim() === '' ? 'file' : a.name}`;
      if (text !== '') text += '\n';
      spans.push({ type: 'link', offset: text.length, length: label.length, url });
      text += label;
    }
    // A long text split by the mapper: every part is a message of its own, under one event id.
    const part = hints?.part?.index ?? 0;
    const eventKey = partKey(event.id, part);
    const origin = answeredSession(event, 1);
    const time = seconds(event.ts);
    // Several files: an album, one message per file, the text (its caption) on the first.
    const group = files.length > 1 ? { group: albumGroupOf(event.id) } : {};
    const replyField = reply !== undefined ? { reply } : {};
    // A bot's keyboard (keyboards.ts): on a message that is one part, not an album. A reply keyboard
    // marks its bot here too, for a writer that is not the sending instance (whose mark it may not see for 30 s).
    const keyboard = hints?.part === undefined && files.length <= 1 && this.#mayHaveKeyboard(event) ? await keptKeyboard(this.d.state, event.id) : undefined;
    if (keyboard?.reply !== undefined) await this.d.replyKeyboardBots.mark(BigInt(event.sender.id));
    // Sent from its account's schedule (methods/scheduled.ts): clients show it as such.
    const fromScheduled = event.origin.connector === 'mtproto' && event.origin.session === SCHEDULER_SESSION;
    for (let n = 0; n < Math.max(files.length, 1); n++) {
      const media = files[n];
      const body = n === 0 ? { text, ...(spans.length > 0 ? { spans } : {}) } : { text: '' };
      const result = await this.d.box.append(chat.address, { kind: 'new', eventKey: n === 0 ? eventKey : moreKey(eventKey, n), time, from }, (g) => ({
        id: g, chat: chat.address, ev: event.id, from, date: time, ...body, ...replyField, ...(media !== undefined ? { media } : {}), ...group,
        ...(keyboard !== undefined ? { keyboard } : {}), ...(fromScheduled ? { scheduled: true as const } : {}),
      }));
      // The first message of the first part stands for the event (replies, edits and reactions
      // point at it); linked again for a re-delivered batch too, in case the link is what failed.
      const link = part === 0 && n === 0 ? () => this.d.bus.idMap.link(event.id, to.endpoint, String(result.entry.m)) : undefined;
      after.push({ ...(link ? { link } : {}), ...(result.fresh ? { push: () => this.#pushEntry(chat, result.entry, result.record, origin) } : {}) });
    }
  }

  /**
   * An edit changes the text of the message's first message (where an album's caption is). A
   * text the mapper had split into parts becomes the edited text alone (the mapper cuts an edit to
   * one message): its further parts, stale now, are deleted.
   */
  async #edit(to: Target, event: EventOfKind<'edit'>, resolved: string | undefined, hints: DeliveryHints | undefined, after: After[]): Promise<void> {
    const id = await this.#targetIdOf(to, event, event.target, resolved);
    if (id === undefined || !await this.#byAuthor(to, event, id, hints)) return;
    const origin = answeredSession(event, 1);
    // A bot's edit brings its inline keyboard anew, or takes it away (as on Telegram); others leave
    // it. A reply keyboard (or its removal) stays with the message, after the edited text.
    const byBot = this.#fromBot(event);
    const keyboard = byBot && mayEndInButtons(event.text, event.spans) ? await keptKeyboard(this.d.state, event.id) : undefined;
    await this.#change(to, event, after, 'edit', id, event.id, origin, undefined, (r) => ({
      ...r, text: event.text, ...(event.spans !== undefined ? { spans: event.spans } : { spans: undefined }), edited: seconds(event.ts),
      ...(byBot ? { keyboard: isReplyKind(r.keyboard) ? { ...r.keyboard!, at: event.text.length } : keyboard } : {}),
    }));
    const first = await this.d.box.record(id);
    const stale = first === undefined ? [] : await messagesOfEvent(this.d.box, to.chat.address, first.ev, true, 1);
    await this.#delete(to, event, after, stale, 1, origin);
  }

  /**
   * A retraction deletes every message its target became here: all parts, all files of an album.
   * A moderator's (`moderation`: set only where the right was checked, core/event.ts) deletes
   * anyone's, for everyone, as a group admin's deletion does; any other only its author's.
   */
  async #retract(to: Target, event: EventOfKind<'retract'>, resolved: string | undefined, hints: DeliveryHints | undefined, after: After[]): Promise<void> {
    const id = await this.#targetIdOf(to, event, event.target, resolved);
    if (id === undefined) return;
    if (event.moderation !== undefined) {
      this.d.logger.info({ chat: to.chat.address, event: event.id, id, by: `${event.sender.network}:${event.sender.id}`, reason: event.moderation.reason }, 'mtproto: a message removed by a moderator');
    } else if (!await this.#byAuthor(to, event, id, hints)) return;
    const first = await this.d.box.record(id);
    const found = first === undefined ? [] : await messagesOfEvent(this.d.box, to.chat.address, first.ev, true);
    const ids = found.includes(id) ? found : [id];
    await this.#delete(to, event, after, ids, 0, answeredSession(event, ids.length));
  }

  /**
   * Deletes `ids`, one log entry each, keyed as the event's entries from the `from`-th on
   * (0: the event's own key, then `<key>#m<n>`: event-entries.ts), so a re-delivery writes none twice.
   */
  async #delete(to: Target, event: CanonicalEvent, after: After[], ids: readonly number[], from: number, origin: string | undefined): Promise<void> {
    for (const [i, id] of ids.entries()) {
      const n = from + i;
      await this.#change(to, event, after, 'del', id, n === 0 ? event.id : moreKey(event.id, n), origin, undefined, (r) => ({ id: r.id, chat: r.chat, ev: r.ev, from: r.from, date: r.date, text: '', deleted: true }));
    }
  }

  /** Whether an MTProto bot account sent the event (only they have keyboards). */
  #fromBot(event: CanonicalEvent): boolean {
    if (event.origin.connector !== 'mtproto' || event.sender?.network !== 'mtproto' || !/^\d{1,20}$/.test(event.sender.id)) return false;
    return this.d.directory.account(BigInt(event.sender.id))?.bot === true;
  }

  /**
   * Whether a message may have a keyboard to read: a bot's text that can end in buttons, or any
   * message of a bot that has shown a reply keyboard (its removal adds no lines: reply-keyboard-bots.ts).
   * No read, no wait for any other.
   */
  #mayHaveKeyboard(event: EventOfKind<'message'>): boolean {
    if (!this.#fromBot(event)) return false;
    return mayEndInButtons(event.text, event.spans) || this.d.replyKeyboardBots.uses(BigInt(event.sender.id));
  }

  /**
   * Whether an edit or retraction comes from the one who sent the message it changes. The bus
   * carries what each network sent, and not every network checks this before it is sent (an XMPP
   * room passes on any occupant's correction of anyone's message, XEP-0308 leaves the check to
   * the receiver, as Matrix does for edits), so a receiver that applies changes checks it, as the
   * bridge's MTProto methods check their own users' calls (MESSAGE_AUTHOR_REQUIRED). The sender's
   * user id as the message was shown (the mapper's linked account, or their puppet) or their
   * puppet's id without the mapper's view (a link made since). Otherwise the event is dropped,
   * logged and counted (`switchboard_mtproto_not_author_total`).
   */
  async #byAuthor(to: Target, event: EventOfKind<'edit' | 'retract'>, id: number, hints: DeliveryHints | undefined): Promise<boolean> {
    const record = await this.d.box.record(id);
    if (record === undefined) return true; // forgotten: the change finds nothing to apply either
    const shown = String(this.d.people.senderIdNow(event.sender, hints?.identity));
    if (record.from === shown || record.from === String(this.d.people.senderIdNow(event.sender))) return true;
    this.d.notAuthor?.inc({ kind: event.kind });
    this.d.logger.warn({ chat: to.chat.address, event: event.id, kind: event.kind, id, sender: `${event.sender.network}:${event.sender.id}` }, 'mtproto: an edit or retraction of a message its sender did not send: dropped');
    return false;
  }

  /** The message an event's `target` is here; undefined (logged: the event is dropped) when it is not known. */
  async #targetIdOf(to: Target, event: CanonicalEvent, target: EventId, resolved: string | undefined): Promise<number | undefined> {
    const id = await this.#msgIdOf(to, target, resolved);
    if (id === undefined) this.d.logger.info({ chat: to.chat.address, event: event.id, kind: event.kind, target }, 'mtproto: the message this event points at is not known here: dropped');
    return id;
  }

  /** One log entry (`eventKey`) changing the message `id`, unless it is deleted or forgotten; pushed to all but `origin`. */
  async #change(to: Target, event: CanonicalEvent, after: After[], kind: 'edit' | 'del' | 'react', id: number, eventKey: string, origin: string | undefined, who: string | undefined, apply: (r: MessageRecord) => MessageRecord): Promise<void> {
    const { chat } = to;
    let skipped = false;
    // A reaction's entry names who reacted (`u`): unread reactions are others' (unread-reactions.ts).
    const result = await this.d.box.append(chat.address, { kind, eventKey, time: seconds(event.ts), target: id, ...(who !== undefined ? { reader: who } : {}) }, async () => {
      const current = await this.d.box.record(id);
      if (current === undefined || current.deleted === true) {
        skipped = true;
        return undefined;
      }
      return apply(current);
    });
    if (skipped) this.d.logger.info({ chat: chat.address, event: event.id, id }, 'mtproto: change of a deleted or forgotten message');
    if (result.fresh) after.push({ push: () => this.#pushEntry(chat, result.entry, result.record, origin) });
  }

  async #receipt(to: Target, event: EventOfKind<'receipt'>, hints: DeliveryHints | undefined, after: After[]): Promise<void> {
    if (event.receipt !== 'displayed') return;
    const { chat } = to;
    const id = await this.#msgIdOf(to, event.target, hints?.refs?.target);
    if (id === undefined) return;
    const reader = String(await this.d.people.senderIdOf(event.sender, hints?.identity));
    const origin = answeredSession(event, 1);
    const result = await this.d.box.append(chat.address, { kind: 'read', eventKey: event.id, time: seconds(event.ts), target: id, reader }, () => undefined);
    if (result.fresh) after.push({ push: () => this.#pushEntry(chat, result.entry, undefined, origin) });
  }

  /**
   * Pushes a new log entry to every account of the chat with sessions here, with its pts; not to
   * `origin`, the MTProto session that made it (it got the entry as the answer to its call).
   */
  async #pushEntry(chat: ChatInfo, entry: LogEntry, record: MessageRecord | undefined, origin: string | undefined): Promise<void> {
    // Only accounts with a session to push to: the sender's own session got the entry as its answer.
    const members = accountsOfChat(this.d, chat).filter((a) => this.d.live.reaches(a.id, origin));
    if (members.length === 0) return;
    const userIds = new Set<bigint>();
    if (record !== undefined) {
      userIds.add(BigInt(record.from));
      for (const u of Object.keys(record.reactions ?? {})) userIds.add(BigInt(u));
    }
    if (entry.u !== undefined) userIds.add(BigInt(entry.u));
    const persons = (await Promise.all([...userIds].map((id) => this.d.people.person(id)))).filter((p) => p !== undefined);
    for (const account of members) {
      const pts = await this.d.pts.at(account, entry.g);
      // A private chat's peer is a user the update must carry (it may not have written in it).
      const peer = chat.direct !== undefined ? this.d.directs.peerOf(chat, account.id) : undefined;
      const peers = peer === undefined || userIds.has(peer) ? [] : [await this.d.people.person(peer)].filter((p) => p !== undefined);
      // A new message takes an unmuted chat out of the account's archive (archive-marks.ts): told with it.
      const returns = entry.k === 'new' && this.d.archives.returns(account.id, chat.address, entry.m);
      if (returns) this.#leaveArchive(account.id, chat.address, entry.m);
      this.d.live.push(account.id, (layer) => {
        const view = viewAt(this.d, account, layer);
        const update = this.d.render.update(entry, record, chat.address, view, pts);
        if (update === undefined) return undefined;
        // After the message (its pts first), pts_count 0: no gap for a client that checks.
        const folders = returns ? [{ _: 'updateFolderPeers', folder_peers: [{ _: 'folderPeer', peer: this.d.render.peer(chat, view), folder_id: 0 }], pts, pts_count: 0 }] : [];
        return { _: 'updates', updates: [update, ...folders], users: [...persons, ...peers].map((p) => this.d.render.userObject(p, view)), chats: this.d.render.chatObjects([chat], view), date: view.now, seq: 0 };
      }, origin);
    }
  }


  /** A chat left the account's archive with a new message: known here at once, written behind (every instance pushing it writes the same). */
  #leaveArchive(accountId: bigint, chat: string, messageId: number): void {
    this.d.archives.left(accountId, chat);
    this.d.dialogSettings.leaveArchive(accountId, chat, messageId).catch((err: unknown) => {
      this.d.logger.warn({ err, user: String(accountId), chat }, 'mtproto: a chat that left the archive could not be written so (the dialogs list it in the main list all the same)');
    });
  }

  /**
   * A room's topic becomes the group's description. Telegram has no service message for a basic
   * group's new description: members' sessions get updateChat, and apps that care ask for the
   * full chat again. A call waiting for the topic (methods/group-about.ts) answers once it is stored.
   */
  async #topic(to: Target, event: EventOfKind<'topic'>, after: After[]): Promise<void> {
    const { chat } = to;
    if (chat.direct !== undefined) {
      // The router sends none (a direct chat has no topic): nothing to set, should one come.
      this.d.logger.info({ room: event.room, event: event.id }, 'mtproto: a topic for a private chat: dropped');
      return;
    }
    const shown = await this.d.abouts.apply(chat, event.text, event.id);
    this.d.topics?.inc({ outcome: shown ? 'set' : 'unchanged' });
    this.d.logger.info({ chat: chat.address, event: event.id, by: `${event.sender.network}:${event.sender.id}`, cleared: event.text === '', unchanged: !shown }, 'mtproto: a room\'s topic is the group\'s description');
    after.push({ push: () => { if (shown) this.#pushChatChanged(chat); this.d.abouts.applied(event.id); } });
  }

  /** updateChat to every session here of the group's members (the one that set it too: its answer was a bare boolTrue). */
  #pushChatChanged(chat: ChatInfo): void {
    for (const account of this.d.directory.membersOf(chat)) {
      if (!this.d.live.has(account.id)) continue;
      this.d.live.push(account.id, (layer) => {
        const view = viewAt(this.d, account, layer);
        return { _: 'updates', updates: [{ _: 'updateChat', chat_id: chat.id }], users: [], chats: this.d.render.chatObjects([chat], view), date: view.now, seq: 0 };
      });
    }
  }

  async #typing(to: Target, event: EventOfKind<'typing'>, hints: DeliveryHints | undefined, after: After[]): Promise<void> {
    const from = await this.d.people.senderIdOf(event.sender, hints?.identity);
    after.push({ push: () => this.#pushTyping(to, event, from) });
  }

  /**
   * Who hears typing and presence, which have no entry to write once: a group's members; in a
   * private chat, the account the delivery is for (the other party gets its own delivery).
   */
  #audienceOf(to: Target): Account[] {
    return to.to !== undefined ? [to.to] : this.d.directory.membersOf(to.chat);
  }

  async #pushTyping(to: Target, event: EventOfKind<'typing'>, from: bigint): Promise<void> {
    const { chat } = to;
    const action = { _: event.state === 'active' ? 'sendMessageTypingAction' : 'sendMessageCancelAction' };
    for (const account of this.#audienceOf(to)) {
      if (account.id === from || !this.d.live.has(account.id)) continue;
      const person = await this.d.people.person(from);
      this.d.live.push(account.id, (layer) => {
        const view = viewAt(this.d, account, layer);
        // In a private chat the one who types is the peer: updateUserTyping names only them.
        const update = chat.direct !== undefined
          ? { _: 'updateUserTyping', user_id: from, action }
          : { _: 'updateChatUserTyping', chat_id: chat.id, from_id: peerUser(from), action };
        return {
          _: 'updates', updates: [update],
          users: person === undefined ? [] : [this.d.render.userObject(person, view)], chats: this.d.render.chatObjects([chat], view), date: view.now, seq: 0,
        };
      });
    }
  }

  async #presence(to: Target, event: EventOfKind<'presence'>, hints: DeliveryHints | undefined, after: After[]): Promise<void> {
    const from = await this.d.people.senderIdOf(event.sender, hints?.identity);
    const at = event.state === 'offline' && event.lastSeen !== undefined ? seconds(event.lastSeen) : seconds(event.ts);
    after.push({ push: () => this.#pushPresence(to, event, from, at) });
  }

  #pushPresence(to: Target, event: EventOfKind<'presence'>, from: bigint, at: number): void {
    this.d.presence.set(from, event.state, at, event.ts);
    for (const account of this.#audienceOf(to)) {
      // An account that hid its status from this one (status-privacy.ts): nothing is pushed.
      if (account.id === from || !this.d.live.has(account.id) || !this.d.statusPrivacy.shows(from, account.id)) continue;
      this.d.live.push(account.id, (layer) => {
        const view = viewAt(this.d, account, layer);
        const update: TlObject = { _: 'updateUserStatus', user_id: from, status: this.d.presence.statusOf(from, view.now) };
        return { _: 'updateShort', update, date: view.now };
      });
    }
  }
}

