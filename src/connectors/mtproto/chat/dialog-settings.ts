// How an account arranges its chats, the same on all its devices: which it pinned (in order),
// which it marked unread, how each notifies it (muted until, silent, previews), and up to where
// it has seen the mentions of it (a message id: messages.readMentions) and the reactions to its
// messages (a log position: messages.readReactions), and which it moved to the archive. One state key
// per account (`dialogs:<user id>`), changed with compare-and-set (json-record.ts). Chats are
// named by address (a group's chat id, a private chat's room key); the notification defaults of
// all private chats, all groups and all channels by `users`, `chats` and `broadcasts`.
import type { StateStore } from '../../../bus/types.ts';
import type { TlObject } from '../tl/codec.ts';
import { changeJson } from './json-record.ts';

/** Chats an account may pin (Telegram's limit without premium). */
export const MAX_PINNED = 5;
/** Chats an account keeps marked unread, or with notification settings, at most. */
export const MAX_MARKED = 2_000;

export interface NotifySettings {
  /** Unix seconds; 0 (or absent) is not muted. */
  readonly muteUntil?: number;
  readonly silent?: boolean;
  readonly showPreviews?: boolean;
}

export interface DialogSettingsOf {
  readonly pinned: readonly string[];
  readonly unread: readonly string[];
  readonly notify: Readonly<Record<string, NotifySettings>>;
  /** Per chat: the message up to which its mentions of the account are read. */
  readonly mentionsRead: Readonly<Record<string, number>>;
  /** Per chat: the log position up to which the reactions to the account's messages are seen. */
  readonly reactionsRead: Readonly<Record<string, number>>;
  /** Per chat: the message up to which the account cleared its history (messages.deleteHistory): hidden from it. */
  readonly clearedUpTo: Readonly<Record<string, number>>;
  /**
   * Per chat in the archive (folder 1): its newest message when archived. A newer one takes it
   * back to the main list (as on Telegram) unless the chat is muted (isArchived).
   */
  readonly archived: Readonly<Record<string, number>>;
}

/** The archive's folder id (the main list is 0). */
export const ARCHIVE_FOLDER = 1;

/**
 * Whether a chat is in the account's archive at `now` (unix seconds), with `top` its newest
 * message id (0: none; a mark is at least 1): archived, and no newer message since, or muted
 * (as on Telegram, a muted chat's messages leave it there).
 */
export function isArchived(settings: Pick<DialogSettingsOf, 'archived' | 'notify'>, address: string, top: number, now: number): boolean {
  const mark = settings.archived[address];
  return mark !== undefined && (top <= mark || (settings.notify[address]?.muteUntil ?? 0) > now);
}

/** The marks that only move forward, one per chat. */
export type SeenMark = 'mentionsRead' | 'reactionsRead' | 'clearedUpTo';

/** Settings as a PeerNotifySettings (the fields every layer has; no sounds). */
export function peerNotifySettings(settings: NotifySettings | undefined): TlObject {
  return {
    _: 'peerNotifySettings',
    ...(settings?.showPreviews !== undefined ? { show_previews: settings.showPreviews } : {}),
    ...(settings?.silent !== undefined ? { silent: settings.silent } : {}),
    ...(settings?.muteUntil !== undefined ? { mute_until: settings.muteUntil } : {}),
  };
}

const NONE: DialogSettingsOf = { pinned: [], unread: [], notify: {}, mentionsRead: {}, reactionsRead: {}, clearedUpTo: {}, archived: {} };

export type PinOutcome = 'ok' | 'too-many';

export class DialogSettings {
  constructor(private readonly state: StateStore) {}

  async of(accountId: bigint): Promise<DialogSettingsOf> {
    return parseSettings(await this.state.get(keyOf(accountId)));
  }

