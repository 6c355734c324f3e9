// One JSON value in the state that several sessions and instances change at once (an account's
// drafts, its pinned chats...): read, change, write back only if nobody wrote meanwhile
// (compare-and-set), else again with what they wrote.
import type { StateStore } from '../../../bus/types.ts';

/** A stored JSON text as a schema reads it (a malformed record is none): core/json.ts. */
export { parseJsonAs } from '../../../core/json.ts';

/** Attempts before a change gives up (only under a storm of changes to one value). */
const MAX_ATTEMPTS = 8;

/**
 * Applies `change` to the value at `key` (`parse` reads a stored string, or undefined for none).
 * `change` returns the new value, or undefined when nothing is to be written. True when written
 * (or nothing was to be); false when other writers kept winning.
 */
export async function changeJson<T>(state: StateStore, key: string, parse: (raw: string | undefined) => T, change: (current: T) => T | undefined): Promise<boolean> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const raw = await state.get(key);
    const next = change(parse(raw));
    if (next === undefined) return true;
    const value = JSON.stringify(next);
    if (raw === undefined ? await state.setIfAbsent(key, value) : await state.replace(key, raw, value)) return true;
  }
  return false;
}
