// What a bridges/ reload does to the MTProto groups (Connector.endpointsChanged), and a reload of
// config.yaml's accounts to their members (account-reload.ts: a group moves into or out of an
// account's set as a bridges/ move does): members of a group linked now learn of it, members of a group unlinked learn they were removed, members of a
// group moved to another room see its new title, each the way Telegram tells a user of a basic
// group: a service message in the group's log (messageActionChatAddUser / ChatCreate,
// messageActionChatDeleteUser of themselves, messageActionChatEditTitle), with pts, so a client
// that was away gets it from updates.getDifference and a connected one at once.
//
// Several instances share the logs, and each gets its own SIGHUP: each group's membership as last
// told is kept in the state (`link:<chat>`), and the instance whose reload changes that record
// first (compare-and-set) writes the service messages, once; every instance pushes them to its
// own sessions (the writer tells the others with a note). The record also keeps, across restarts,
// who a group unlinked was taken from (they still list it, as a group they were removed from).
import type { Notes, StateStore, Stoppable } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Counter, Gauge } from '../../../core/metrics.ts';
import type { LogEntry } from './chat-log.ts';
import type { ChatInfo, Directory, GroupChange } from './directory.ts';
import type { MessageBox, MessageRecord } from './message-box.ts';
import type { People } from './people.ts';
import type { PtsBook } from './pts.ts';
import type { Renderer } from './render.ts';
import type { LiveSessions } from './live-sessions.ts';
import type { LayeredCodec } from '../tl/layered-codec.ts';
import { viewAt } from './methods/common.ts';

/** The notes channel on which the writer of a reload's service messages tells the other instances. */
export const LINKS_NOTES = 'mtproto-links';

/** A group's membership as its members were last told (`link:<chat>`). */
interface LinkRecord {
  /** Raised by each change: the service messages of change v are keyed by it. */
  readonly v: number;
  readonly linked: boolean;
  readonly room: string;
  /** Linked: its members. Unlinked: those it was taken from (they still list it). */
  readonly members: readonly string[];
}

/** Every chat id that has a record (the state has no key listing). */
const INDEX_KEY = 'links';

function isLinkRecord(v: unknown): v is LinkRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r['v'] === 'number' && typeof r['linked'] === 'boolean' && typeof r['room'] === 'string' && Array.isArray(r['members']) && r['members'].every((m) => typeof m === 'string');
}

export interface ChatLinksDeps {
  readonly state: StateStore;
  readonly directory: Directory;
  readonly box: MessageBox;
  readonly pts: PtsBook;
  readonly render: Renderer;
  readonly people: People;
  readonly live: LiveSessions;
  readonly codec: LayeredCodec;
  readonly logger: Logger;
  readonly notes?: Notes;
  /** Runs `work` between the egress handler's batches (this instance writes the logs one batch at a time). */
  readonly exclusive: <T>(work: () => Promise<T>) => Promise<T>;
  /** Groups served now (`switchboard_mtproto_groups`). */
  readonly groups?: Gauge<string>;
  /** Groups changed by reloads, by change (`switchboard_mtproto_group_changes_total`). */
  readonly changes?: Counter<string>;
}

const seconds = (ms: number) => Math.floor(ms / 1000);
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** One service message of a change, and who is told of it. */
interface Told {
  readonly key: string;
  readonly audience: readonly bigint[];
}

export class ChatLinks {
  /** Service messages already pushed to this instance's sessions (a note may come after the reload found them). */
  readonly #pushed = new Set<string>();
  /** Reloads apply one after another: a second SIGHUP waits for the first. */
  #chain: Promise<void> = Promise.resolve();

  constructor(private readonly d: ChatLinksDeps) {}

