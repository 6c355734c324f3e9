// What the sender of new messages is answered with (and told in other ways): updateMessageID per
// random_id and an updateNewMessage per message a delivery wrote, with the account's pts of each.
import type { TlObject } from '../../tl/codec.ts';
import type { Account, ChatInfo } from '../directory.ts';
import { entriesOfDelivery } from '../event-entries.ts';
import type { View } from '../render.ts';
import { usersOfRecord, type ChatDeps } from './common.ts';

/** The updates of deliveries the account published (`id`: each one's canonical id), in order. */
export async function newMessageUpdates(deps: ChatDeps, account: Account, view: View, chat: ChatInfo, published: readonly { id: string; randomIds: readonly bigint[] }[]): Promise<{ updates: TlObject[]; users: bigint[] }> {
  const ids: TlObject[] = [];
  const news: TlObject[] = [];
  const users: bigint[] = [];
  for (const { id, randomIds } of published) {
    // A delivery's entries were written in one batch: all visible once the first is.
    const entries = await entriesOfDelivery(deps.box, chat.address, id);
    randomIds.forEach((randomId, i) => { if (entries[i] !== undefined) ids.push({ _: 'updateMessageID', id: entries[i].m, random_id: randomId }); });
    for (const entry of entries) {
      const record = await deps.box.record(entry.m);
      if (record === undefined) continue;
      news.push({ _: 'updateNewMessage', message: deps.render.message(record, view), pts: await deps.pts.at(account, entry.g), pts_count: 1 });
      users.push(...usersOfRecord(record));
    }
  }
  return { updates: [...ids, ...news], users };
}
