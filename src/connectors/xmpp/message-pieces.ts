// How a canonical message goes to XMPP as messages. XMPP clients take a message for a file only
// when its body is exactly one URL and the same URL is in its XEP-0066 OOB element (Conversations,
// Dino, Movim; docs.modernxmpp.org, "Communicating the URL"); a caption in the body, or a second
// URL, and they show the text and no file at all. So a message with files is one XMPP message per
// file, and its text, when it has one, a message of its own sent before them (matterbridge and
// Slidge send files the same way).
//
// The first file's message stands for the event (the id map links it under the endpoint: replies,
// reactions and retractions from XMPP users find it; it carries the event's own origin-id). The
// caption and the further files are pieces: their origin-ids and their ids in the id map are the
// event's with the piece's name (`caption`, `f1`, `f2`...), under the endpoint `pieceEndpoint`
// names, so an edit corrects the caption and a retraction retracts every piece.
import { LIMITS, type Attachment, type Span } from '../../core/event.ts';
import type { EventId } from '../../core/ids.ts';
import type { IdMap } from '../../bus/types.ts';
import type { Endpoint } from '../../core/endpoint.ts';
import type { OobLink, TextContent } from './stanza/message-out.ts';

export interface MessagePiece {
  /** undefined: the message that stands for the event; else the piece's name. */
  readonly piece: string | undefined;
  readonly content: TextContent;
  readonly oob: readonly OobLink[];
  /** Whether it carries the event's reply reference (the first message sent). */
  readonly carriesReply: boolean;
}

/** The name of the caption's piece (the text of a message with files). */
export const CAPTION_PIECE = 'caption';

/** The name of the n-th further file's piece (n >= 1). */
export function filePiece(n: number): string {
  return `f${n}`;
}

/** Where a piece of a message is linked in the id map: beside the endpoint, one per piece name. */
export function pieceEndpoint(endpoint: Endpoint, piece: string): Endpoint {
  return { connector: endpoint.connector, address: `${endpoint.address}#${piece}` };
}

/** The XMPP messages of a canonical message, in the order they are sent. */
export function piecesOf(text: string, spans: readonly Span[], attachments: readonly Attachment[]): MessagePiece[] {
  if (attachments.length === 0) return [{ piece: undefined, content: { text, spans }, oob: [], carriesReply: true }];
  const none: TextContent = { text: '', spans: [] };
  const files = attachments.map((a, i): MessagePiece => ({
    piece: i === 0 ? undefined : filePiece(i), content: none, oob: [{ url: a.url, desc: a.name }], carriesReply: false,
  }));
  if (text === '') return files.map((f, i) => ({ ...f, carriesReply: i === 0 }));
  return [{ piece: CAPTION_PIECE, content: { text, spans }, oob: [], carriesReply: true }, ...files];
}

/**
 * The further messages of an event at `endpoint` (its caption, then its further files, in order),
 * each by its name and the id it was linked with: what a retraction must retract besides the
 * event's own message.
 */
export async function linkedPieces(idMap: IdMap, endpoint: Endpoint, eventId: EventId): Promise<{ piece: string; native: string }[]> {
  const caption = await idMap.nativeOf(eventId, pieceEndpoint(endpoint, CAPTION_PIECE));
  const out = caption === undefined ? [] : [{ piece: CAPTION_PIECE, native: caption }];
  for (let n = 1; n <= LIMITS.attachments; n++) {
    const native = await idMap.nativeOf(eventId, pieceEndpoint(endpoint, filePiece(n)));
    if (native === undefined) break;
    out.push({ piece: filePiece(n), native });
  }
  return out;
}

/**
 * The event a native id at `endpoint` is a piece of (its caption or a further file): what an XMPP
 * user points at there (a reaction to the second image, a reply to the caption) is the message.
 * Asked only when the id is not one of the endpoint's own; the lookups go out together.
 */
export async function pieceOwner(idMap: IdMap, endpoint: Endpoint, nativeId: string): Promise<EventId | undefined> {
  const names = [CAPTION_PIECE, ...Array.from({ length: LIMITS.attachments - 1 }, (_, i) => filePiece(i + 1))];
  const found = await Promise.all(names.map((name) => idMap.canonicalOf(pieceEndpoint(endpoint, name), nativeId)));
  return found.find((id) => id !== undefined);
}