  /**
   * At start: the groups unlinked earlier come back as former chats of those they were taken
   * from, and each linked group's record says what its members are now (a restart's own changes
   * are not told: the record only starts from them).
   */
  async start(): Promise<void> {
    const index = await this.#index();
    const linked = new Set(this.d.directory.chats.map((c) => c.address));
    for (const address of index) {
      const record = await this.#read(address);
      if (record === undefined || linked.has(address)) continue;
      if (!record.linked) {
        this.d.directory.restoreFormer(address, record.room, record.members.map(BigInt));
        continue;
      }
      // Unlinked by the restart itself: no one was told (their pts offsets simply left it out), so
      // no one lists it; a later reload that links it again tells its members they were added.
      await this.d.state.set(`link:${address}`, JSON.stringify({ v: record.v + 1, linked: false, room: record.room, members: [] } satisfies LinkRecord));
    }
    for (const chat of this.d.directory.chats) {
      const raw = await this.d.state.get(`link:${chat.address}`);
      const stored = raw === undefined ? undefined : this.#parse(raw);
      const now = this.#linkedNow(chat);
      if (stored !== undefined && stored.linked && stored.room === now.room && sameSet(stored.members, now.members)) continue;
      await this.d.state.set(`link:${chat.address}`, JSON.stringify({ ...now, v: (stored?.v ?? 0) + 1 }));
    }
    await this.#remember(this.d.directory.chats.map((c) => c.address));
    this.d.groups?.set(this.d.directory.chats.length);
  }

