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

const pinKey = (chat: ChatInfo): string => `pin:${chat.address}`;

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
