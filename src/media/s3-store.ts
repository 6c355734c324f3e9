import { randomUUID } from 'node:crypto';
import { mkdir, opendir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { MediaError, MediaErrorCode } from './errors.ts';
import { tooLarge } from './ingest-sink.ts';
import { KeyedLock } from '../core/keyed-lock.ts';
import { isMediaId, type MediaId } from './media-id.ts';
import { S3Client, S3RequestError, type ObjectHead, type S3ClientOptions } from './s3-client.ts';
import { removeQuietly, spoolToFile, type Spooled } from './spool.ts';
import type { ByteRange, DeleteOptions, MediaRef, MediaStore, PutOptions, StoredMedia } from './store.ts';
import { TypePolicy, type TypePolicyOptions } from './type-policy.ts';

export interface S3MediaStoreOptions {
  readonly s3: S3ClientOptions;
  /** Prepended to every object key (`<prefix><sha256>`), e.g. `switchboard/media/`. */
  readonly prefix: string;
  /** Local directory puts are spooled to while they are hashed and checked; created when missing. */
  readonly spoolDir: string;
  readonly maxBytes: number;
  readonly types?: TypePolicyOptions;
  /** Keys per ListObjectsV2 page (1..1000). */
  readonly listPageSize?: number;
  /** Clock for touchedAt (tests). */
  readonly now?: () => number;
}

/** Object metadata names (sent as `x-amz-meta-<name>`). */
const META_MIME = 'sb-mime';
const META_TOUCHED_AT = 'sb-touched-at';

/** What a stored type must look like to be trusted back from object metadata. */
const MIME_ESSENCE = /^[a-z0-9!#$&^_.+-]{1,127}\/[a-z0-9!#$&^_.+-]{1,127}$/;
/** The largest object one PutObject may create (S3's limit; larger files would need multipart). */
export const S3_MAX_OBJECT_BYTES = 5 * 1024 ** 3;
/** Object key prefixes: characters that mean the same signed, in a URL and in a listing. */
const PREFIX_PATTERN = /^(?:[A-Za-z0-9._-]+\/)*[A-Za-z0-9._-]*$/;

/** Any S3 failure, as the media layer reports it. */
function unavailable(err: unknown): MediaError {
  if (err instanceof MediaError) return err;
  // The detail (operation, bucket and key, what went wrong) is the cause's: a log line shows the
  // message and then its causes', so repeating it here would print it twice.
  const message = err instanceof S3RequestError ? 'the S3 store is unavailable' : `S3 request failed: ${String(err)}`;
  return new MediaError(MediaErrorCode.StoreUnavailable, message, { cause: err });
}

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw unavailable(err);
  }
}

/**
 * The media store on an S3-compatible object store (AWS S3, MinIO, Garage, Ceph RGW).
 *
 *   <spoolDir>/<uuid>.part    a put in progress, on local disk
 *   <prefix><sha256>          the content; its stored type and last put/touch in object metadata
 *
 * A put streams through the same IngestSink as the local store (limit, hash, type policy) into a
 * local spool file, so nothing is sent before the content is accepted and its hash known. Then
 * HEAD: content already there is touched (CopyObject onto itself with new metadata) and its
 * stored type returned; otherwise one PutObject with the exact Content-Length, the payload's
 * SHA-256 and `If-None-Match: *`. A PutObject is atomic on every S3 implementation: readers see
 * the old state or the whole object, so a failed put leaves no object and (the spool file is
 * always removed) no temp file. Memory stays flat: bytes go source -> disk -> socket in chunks.
 *
 * Within one process, put/touch/delete of one id run under a per-id lock, as in the local store.
 * Across instances, S3 offers no lock: see docs/media.md ("What is not atomic").
 */
export class S3MediaStore implements MediaStore {
  readonly maxBytes: number;
  private readonly client: S3Client;
  private readonly prefix: string;
  private readonly spoolDir: string;
  private readonly listPageSize: number;
  private readonly typePolicy: TypePolicy;
  private readonly now: () => number;
  private readonly lock = new KeyedLock();

