import type { Readable } from 'node:stream';
import type { MediaId } from './media-id.ts';

/**
 * The media store contract: content-addressed, streaming, limited. A driver (local directory
 * today; an S3-compatible one would implement the same) must:
 * - never hold a whole file in memory: bytes flow from the source to storage and back in chunks;
 * - enforce the size limit while streaming and leave nothing behind when a put fails (limit,
 *   type, aborted source): a failed put changes nothing;
 * - make a put atomic: a reader sees the whole file or no file, never a partial one;
 * - accept concurrent puts of the same content (the second one finds the first one's file).
 */

/** What a put returns: enough to build a canonical Attachment (plus a signed URL). */
export interface MediaRef {
  readonly id: MediaId;
  /** Lowercase hex SHA-256 of the content (equal to the id today; kept apart so the id scheme may change). */
  readonly sha256: string;
  readonly size: number;
  /** The stored type: see type-policy.ts for how the declared and the sniffed type combine. */
  readonly mime: string;
}

export interface StoredMedia extends MediaRef {
  /** Last time (ms) this content was put or touched: the GC's grace period counts from here. */
  readonly touchedAt: number;
}

export interface PutOptions {
  /** The type the sender declared (Content-Type); the bytes may overrule it. */
  readonly mime?: string;
  /** The size the sender announced (Content-Length): refused at once when over the limit, checked at the end. */
  readonly declaredSize?: number;
  /** A lower limit than the store's for this put (e.g. a remote fetch's). Never raises the store's. */
  readonly maxBytes?: number;
}

/** Inclusive byte range, as in HTTP (RFC 9110 §14.1.2). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface DeleteOptions {
  /**
   * Delete only if the content was not put or touched at or after this time (ms): the GC's
   * check and its delete are one step, so a put of the same bytes in between wins.
   */
  readonly notTouchedSince?: number;
}

export interface MediaStore {
  /** The store's size limit in bytes. */
  readonly maxBytes: number;
  /**
   * Streams `source` into the store. Rejects with a MediaError (too_large, unsupported_type,
   * size_mismatch, aborted) and leaves no trace when the content is refused or the source fails.
   * A Readable source belongs to the caller: on refusal it is left unread, not destroyed (an HTTP
   * route still answers on its socket; a fetcher destroys its own request).
   */
  put(source: Readable | AsyncIterable<Uint8Array>, options?: PutOptions): Promise<MediaRef>;
  stat(id: MediaId): Promise<StoredMedia | undefined>;
  /** The content, or the inclusive `range` of it; undefined when there is no such id. */
  open(id: MediaId, range?: ByteRange): Promise<Readable | undefined>;
  /** Removes the content; false when it was not there (or was touched since `notTouchedSince`). */
  delete(id: MediaId, options?: DeleteOptions): Promise<boolean>;
  /** Marks existing content as freshly referenced (restarts its GC grace period); false when absent. */
  touch(id: MediaId): Promise<boolean>;
  /** Every stored item, in no particular order (for the garbage collector). */
  list(): AsyncIterable<StoredMedia>;
  /**
   * Removes leftovers of interrupted puts (temp files, content without metadata) older than
   * `olderThanMs` ago; returns how many. Called by the garbage collector.
   */
  removeDebris(olderThanMs: number): Promise<number>;
}
