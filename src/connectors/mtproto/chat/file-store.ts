// Where the bytes of the chat layer's files live, behind one small interface: the shared media
// store (src/media/, docs/media.md) when the app runs one, else a small in-memory store of the
// connector's own. Either way a stored file has a document id for MTProto clients (a positive
// 63-bit number) and a canonical attachment with a URL for everyone else.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Attachment } from '../../../core/event.ts';
import { isMediaError, isMediaId, type MediaService } from '../../../media/index.ts';
import { RpcError } from '../session/rpc.ts';
import { fileIdOfUrl, fileUrl, type FileKeys } from './files.ts';

export interface StoredFile {
  /** The document / photo id clients see (decimal). */
  readonly id: string;
  readonly name: string;
  readonly mime: string;
  readonly size: number;
  readonly sha256: string;
}

export interface FileStore {
  /** Stores the bytes; a refusal (too large, type not allowed) is an rpc_error for the client. */
  put(bytes: Uint8Array, meta: { readonly name: string; readonly mime: string }): Promise<StoredFile>;
  /** The bytes of a stored file, or undefined when they are gone. */
  read(file: StoredFile): Promise<Uint8Array | undefined>;
  /** The canonical attachment of a stored file (a URL other networks fetch it at). */
  attachment(file: StoredFile): Attachment;
  /**
   * The stored file an attachment of a delivery is, when its bytes are in this store AND its URL
   * is one this store signed (knowing a file's hash or id must never be enough to get it).
   */
  recognize(attachment: Attachment): Promise<StoredFile | undefined>;
}

/** A document id from content: the first 63 bits of its SHA-256, never 0. */
export function documentIdOf(sha256: string): string {
  return ((BigInt(`0x${sha256.slice(0, 16)}`) >> 1n) || 1n).toString();
}

/**
 * Process memory, at most `maxTotalBytes`; the least recently used files go first. Not shared by
 * instances and gone after a restart (a download then fails with FILE_ID_INVALID): the fallback
 * when the app runs no media store (`media.enabled: false`). Served at the connector's own route.
 */
export class MemoryFileStore implements FileStore {
  readonly #files = new Map<string, { file: StoredFile; bytes: Uint8Array }>();
  #total = 0;

  constructor(private readonly maxTotalBytes: number, private readonly httpUrl: string, private readonly keys: FileKeys) {}

  async put(bytes: Uint8Array, meta: { readonly name: string; readonly mime: string }): Promise<StoredFile> {
    if (bytes.length > this.maxTotalBytes) throw new RpcError(400, 'FILE_PARTS_INVALID');
    const id = (randomBytes(8).readBigUInt64BE(0) >> 1n || 1n).toString();
    const file: StoredFile = { id, name: meta.name, mime: meta.mime, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
    this.#files.set(id, { file, bytes });
    this.#total += bytes.length;
    for (const [oldId, f] of this.#files) {
      if (this.#total <= this.maxTotalBytes) break;
      this.#files.delete(oldId);
      this.#total -= f.bytes.length;
    }
    return file;
  }

  async read(file: StoredFile): Promise<Uint8Array | undefined> {
    const f = this.#files.get(file.id);
    if (f === undefined) return undefined;
    this.#files.delete(file.id);
    this.#files.set(file.id, f);
    return f.bytes;
  }

  /** For the connector's HTTP route: a file by its id. */
  byId(id: string): { file: StoredFile; bytes: Uint8Array } | undefined {
    return this.#files.get(id);
  }

  attachment(file: StoredFile): Attachment {
    return { id: `mtproto:${file.id}`, name: file.name, mime: file.mime, size: file.size, sha256: file.sha256, url: fileUrl(this.httpUrl, this.keys, file) };
  }

  async recognize(attachment: Attachment): Promise<StoredFile | undefined> {
    const id = fileIdOfUrl(this.httpUrl, this.keys, attachment.url);
    const f = id === undefined ? undefined : this.#files.get(id);
    return f !== undefined && f.file.sha256 === attachment.sha256 ? f.file : undefined;
  }

  get totalBytes(): number {
    return this.#total;
  }
}

/**
 * The shared media store: content-addressed (a file's media id is its SHA-256, so its document
 * id is derived from it and the same bytes are one document wherever they came from), on disk,
 * size- and type-limited by `media.*`, served with signed URLs by the media routes. A file some
 * other network put there (a WS upload) is a native document here too.
 */
export class MediaFileStore implements FileStore {
  /** `basePath`: where the media routes are mounted (`media.urls.basePath`): its signed URLs start with it. */
  constructor(private readonly media: MediaService, private readonly basePath: string, private readonly maxFileBytes: number) {}

  async put(bytes: Uint8Array, meta: { readonly name: string; readonly mime: string }): Promise<StoredFile> {
    try {
      const ref = await this.media.store.put(Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]), { mime: meta.mime, declaredSize: bytes.length });
      return { id: documentIdOf(ref.sha256), name: meta.name, mime: ref.mime, size: ref.size, sha256: ref.sha256 };
    } catch (err) {
      if (isMediaError(err, 'too_large')) throw new RpcError(400, 'FILE_PARTS_INVALID');
      if (isMediaError(err, 'unsupported_type')) throw new RpcError(400, 'MEDIA_INVALID');
      throw err;
    }
  }

  async read(file: StoredFile): Promise<Uint8Array | undefined> {
    if (!isMediaId(file.sha256) || file.size > this.maxFileBytes) return undefined;
    const stream = await this.media.store.open(file.sha256);
    if (stream === undefined) return undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.maxFileBytes) { stream.destroy(); return undefined; }
      chunks.push(chunk);
    }
    return new Uint8Array(Buffer.concat(chunks));
  }

  attachment(file: StoredFile): Attachment {
    if (!isMediaId(file.sha256)) throw new Error('not a media-store file');
    return this.media.attachmentFor({ id: file.sha256, sha256: file.sha256, size: file.size, mime: file.mime }, file.name);
  }

  async recognize(attachment: Attachment): Promise<StoredFile | undefined> {
    if (!isMediaId(attachment.sha256) || attachment.size > this.maxFileBytes || !this.#signedByUs(attachment)) return undefined;
    const stored = await this.media.store.stat(attachment.sha256);
    if (stored === undefined) return undefined;
    return { id: documentIdOf(stored.sha256), name: attachment.name, mime: stored.mime, size: stored.size, sha256: stored.sha256 };
  }

  /** The attachment's URL is a media URL of this content with our signature (expired or not: provenance, not access). */
  #signedByUs(attachment: Attachment): boolean {
    let url: URL;
    try {
      url = new URL(attachment.url);
    } catch {
      return false;
    }
    if (!url.pathname.startsWith(`${this.basePath}/`)) return false;
    const [id, encodedName, ...rest] = url.pathname.slice(this.basePath.length + 1).split('/');
    if (rest.length > 0 || id !== attachment.sha256 || encodedName === undefined) return false;
    let name: string;
    try {
      name = decodeURIComponent(encodedName);
    } catch {
      return false;
    }
    return this.media.signer.signatureMatches(id, name, url.searchParams.get('exp'), url.searchParams.get('sig'));
  }
}
