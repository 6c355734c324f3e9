import { randomUUID } from 'node:crypto';
import { link, mkdir, open, opendir, readFile, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { MediaError, MediaErrorCode } from './errors.ts';
import { tooLarge } from './ingest-sink.ts';
import { KeyedLock } from '../core/keyed-lock.ts';
import { isMediaId, type MediaId } from './media-id.ts';
import { removeQuietly, spoolToFile } from './spool.ts';
import type { ByteRange, DeleteOptions, MediaRef, MediaStore, PutOptions, StoredMedia } from './store.ts';
import { TypePolicy, type TypePolicyOptions } from './type-policy.ts';

export interface LocalMediaStoreOptions {
  /** Directory of the store; created when missing. */
  readonly dir: string;
  /** Largest file accepted, in bytes. */
  readonly maxBytes: number;
  readonly types?: TypePolicyOptions;
  /** Clock for touchedAt (tests). */
  readonly now?: () => number;
}

const MetaSchema = z.object({
  v: z.literal(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().min(0),
  mime: z.string().min(3).max(255),
  storedAt: z.number().int().min(0),
}).strict();
type Meta = z.infer<typeof MetaSchema>;

/** Read streams hand out chunks of this size: fewer, larger reads for big files. */
const READ_CHUNK = 256 * 1024;

/**
 * A disk that takes no more (full, over quota, read-only) is the store being unavailable, as an
 * unreachable S3 is: the upload gets 503 and a Retry-After, not 500, and nothing is stored.
 */
export function diskFull(err: unknown): MediaError | undefined {
  const code = errno(err);
  if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EROFS') return undefined;
  return new MediaError(MediaErrorCode.StoreUnavailable, `the media store's disk takes no more (${code})`, { cause: err });
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Makes directory entries (a link, an unlink) durable, not just the file contents. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The default media store: files in a local directory.
 *
 *   <dir>/tmp/<uuid>.part             a put in progress (its own name: concurrent puts never share one)
 *   <dir>/blobs/ab/cd/<sha256>        the content, sharded by the first two bytes of its hash
 *   <dir>/blobs/ab/cd/<sha256>.json   its metadata (size, stored type)
 *
 * A put streams into its temp file, fsyncs it, then link()s it to the content path. link() fails
 * with EEXIST instead of replacing, so concurrent puts of the same bytes are safe: one wins, the
 * others find identical content there and drop their temp file. The metadata is published the
 * same way after the content, and the content only counts as stored when both exist, so a reader
 * never sees a partial file or a file without its type. The first put of some content fixes its
 * stored type; later puts of the same bytes get that type back.
 */
export class LocalMediaStore implements MediaStore {
  readonly maxBytes: number;
  private readonly tmpDir: string;
  private readonly blobsDir: string;
  private readonly typePolicy: TypePolicy;
  private readonly now: () => number;
  private readonly lock = new KeyedLock();

  private constructor(options: LocalMediaStoreOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 1) throw new Error(`media maxBytes must be a positive integer, got ${options.maxBytes}`);
    this.maxBytes = options.maxBytes;
    this.tmpDir = join(options.dir, 'tmp');
    this.blobsDir = join(options.dir, 'blobs');
    this.typePolicy = new TypePolicy(options.types);
    this.now = options.now ?? Date.now;
  }

  /** Creates the store's directories if needed; throws when the directory is not usable. */
  static async open(options: LocalMediaStoreOptions): Promise<LocalMediaStore> {
    const store = new LocalMediaStore(options);
    await mkdir(store.tmpDir, { recursive: true, mode: 0o700 });
    await mkdir(store.blobsDir, { recursive: true, mode: 0o700 });
    return store;
  }

  private shardOf(id: MediaId): string {
    return join(this.blobsDir, id.slice(0, 2), id.slice(2, 4));
  }

  private blobPath(id: MediaId): string {
    return join(this.shardOf(id), id);
  }

  private metaPath(id: MediaId): string {
    return `${this.blobPath(id)}.json`;
  }

  async put(source: Readable | AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<MediaRef> {
    const maxBytes = Math.min(this.maxBytes, options.maxBytes ?? Infinity);
    if (options.declaredSize !== undefined && options.declaredSize > maxBytes) throw tooLarge(maxBytes);
    const tmpPath = join(this.tmpDir, `${randomUUID()}.part`);
    try {
      const spooled = await spoolToFile(source, { path: tmpPath, maxBytes, declaredMime: options.mime, declaredSize: options.declaredSize, typePolicy: this.typePolicy });
      const meta = await this.publish(spooled.id, tmpPath, { v: 1, sha256: spooled.id, size: spooled.size, mime: spooled.mime, storedAt: this.now() });
      return { id: spooled.id, sha256: meta.sha256, size: meta.size, mime: meta.mime };
    } catch (err) {
      throw diskFull(err) ?? err;
    } finally {
      await removeQuietly(tmpPath);
    }
  }

  /** Moves a finished temp file into place (or finds the same content already there). */
  private async publish(id: MediaId, tmpPath: string, meta: Meta): Promise<Meta> {
    const shard = this.shardOf(id);
    return await this.lock.run(id, async () => {
      await mkdir(shard, { recursive: true, mode: 0o700 });
      try {
        await link(tmpPath, this.blobPath(id));
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err; // the same bytes are already stored
      }
      // A put is a fresh reference: it (re)starts the content's GC grace period.
      const t = new Date(this.now());
      await utimes(this.blobPath(id), t, t);
      await removeQuietly(tmpPath);
      const stored = await this.publishMeta(id, meta);
      await syncDir(shard);
      return stored;
    });
  }

  private async publishMeta(id: MediaId, meta: Meta): Promise<Meta> {
    const existing = await this.readMeta(id);
    if (existing) return existing;
    const tmpMeta = join(this.tmpDir, `${randomUUID()}.json.part`);
    const fh = await open(tmpMeta, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(meta));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmpMeta, this.metaPath(id));
      return meta;
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
      return (await this.readMeta(id)) ?? meta;
    } finally {
      await removeQuietly(tmpMeta);
    }
  }

  private async readMeta(id: MediaId): Promise<Meta | undefined> {
    let text: string;
    try {
      text = await readFile(this.metaPath(id), 'utf8');
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const parsed = MetaSchema.safeParse(JSON.parse(text));
      return parsed.success && parsed.data.sha256 === id ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }

  async stat(id: MediaId): Promise<StoredMedia | undefined> {
    if (!isMediaId(id)) return undefined;
    const meta = await this.readMeta(id);
    if (!meta) return undefined;
    try {
      const st = await stat(this.blobPath(id));
      if (st.size !== meta.size) return undefined;
      return { id, sha256: meta.sha256, size: meta.size, mime: meta.mime, touchedAt: st.mtimeMs };
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  async open(id: MediaId, range?: ByteRange): Promise<Readable | undefined> {
    if (!isMediaId(id)) return undefined;
    let fh: FileHandle;
    try {
      fh = await open(this.blobPath(id), 'r');
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      throw err;
    }
    return fh.createReadStream({ highWaterMark: READ_CHUNK, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async delete(id: MediaId, options: DeleteOptions = {}): Promise<boolean> {
    if (!isMediaId(id)) return false;
    return await this.lock.run(id, async () => {
      if (options.notTouchedSince !== undefined) {
        const current = await this.stat(id);
        if (current && current.touchedAt >= options.notTouchedSince) return false;
      }
      await removeQuietly(this.metaPath(id));
      try {
        await unlink(this.blobPath(id));
        return true;
      } catch (err) {
        if (errno(err) === 'ENOENT') return false;
        throw err;
      }
    });
  }

  async touch(id: MediaId): Promise<boolean> {
    if (!isMediaId(id)) return false;
    const t = new Date(this.now());
    try {
      await utimes(this.blobPath(id), t, t);
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** Every file under blobs/ (content and metadata alike), two shard levels deep. */
  private async *walkBlobs(): AsyncGenerator<{ readonly path: string; readonly name: string }> {
    for await (const a of await opendir(this.blobsDir)) {
      if (!a.isDirectory()) continue;
      for await (const b of await opendir(join(this.blobsDir, a.name))) {
        if (!b.isDirectory()) continue;
        const dir = join(this.blobsDir, a.name, b.name);
        for await (const f of await opendir(dir)) if (f.isFile()) yield { path: join(dir, f.name), name: f.name };
      }
    }
  }

  async *list(): AsyncIterable<StoredMedia> {
    for await (const { name } of this.walkBlobs()) {
      if (!isMediaId(name)) continue;
      const item = await this.stat(name);
      if (item) yield item;
    }
  }

  async removeDebris(olderThanMs: number): Promise<number> {
    const cutoff = this.now() - olderThanMs;
    let removed = 0;
    const removeIfOld = async (path: string): Promise<void> => {
      try {
        if ((await stat(path)).mtimeMs < cutoff) {
          await unlink(path);
          removed++;
        }
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
      }
    };
    for await (const f of await opendir(this.tmpDir)) if (f.isFile()) await removeIfOld(join(this.tmpDir, f.name));
    for await (const { path, name } of this.walkBlobs()) {
      const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : name;
      if (!isMediaId(id)) continue;
      // Content without metadata, or metadata without content: the remains of a crash mid-publish.
      const partner = name.endsWith('.json') ? this.blobPath(id) : this.metaPath(id);
      const exists = await stat(partner).then(() => true, (err: unknown) => { if (errno(err) === 'ENOENT') return false; throw err; });
      if (!exists) await removeIfOld(path);
    }
    return removed;
  }
}