  private constructor(options: S3MediaStoreOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) throw new Error(`media maxBytes must be a positive integer, got ${options.maxBytes}`);
    if (options.maxBytes > S3_MAX_OBJECT_BYTES) throw new Error(`media maxBytes ${options.maxBytes} is over ${S3_MAX_OBJECT_BYTES}, the largest object one S3 PutObject stores (the s3 driver does not use multipart)`);
    if (!PREFIX_PATTERN.test(options.prefix) || options.prefix.length > 512) throw new Error(`S3 key prefix ${JSON.stringify(options.prefix)} must be letters, digits, '.', '_', '-' and '/' separators (e.g. "switchboard/media/")`);
    const pageSize = options.listPageSize ?? 1000;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) throw new Error(`S3 listPageSize must be 1..1000, got ${pageSize}`);
    this.maxBytes = options.maxBytes;
    this.client = new S3Client(options.s3);
    this.prefix = options.prefix;
    this.spoolDir = options.spoolDir;
    this.listPageSize = pageSize;
    this.typePolicy = new TypePolicy(options.types);
    this.now = options.now ?? Date.now;
  }

  /**
   * Creates the spool directory. It does not contact the server: an endpoint that is down at
   * start makes puts and reads fail with store_unavailable until it is back, and the bridge runs.
   */
  static async open(options: S3MediaStoreOptions): Promise<S3MediaStore> {
    const store = new S3MediaStore(options);
    await mkdir(store.spoolDir, { recursive: true, mode: 0o700 });
    return store;
  }

  private keyOf(id: MediaId): string {
    return `${this.prefix}${id}`;
  }

  private metadataFor(mime: string): Record<string, string> {
    return { [META_MIME]: mime, [META_TOUCHED_AT]: String(Math.floor(this.now())) };
  }

  /** Our view of a HEAD: content counts as stored only with a trustworthy stored type. */
  private toStored(id: MediaId, head: ObjectHead | undefined): StoredMedia | undefined {
    if (!head) return undefined;
    const mime = head.metadata[META_MIME];
    if (mime === undefined || !MIME_ESSENCE.test(mime)) return undefined;
    const touched = Number(head.metadata[META_TOUCHED_AT]);
    const touchedAt = Number.isSafeInteger(touched) && touched >= 0 ? touched : head.lastModified ?? 0;
    return { id, sha256: id, size: head.size, mime, touchedAt };
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<MediaRef> {
    const maxBytes = Math.min(this.maxBytes, options.maxBytes ?? Infinity);
    if (options.declaredSize !== undefined && options.declaredSize > maxBytes) throw tooLarge(maxBytes);
    const path = join(this.spoolDir, `${randomUUID()}.part`);
    const spooled = await spoolToFile(source, { path, maxBytes, declaredMime: options.mime, declaredSize: options.declaredSize, typePolicy: this.typePolicy });
    try {
      return await this.lock.run(spooled.id, async () => await guarded(() => this.publish(spooled, path)));
    } finally {
      await removeQuietly(path);
    }
  }

  /** Uploads a finished spool file, or finds (and touches) the same content already stored. */
  private async publish(spooled: Spooled, path: string): Promise<MediaRef> {
    const { id, size } = spooled;
    const key = this.keyOf(id);
    const head = await this.client.head(key);
    const existing = this.toStored(id, head);
    // Same key means same bytes (the key is their hash); a size that differs is a damaged object,
    // which the upload below replaces.
    if (existing && existing.size === size) {
      // The first put of some content fixes its type; this put is a fresh reference: touch it.
      if (await this.client.replaceMetadata(key, { contentType: existing.mime, metadata: this.metadataFor(existing.mime) })) {
        return { id, sha256: id, size, mime: existing.mime };
      }
    }
    // Conditional only when nothing is there: an object without our metadata (copied in by
    // another tool) or of the wrong size is replaced by the checked bytes and their type.
    const outcome = await this.client.putFile(key, { path, size, sha256: id }, { contentType: spooled.mime, metadata: this.metadataFor(spooled.mime) }, { ifNoneMatch: head === undefined });
    if (outcome === 'stored') return { id, sha256: id, size, mime: spooled.mime };
    // Another instance stored the same bytes between our HEAD and PUT: take its type.
    const winner = this.toStored(id, await this.client.head(key));
    if (!winner) throw new MediaError(MediaErrorCode.StoreUnavailable, `S3 PutObject ${key}: the server reported the object as existing, but it cannot be read`);
    return { id, sha256: id, size: winner.size, mime: winner.mime };
  }

  async stat(id: MediaId): Promise<StoredMedia | undefined> {
    if (!isMediaId(id)) return undefined;
    return this.toStored(id, await guarded(() => this.client.head(this.keyOf(id))));
  }

  async open(id: MediaId, range?: ByteRange): Promise<Readable | undefined> {
    if (!isMediaId(id)) return undefined;
    return await guarded(() => this.client.get(this.keyOf(id), range));
  }

  async delete(id: MediaId, options: DeleteOptions = {}): Promise<boolean> {
    if (!isMediaId(id)) return false;
    return await this.lock.run(id, async () => await guarded(async () => {
      // HEAD then DELETE: S3 has no conditional delete on metadata, so another instance's put or
      // touch between the two is lost (docs/media.md, "What is not atomic").
      const current = this.toStored(id, await this.client.head(this.keyOf(id)));
      if (!current) return false;
      if (options.notTouchedSince !== undefined && current.touchedAt >= options.notTouchedSince) return false;
      await this.client.delete(this.keyOf(id));
      return true;
    }));
  }

  async touch(id: MediaId): Promise<boolean> {
    if (!isMediaId(id)) return false;
    return await this.lock.run(id, async () => await guarded(async () => {
      const current = this.toStored(id, await this.client.head(this.keyOf(id)));
      if (!current) return false;
      return await this.client.replaceMetadata(this.keyOf(id), { contentType: current.mime, metadata: this.metadataFor(current.mime) });
    }));
  }

  /** Every stored item: ListObjectsV2 page by page under the prefix, each key HEADed for its metadata. */
  async *list(): AsyncIterable<StoredMedia> {
    let token: string | undefined;
    do {
      const page = await guarded(() => this.client.listPage(this.prefix, this.listPageSize, token));
      for (const key of page.keys) {
        const id = key.slice(this.prefix.length);
        if (!key.startsWith(this.prefix) || !isMediaId(id)) continue;
        const item = await this.stat(id);
        if (item) yield item;
      }
      token = page.next;
    } while (token !== undefined);
  }

  /**
   * Removes spool files of interrupted puts (a crash mid-upload) older than `olderThanMs`. Puts
   * are single PutObjects, never multipart, so the bucket itself holds no partial uploads.
   */
  async removeDebris(olderThanMs: number): Promise<number> {
    const cutoff = this.now() - olderThanMs;
    let removed = 0;
    for await (const f of await opendir(this.spoolDir)) {
      if (!f.isFile()) continue;
      const path = join(this.spoolDir, f.name);
      try {
        if ((await stat(path)).mtimeMs < cutoff) {
          await removeQuietly(path);
          removed++;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return removed;
  }

  /** Closes the kept-alive connections to the server. */
  close(): void {
    this.client.close();
  }
}
