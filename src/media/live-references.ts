import type { CanonicalEvent } from '../core/event.ts';
import { isMediaId, type MediaId } from './media-id.ts';

/**
 * Which stored media the bridge still refers to, from the events it retains. The garbage
 * collector keeps everything named here (see gc.ts for why it marks and sweeps instead of
 * counting references).
 */

/**
 * The media ids an event refers to: its attachments' ids and content hashes (either keeps a
 * file), and the stored avatar of its sender (any kind of event: a presence carries one too).
 */
export function mediaIdsOfEvent(event: CanonicalEvent): MediaId[] {
  const ids: MediaId[] = [];
  const avatar = event.sender.avatar === undefined ? undefined : mediaIdInUrl(event.sender.avatar);
  if (avatar !== undefined) ids.push(avatar);
  if (event.kind !== 'message' || !event.attachments) return ids;
  for (const a of event.attachments) {
    if (isMediaId(a.id)) ids.push(a.id);
    if (a.sha256 !== a.id && isMediaId(a.sha256)) ids.push(a.sha256);
  }
  return ids;
}

/**
 * The media id of a URL whose path ends in `/<mediaId>/<name>` (our signed links: `<basePath>/<id>/<name>`).
 * Neither the origin nor the signature is checked: this only decides what the GC keeps, and a
 * foreign URL that happens to look like ours can only keep a file longer, never delete one.
 */
export function mediaIdInUrl(url: string): MediaId | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return undefined;
  }
  const segments = path.split('/');
  const id = segments[segments.length - 2];
  return segments.length >= 3 && segments[segments.length - 1] !== '' && isMediaId(id) ? id : undefined;
}

/** The one bus method this needs (structurally: Bus.readStream of src/bus/types.ts). */
export interface RoomStreamReader {
  readStream(room: string, since: string | undefined, limit: number): Promise<{ readonly entries: readonly { readonly cursor: string; readonly event: CanonicalEvent }[] }>;
}

/**
 * Every media id referenced by an event still retained in the canonical streams of `rooms`,
 * read page by page (memory stays at one page). Wire it as the collector's liveReferences:
 * `() => mediaReferencesInStreams(bus, bus.rooms())` (every room with a stream, direct chats too). An error while reading propagates, and
 * the collector then deletes nothing: an incomplete list of live references must never sweep.
 */
export async function* mediaReferencesInStreams(reader: RoomStreamReader, rooms: Iterable<string> | AsyncIterable<string>, pageSize = 1_000): AsyncGenerator<MediaId> {
  for await (const room of rooms) {
    let since: string | undefined;
    for (;;) {
      const { entries } = await reader.readStream(room, since, pageSize);
      for (const entry of entries) yield* mediaIdsOfEvent(entry.event);
      const last = entries[entries.length - 1];
      if (!last || entries.length < pageSize) break;
      since = last.cursor;
    }
  }
}