  /** Pins a chat (last among the pinned) or unpins it. */
  async pin(accountId: bigint, address: string, pinned: boolean): Promise<PinOutcome | 'busy'> {
    let outcome: PinOutcome = 'ok';
    const written = await this.#change(accountId, (s) => {
      outcome = 'ok';
      const has = s.pinned.includes(address);
      if (pinned === has) return undefined;
      if (pinned && s.pinned.length >= MAX_PINNED) { outcome = 'too-many'; return undefined; }
      return { ...s, pinned: pinned ? [...s.pinned, address] : s.pinned.filter((a) => a !== address) };
    });
    return written ? outcome : 'busy';
  }

  /**
   * Puts the pinned chats in `order` (at most MAX_PINNED). With `force`, exactly those are
   * pinned; else the ones pinned before and not named stay pinned, after them.
   */
  async reorder(accountId: bigint, order: readonly string[], force: boolean): Promise<PinOutcome | 'busy'> {
    let outcome: PinOutcome = 'ok';
    const written = await this.#change(accountId, (s) => {
      const unique = [...new Set(order)];
      const pinned = force ? unique : [...unique, ...s.pinned.filter((a) => !unique.includes(a))];
      outcome = pinned.length > MAX_PINNED ? 'too-many' : 'ok';
      return outcome === 'ok' ? { ...s, pinned } : undefined;
    });
    return written ? outcome : 'busy';
  }

  /** Marks a chat unread, or takes the mark off; true when that changed something. */
  async markUnread(accountId: bigint, address: string, unread: boolean): Promise<boolean> {
    let changed = false;
    const written = await this.#change(accountId, (s) => {
      changed = s.unread.includes(address) !== unread;
      if (!changed) return undefined;
      return { ...s, unread: unread ? [...s.unread, address].slice(-MAX_MARKED) : s.unread.filter((a) => a !== address) };
    });
    return written && changed;
  }

  /** Sets how a chat (or `users`, `chats`, `broadcasts`) notifies; empty settings remove them. */
  async setNotify(accountId: bigint, key: string, settings: NotifySettings): Promise<boolean> {
    return this.#change(accountId, (s) => {
      const notify: Record<string, NotifySettings> = { ...s.notify };
      delete notify[key];
      if (Object.keys(settings).length > 0) notify[key] = settings;
      const keys = Object.keys(notify);
      for (const old of keys.slice(0, Math.max(0, keys.length - MAX_MARKED))) delete notify[old];
      return { ...s, notify };
    });
  }

  /** Moves a chat's mark of mentions or reactions seen forward to `upTo` (never back). */
  async markSeen(accountId: bigint, mark: SeenMark, address: string, upTo: number): Promise<boolean> {
    return this.#change(accountId, (s) => {
      if ((s[mark][address] ?? 0) >= upTo) return undefined;
      const marks: Record<string, number> = { ...s[mark], [address]: upTo };
      const keys = Object.keys(marks);
      for (const old of keys.slice(0, Math.max(0, keys.length - MAX_MARKED))) if (old !== address) delete marks[old];
      return { ...s, [mark]: marks };
    });
  }

  /**
   * Moves chats to the archive (`mark`: their newest message now) or back to the main list (undefined).
   * Archived, a chat is unpinned (pins are the main list's). True when written.
   */
  async fileChats(accountId: bigint, moves: ReadonlyArray<{ readonly address: string; readonly mark: number | undefined }>): Promise<boolean> {
    return this.#change(accountId, (s) => {
      const archived: Record<string, number> = { ...s.archived };
      for (const { address, mark } of moves) {
        delete archived[address];
        if (mark !== undefined) archived[address] = mark;
      }
      const keys = Object.keys(archived);
      for (const old of keys.slice(0, Math.max(0, keys.length - MAX_MARKED))) delete archived[old];
      const pinned = s.pinned.filter((a) => archived[a] === undefined);
      return { ...s, archived, pinned };
    });
  }

  /** A new message `messageId` took a chat out of the archive (its mark is below it): the mark goes. True when written (or nothing was to be). */
  async leaveArchive(accountId: bigint, address: string, messageId: number): Promise<boolean> {
    return this.#change(accountId, (s) => {
      const mark = s.archived[address];
      if (mark === undefined || mark >= messageId) return undefined;
      const archived: Record<string, number> = { ...s.archived };
      delete archived[address];
      return { ...s, archived };
    });
  }

  /** Forgets every notification setting (account.resetNotifySettings). */
  async resetNotify(accountId: bigint): Promise<boolean> {
    return this.#change(accountId, (s) => (Object.keys(s.notify).length === 0 ? undefined : { ...s, notify: {} }));
  }

  #change(accountId: bigint, change: (s: DialogSettingsOf) => DialogSettingsOf | undefined): Promise<boolean> {
    return changeJson(this.state, keyOf(accountId), parseSettings, change);
  }
}

const keyOf = (accountId: bigint) => `dialogs:${accountId}`;

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** What isArchived needs of a stored value (archive-marks.ts reads only that), or undefined when nothing is archived. */
export function archiveOf(raw: string): Pick<DialogSettingsOf, 'archived' | 'notify'> | undefined {
  const { archived, notify } = parseSettings(raw);
  return Object.keys(archived).length > 0 ? { archived, notify } : undefined;
}

/** A stored value as settings: what is malformed is left out (a value that is not JSON: none). */
function parseSettings(raw: string | undefined): DialogSettingsOf {
  if (raw === undefined) return NONE;
  try {
    const v = JSON.parse(raw) as Partial<Record<keyof DialogSettingsOf, unknown>> | null;
    if (typeof v !== 'object' || v === null) return NONE;
    const notify: Record<string, NotifySettings> = Object.create(null) as Record<string, NotifySettings>;
    if (typeof v.notify === 'object' && v.notify !== null && !Array.isArray(v.notify)) {
      for (const [key, n] of Object.entries(v.notify as Record<string, unknown>)) {
        const settings = notifyOf(n);
        if (settings !== undefined) notify[key] = settings;
      }
    }
    return {
      pinned: strings(v.pinned).slice(0, MAX_PINNED), unread: strings(v.unread).slice(-MAX_MARKED), notify,
      mentionsRead: positions(v.mentionsRead), reactionsRead: positions(v.reactionsRead), clearedUpTo: positions(v.clearedUpTo),
      archived: positions(v.archived),
    };
  } catch {
    return NONE;
  }
}

/** A map of chat to a positive position; anything else in it is left out. */
function positions(v: unknown): Record<string, number> {
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [key, n] of Object.entries(v as Record<string, unknown>)) if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) out[key] = n;
  return out;
}

function notifyOf(v: unknown): NotifySettings | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const n = v as Record<string, unknown>;
  const mute = typeof n['muteUntil'] === 'number' && Number.isSafeInteger(n['muteUntil']) ? { muteUntil: n['muteUntil'] } : {};
  const silent = typeof n['silent'] === 'boolean' ? { silent: n['silent'] } : {};
  const previews = typeof n['showPreviews'] === 'boolean' ? { showPreviews: n['showPreviews'] } : {};
  return { ...mute, ...silent, ...previews };
}
