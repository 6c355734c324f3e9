// The messages pinned in a chat (methods/pins.ts), oldest first, shared by its accounts:
// `pin:<chat>` in the chat state, a JSON list of message ids. As on Telegram a chat has several;
// its newest is the full chat's `pinned_msg_id` (the bar clients show), and clients list all of
// them with messages.search's pinned filter. A value stored before lists (one id) reads as a list
// of one.
import type { StateStore } from '../../../bus/types.ts';
import type { ChatInfo } from './directory.ts';
import { changeJson } from './json-record.ts';

/** Messages pinned in one chat at most; a pin past it unpins the oldest. */
export const MAX_PINNED = 100;

const pinKeyOf = (address: string): string => `pin:${address}`;
const pinKey = (chat: ChatInfo): string => pinKeyOf(chat.address);

/** A stored value as a list of ids (anything else: none). */
export function parsePins(raw: string | undefined): number[] {
  if (raw === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return [];
  }
  const list = Array.isArray(value) ? value : [value];
  return list.filter((id): id is number => typeof id === 'number' && Number.isSafeInteger(id) && id > 0).slice(-MAX_PINNED);
}

/** The chat's pinned message ids, oldest first. */
export async function pinnedIdsOf(deps: { readonly state: StateStore }, chat: ChatInfo): Promise<number[]> {
  return parsePins(await deps.state.get(pinKey(chat)));
}

/** The chat's newest pinned message id (0: none). */
export async function pinnedOf(deps: { readonly state: StateStore }, chat: ChatInfo): Promise<number> {
  return (await pinnedIdsOf(deps, chat)).at(-1) ?? 0;
}

/**
 * Changes the chat's pins with compare-and-set (two pins at once both land): `change` gets the ids
 * and returns the new ones, or undefined to write nothing. False when other writers kept winning.
 */
export function changePins(deps: { readonly state: StateStore }, chat: ChatInfo, change: (ids: number[]) => number[] | undefined): Promise<boolean> {
  return changeJson(deps.state, pinKey(chat), parsePins, (ids) => {
    const next = change(ids);
    return next === undefined ? undefined : next.slice(-MAX_PINNED);
  });
}

/** How old a chat's remembered pins may be before they are read again (another instance may have changed them and its note been lost). */
export const PINS_REFRESH_MS = 30_000;
/** Chats whose pins are remembered at most (the least recently read are forgotten). */
const MAX_REMEMBERED_CHATS = 10_000;

interface KnownPins {
  ids: ReadonlySet<number>;
  readAt: number;
  reading?: Promise<void>;
}

/**
 * The chats' pinned ids as known here, so that a message shows its `pinned` flag without a read
 * per message rendered: the groups' read at start, a private chat's when it is first asked about
 * (handlers that list a chat's messages call `ready` first), each read again after a change here,
 * on another instance's note, or in the background when older than PINS_REFRESH_MS.
 */
export class PinnedIndex {
  readonly #known = new Map<string, KnownPins>();

  constructor(private readonly state: StateStore, private readonly now: () => number = Date.now) {}

  /** Reads the pins of these chats unless known (at start: the groups; before listing messages: the chats listed). */
  async ready(addresses: Iterable<string>): Promise<void> {
    await Promise.all([...new Set(addresses)].filter((a) => !this.#known.has(a)).map((a) => this.#read(a)));
  }

  /** Whether the message is pinned, as known here now (a chat not known yet is read in the background). */
  has(address: string, id: number): boolean {
    const known = this.#known.get(address);
    if (known === undefined || (known.reading === undefined && this.now() - known.readAt > PINS_REFRESH_MS)) void this.#read(address);
    return known?.ids.has(id) ?? false;
  }

  /** Reads the chat's pins again now (they changed here, or another instance said so). */
  refresh(address: string): Promise<void> {
    return this.#read(address, true);
  }

  #read(address: string, again = false): Promise<void> {
    const known = this.#known.get(address);
    if (known?.reading !== undefined && !again) return known.reading;
    const entry: KnownPins = known ?? { ids: new Set(), readAt: 0 };
    this.#known.delete(address);
    this.#known.set(address, entry);
    if (this.#known.size > MAX_REMEMBERED_CHATS) {
      const oldest = this.#known.keys().next();
      if (oldest.done !== true) this.#known.delete(oldest.value);
    }
    const reading = this.#fetch(entry, address).finally(() => {
      if (entry.reading === reading) delete entry.reading;
    });
    entry.reading = reading;
    return reading;
  }

  async #fetch(entry: KnownPins, address: string): Promise<void> {
    try {
      entry.ids = new Set(parsePins(await this.state.get(pinKeyOf(address))));
    } catch {
      // Keep what was known; the next refresh tries again.
    } finally {
      entry.readAt = this.now();
    }
  }
}