  /** Follows the other instances' notes: a reload's service messages they wrote reach the sessions here. */
  follow(): Stoppable | undefined {
    return this.d.notes?.subscribe(LINKS_NOTES, (note) => {
      // It wrote outside the egress: if this instance is the egress writer, it reloads before its next batch.
      this.d.box.othersAppended();
      this.#chain = this.#chain.then(() => this.#pushWritten(note)).catch((err: unknown) => {
        this.d.logger.warn({ err, note }, 'mtproto: the service messages of another instance\'s reload could not be pushed (clients get them from getDifference)');
      });
    });
  }

  /**
   * The directory took a reload (Directory.apply): tells each changed group's members, in the
   * background. Resolves when done (tests); never rejects: a failure is logged, and clients then
   * learn of it from getDifference once an instance writes it (the next reload retries).
   */
  changed(changes: readonly GroupChange[], cause: 'bridges' | 'accounts' = 'bridges'): Promise<void> {
    this.d.groups?.set(this.d.directory.chats.length);
    if (changes.length === 0) return this.#chain;
    // The sets of groups changed: every pts offset is read again (moved where a set changed: #rebase).
    this.d.pts.forget();
    const run = this.#chain.then(async () => {
      try {
        await this.d.exclusive(() => this.#rebase());
      } catch (err) {
        this.d.logger.warn({ err }, 'mtproto: the accounts\' pts could not all be moved to their new sets of groups (each is moved when next read)');
      }
      for (const change of changes) {
        // Groups an accounts reload gave or took members are no group changes (account changes count them).
        if (cause === 'bridges') this.d.changes?.inc({ change: !change.linked ? 'removed' : change.retitledFrom !== undefined ? 'moved' : 'added' });
        try {
          await this.#one(change);
        } catch (err) {
          this.d.logger.warn({ err, chat: change.chat.address }, 'mtproto: telling a group\'s members of a reload failed (the next reload tries again)');
        }
      }
    });
    this.#chain = run;
    return run;
  }

  /**
   * Every account whose set of groups changed has its pts offset moved now, between egress
   * batches and before any service message is written: its pts goes on from the entries of its
   * former set as they are at this moment. Left for later, the move would take in whatever a
   * group it left got meanwhile (its pts would jump by entries it is never shown), and a group it
   * joined would have its service message taken into the offset instead of being an update.
   */
  async #rebase(): Promise<void> {
    for (const account of this.d.directory.accounts) await this.d.pts.offsetOf(account);
  }

  /** A linked group's record as this instance's directory has it now. */
  #linkedNow(chat: ChatInfo): Omit<LinkRecord, 'v'> {
    return { linked: true, room: chat.room, members: this.d.directory.membersOf(chat).map((a) => String(a.id)).sort() };
  }

  async #one(change: GroupChange): Promise<void> {
    const { chat } = change;
    const key = `link:${chat.address}`;
    const raw = await this.d.state.get(key);
    const before = raw === undefined ? undefined : this.#parse(raw);
    // Unlinked: it is taken from its members as last told (by this instance's start or reload, or
    // by another instance that told them already: then the record is the one wanted).
    const wanted = change.linked ? this.#linkedNow(chat) : { linked: false, room: chat.room, members: [...before?.members ?? change.left.map((a) => String(a.id))].sort() };
    if (!change.linked) this.d.directory.restoreFormer(chat.address, chat.room, wanted.members.map(BigInt));
    await this.#remember([chat.address]);
    if (before !== undefined && before.linked === wanted.linked && before.room === wanted.room && sameSet(before.members, wanted.members)) {
      // Told already (another instance's reload came first): its messages reach the sessions here too.
      await this.#pushWritten(JSON.stringify({ chat: chat.address, v: before.v }));
      return;
    }
    const record: LinkRecord = { ...wanted, v: (before?.v ?? 0) + 1 };
    const won = raw === undefined ? await this.d.state.setIfAbsent(key, JSON.stringify(record)) : await this.d.state.replace(key, raw, JSON.stringify(record));
    if (!won) {
      // Another instance changed it between our read and write: it tells them.
      this.d.logger.debug({ chat: chat.address }, 'mtproto: another instance tells the group\'s members of the reload');
      return;
    }
    const told = await this.#write(chat, before, record);
    await this.#push(chat, told);
    this.d.logger.info({ chat: chat.address, room: chat.room, linked: record.linked, messages: told.length }, 'mtproto: a group\'s members were told of a reload');
    await this.d.notes?.publish(LINKS_NOTES, JSON.stringify({ chat: chat.address, v: record.v })).catch((err: unknown) => {
      this.d.logger.warn({ err, chat: chat.address }, 'mtproto: other instances were not told of a reload\'s service messages (their clients get them from getDifference)');
    });
  }

  /** The service messages from `before` to `after`, written (between egress batches). */
  async #write(chat: ChatInfo, before: LinkRecord | undefined, after: LinkRecord): Promise<Told[]> {
    const was = before?.linked === true ? before.members : [];
    const joined = after.linked ? after.members.filter((m) => !was.includes(m)) : [];
    const left = after.linked ? was.filter((m) => !after.members.includes(m)) : was;
    const retitled = after.linked && before?.linked === true && before.room !== after.room;
    const members = after.linked ? after.members.map(BigInt) : [];
    const time = seconds(Date.now());
    const base = `link:${chat.address}:${after.v}`;
    const messages: { key: string; record: (g: number) => MessageRecord; audience: bigint[] }[] = [];
    const service = (key: string, fields: Pick<MessageRecord, 'service' | 'users' | 'title'>) => (g: number): MessageRecord => ({ id: g, chat: chat.address, ev: key, from: '0', date: time, text: '', ...fields });
    if (retitled) messages.push({ key: `${base}:title`, record: service(`${base}:title`, { service: 'title', title: chat.title }), audience: members });
    if (joined.length > 0) {
      // A group with no history yet opens with "created" (naming its members), as Telegram tells those it was created with.
      const empty = (await this.d.box.chat(chat.address)).count === 0;
      const key = `${base}:join`;
      messages.push({ key, record: service(key, empty ? { service: 'create' } : { service: 'join', users: joined }), audience: members });
    }
    if (!after.linked && left.length > 0) {
      // Unlinked: everyone is removed at once. One message, which shows each of them its own removal (render.ts): one update each, not one per member.
      messages.push({ key: `${base}:leave`, record: service(`${base}:leave`, { service: 'leave', users: left }), audience: left.map(BigInt) });
    } else {
      // Some members leave a group that stays (its room changed): one message per account removed,
      // naming it, told to those who stay. Not to it: it no longer counts the group's log (its pts
      // left it when its set of groups changed), so the group simply leaves its list, as after a
      // restart; counting the log on would hand it the group's later messages in getDifference.
      for (const id of left) messages.push({ key: `${base}:leave:${id}`, record: service(`${base}:leave:${id}`, { service: 'leave', users: [id] }), audience: members });
    }
    await this.d.exclusive(async () => {
      for (const m of messages) await this.d.box.append(chat.address, { kind: 'new', eventKey: m.key, time, from: '0' }, m.record);
      await this.d.box.flush();
    });
    return messages.map((m) => ({ key: m.key, audience: m.audience }));
  }

  /** The service messages of change `v` of a chat another instance wrote (or this one found written), pushed here once. */
  async #pushWritten(note: string): Promise<void> {
    const parsed = JSON.parse(note) as { chat?: unknown; v?: unknown };
    if (typeof parsed.chat !== 'string' || typeof parsed.v !== 'number') return;
    // What it wrote is read here in any case (calls here see it), pushed only once this instance serves the change.
    await this.d.box.refresh(parsed.chat);
    const chat = this.d.directory.knownChatOfAddress(parsed.chat);
    const record = await this.#read(parsed.chat);
    // This instance has not taken that reload yet (its own SIGHUP pushes them), or a newer change came.
    if (chat === undefined || record === undefined || record.v !== parsed.v || record.linked !== this.d.directory.isLinked(chat)) return;
    const log = await this.d.box.chat(chat.address);
    const base = `link:${chat.address}:${record.v}`;
    // Linked: its members; unlinked: those it was taken from (the audience of its one removal message).
    const members = record.members.map(BigInt);
    const told: Told[] = [];
    for (const e of log.entries) if (e.e.startsWith(`${base}:`)) told.push({ key: e.e, audience: members });
    await this.#push(chat, told);
  }

  /** Pushes service messages to the sessions here of their audience, each with that account's pts. */
  async #push(chat: ChatInfo, told: readonly Told[]): Promise<void> {
    for (const { key, audience } of told) {
      if (this.#pushed.has(key)) continue;
      this.#pushed.add(key);
      const found = await this.d.box.find(chat.address, key);
      const record = found === undefined ? undefined : await this.d.box.record(found.entry.m);
      if (found === undefined || record === undefined) continue;
      await this.#pushEntry(chat, found.entry, record, audience);
    }
  }

  async #pushEntry(chat: ChatInfo, entry: LogEntry, record: MessageRecord, audience: readonly bigint[]): Promise<void> {
    const people = (await Promise.all((record.users ?? []).map((u) => this.d.people.person(BigInt(u))))).filter((p) => p !== undefined);
    for (const id of new Set(audience)) {
      const account = this.d.directory.account(id);
      if (account === undefined || !this.d.live.has(id)) continue;
      const pts = await this.d.pts.at(account, entry.g);
      this.d.live.push(id, (layer) => {
        const view = viewAt(this.d, account, layer);
        return {
          _: 'updates', updates: [{ _: 'updateNewMessage', message: this.d.render.message(record, view), pts, pts_count: 1 }],
          users: people.map((p) => this.d.render.userObject(p, view)), chats: [this.d.render.chatObject(chat, view)], date: view.now, seq: 0,
        };
      });
    }
  }

  async #read(address: string): Promise<LinkRecord | undefined> {
    const raw = await this.d.state.get(`link:${address}`);
    return raw === undefined ? undefined : this.#parse(raw);
  }

  #parse(raw: string): LinkRecord | undefined {
    try {
      const v: unknown = JSON.parse(raw);
      return isLinkRecord(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  async #index(): Promise<string[]> {
    const raw = await this.d.state.get(INDEX_KEY);
    try {
      const v: unknown = raw === undefined ? [] : JSON.parse(raw);
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    } catch {
      return [];
    }
  }

  /** Adds chats to the index (instances add the same ids; one that races another's addition adds it again on its next reload). */
  async #remember(addresses: readonly string[]): Promise<void> {
    const index = await this.#index();
    const missing = addresses.filter((a) => !index.includes(a));
    if (missing.length > 0) await this.d.state.set(INDEX_KEY, JSON.stringify([...index, ...missing]));
  }
}
