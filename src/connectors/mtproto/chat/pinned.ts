// The message pinned in a chat (methods/pins.ts): one a chat, the latest, shared by its accounts.
import type { StateStore } from '../../../bus/types.ts';
import type { ChatInfo } from './directory.ts';

/** The chat's pinned message id (0: none). */
export async function pinnedOf(deps: { readonly state: StateStore }, chat: ChatInfo): Promise<number> {
  const raw = await deps.state.get(`pin:${chat.address}`);
  const id = raw === undefined ? 0 : Number(raw);
  return Number.isSafeInteger(id) && id > 0 ? id : 0;
}
