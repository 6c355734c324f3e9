// Files of the chat layer: the parts a client uploads (upload.saveFilePart / saveBigFilePart),
// put together when a message uses them (messages.sendMedia) and kept in a FileStore
// (file-store.ts); keyed proofs (access hashes, URL signatures); the HTTP route of the
// connector's own in-memory store; image sizes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RpcError } from '../session/rpc.ts';

/** Telegram's rules for parts: at most 512 KiB each, at most 4000 of them. */
export const MAX_PART_BYTES = 512 * 1024;
export const MAX_PARTS = 4_000;
const STAGE_TTL_MS = 30 * 60_000;

interface Staged {
  parts: Map<number, Uint8Array>;
  bytes: number;
  total: number | undefined;
  touched: number;
}

/** Finished uploads remembered (what their parts became), so a resent call that names one finds it again. */
const DONE_MAX = 1_000;

/**
 * Parts being uploaded, per owner (account) and client-chosen file id; bounded per owner. `Done`
 * is what a finished upload became (the caller's record of the stored file).
 */
export class Uploads<Done = unknown> {
  readonly #staged = new Map<string, Staged>();
  readonly #perOwner = new Map<string, number>();
  readonly #done = new Map<string, Done>();

  /** What an upload became, if it was finished recently. */
  doneOf(owner: string, fileId: bigint): Done | undefined {
    return this.#done.get(`${owner}:${fileId}`);
  }

  markDone(owner: string, fileId: bigint, done: Done): void {
    this.#done.set(`${owner}:${fileId}`, done);
    if (this.#done.size > DONE_MAX) {
      const oldest = this.#done.keys().next();
      if (oldest.done !== true) this.#done.delete(oldest.value);
    }
  }

  constructor(private readonly maxFileBytes: number, private readonly now: () => number = Date.now) {}

  savePart(owner: string, fileId: bigint, part: number, bytes: Uint8Array, totalParts?: number): void {
    this.#sweep();
    if (!Number.isInteger(part) || part < 0 || part >= MAX_PARTS) throw new RpcError(400, 'FILE_PART_INVALID');
    if (totalParts !== undefined && (!Number.isInteger(totalParts) || totalParts < 1 || totalParts > MAX_PARTS || part >= totalParts)) throw new RpcError(400, 'FILE_PARTS_INVALID');
    if (bytes.length > MAX_PART_BYTES) throw new RpcError(400, 'FILE_PART_TOO_BIG');
    if (bytes.length === 0) throw new RpcError(400, 'FILE_PART_EMPTY');
    const key = `${owner}:${fileId}`;
    let staged = this.#staged.get(key);
    if (staged === undefined) {
      staged = { parts: new Map(), bytes: 0, total: totalParts, touched: this.now() };
      this.#staged.set(key, staged);
    }
    const previous = staged.parts.get(part)?.length ?? 0;
    const ownerBytes = (this.#perOwner.get(owner) ?? 0) - previous + bytes.length;
    // A file past the limit is refused at the part that passes it; an owner may stage two files' worth.
    if (staged.bytes - previous + bytes.length > this.maxFileBytes || ownerBytes > 2 * this.maxFileBytes) throw new RpcError(400, 'FILE_PARTS_INVALID');
    staged.parts.set(part, new Uint8Array(bytes));
    staged.bytes += bytes.length - previous;
    staged.touched = this.now();
    if (totalParts !== undefined) staged.total = totalParts;
    this.#perOwner.set(owner, ownerBytes);
  }

  /** The whole file of `parts` parts, taken out of staging; throws FILE_PART_<n>_MISSING. */
  take(owner: string, fileId: bigint, parts: number): Uint8Array {
    const key = `${owner}:${fileId}`;
    const staged = this.#staged.get(key);
    if (!Number.isInteger(parts) || parts < 1 || parts > MAX_PARTS) throw new RpcError(400, 'FILE_PARTS_INVALID');
    if (staged === undefined) throw new RpcError(400, 'FILE_PART_0_MISSING');
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < parts; i++) {
      const chunk = staged.parts.get(i);
      if (chunk === undefined) throw new RpcError(400, `FILE_PART_${i}_MISSING`);
      chunks.push(chunk);
    }
    this.#drop(owner, key, staged);
    return new Uint8Array(Buffer.concat(chunks));
  }

  #drop(owner: string, key: string, staged: Staged): void {
    this.#staged.delete(key);
    const left = (this.#perOwner.get(owner) ?? 0) - staged.bytes;
    if (left > 0) this.#perOwner.set(owner, left);
    else this.#perOwner.delete(owner);
  }

  #sweep(): void {
    const t = this.now();
    for (const [key, staged] of this.#staged) {
      if (t - staged.touched > STAGE_TTL_MS) this.#drop(key.slice(0, key.lastIndexOf(':')), key, staged);
    }
  }
}

const MAX_CACHED_HASHES = 50_000;

/** Keyed proofs: the access_hash clients must present for a file, the signature of file URLs, peers' access hashes. */
export class FileKeys {
  /**
   * Access hashes already computed (they never change for a deployment): every answer and update
   * carries its users' hashes, and an HMAC per user per message was a measurable share of the
   * chat path's CPU. Bounded; the oldest go first.
   */
  readonly #hashes = new Map<string, bigint>();

  constructor(private readonly secret: Uint8Array) {}

  #mac(label: string, id: string): Buffer {
    return createHmac('sha256', this.secret).update(`${label}:${id}`, 'utf8').digest();
  }

  #hash(label: string, id: string): bigint {
    const key = `${label}:${id}`;
    let h = this.#hashes.get(key);
    if (h === undefined) {
      h = this.#mac(label, id).readBigInt64BE(0);
      this.#hashes.set(key, h);
      if (this.#hashes.size > MAX_CACHED_HASHES) this.#hashes.delete(this.#hashes.keys().next().value!);
    }
    return h;
  }

  /** A stable access_hash for a user or chat id (not checked: membership decides what a peer may use). */
  peerHash(kind: string, id: string): bigint {
    return this.#hash(`peer:${kind}`, id);
  }

  accessHash(id: string): bigint {
    return this.#hash('access', id);
  }

  checkAccessHash(id: string, presented: bigint): boolean {
    return sameHash(this.accessHash(id), presented);
  }

  /** Whether `presented` is the access hash peerHash gives out (where one is checked: a profile photo's user). */
  checkPeerHash(kind: string, id: string, presented: bigint): boolean {
    return sameHash(this.peerHash(kind, id), presented);
  }

  urlSignature(id: string): string {
    return this.#mac('url', id).subarray(0, 18).toString('base64url');
  }

  checkUrlSignature(id: string, presented: string): boolean {
    const expected = Buffer.from(this.urlSignature(id), 'utf8');
    const got = Buffer.from(presented, 'utf8');
    return expected.length === got.length && timingSafeEqual(expected, got);
  }
}

export const FILES_ROUTE = '/mtproto/files';

/** The HTTP URL of a file of the in-memory store: `<base>/mtproto/files/<id>/<signature>/<name>`. */
export function fileUrl(base: string, keys: FileKeys, meta: { readonly id: string; readonly name: string }): string {
  const name = encodeURIComponent(meta.name === '' ? 'file' : meta.name.slice(0, 128));
  return `${base}${FILES_ROUTE}/${meta.id}/${keys.urlSignature(meta.id)}/${name}`;
}

/** The file id a URL of ours names (signature checked), or undefined for any other URL. */
export function fileIdOfUrl(base: string, keys: FileKeys, url: string): string | undefined {
  const prefix = `${base}${FILES_ROUTE}/`;
  if (!url.startsWith(prefix)) return undefined;
  const [id, sig] = url.slice(prefix.length).split('/');
  if (id === undefined || sig === undefined || !/^\d{1,20}$/.test(id)) return undefined;
  return keys.checkUrlSignature(id, sig) ? id : undefined;
}

/** Types a browser may show inline; everything else is served as a download. */
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'text/plain', 'application/pdf']);

/** GET <route>/<id>/<signature>/<name>: a file of the in-memory store, or 404 for anything unsigned or unknown. */
export function fileRoute(store: { byId(id: string): { file: { name: string; mime: string }; bytes: Uint8Array } | undefined }, keys: FileKeys): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = (req.url ?? '').split('?')[0] ?? '';
    const [id, sig] = path.slice(FILES_ROUTE.length + 1).split('/');
    const file = id !== undefined && sig !== undefined && /^\d{1,20}$/.test(id) && keys.checkUrlSignature(id, sig) ? store.byId(id) : undefined;
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const mime = /^[\w.+-]+\/[\w.+-]+$/.test(file.file.mime) ? file.file.mime : 'application/octet-stream';
    const inline = INLINE_TYPES.has(mime);
    res.writeHead(200, {
      'content-type': mime,
      'content-length': String(file.bytes.length),
      'x-content-type-options': 'nosniff',
      'content-security-policy': 'sandbox',
      'cache-control': 'private, max-age=86400',
      'content-disposition': `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(file.file.name || 'file')}`,
    });
    res.end(req.method === 'HEAD' ? undefined : Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength));
  };
}

/** Width and height of a PNG, GIF or JPEG, from its header; undefined for anything else. */
export function imageSize(bytes: Uint8Array): { w: number; h: number; mime: string } | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') {
    return { w: b.readUInt32BE(16), h: b.readUInt32BE(20), mime: 'image/png' };
  }
  if (b.length >= 10 && b.toString('latin1', 0, 4) === 'GIF8') return { w: b.readUInt16LE(6), h: b.readUInt16LE(8), mime: 'image/gif' };
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let o = 2;
    while (o + 9 < b.length) {
      if (b[o] !== 0xff) return undefined;
      const marker = b[o + 1]!;
      const len = b.readUInt16BE(o + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { h: b.readUInt16BE(o + 5), w: b.readUInt16BE(o + 7), mime: 'image/jpeg' };
      }
      o += 2 + len;
    }
  }
  return undefined;
}

/** Constant-time comparison of two signed 64-bit hashes. */
function sameHash(expected: bigint, presented: bigint): boolean {
  const a = Buffer.alloc(8);
  a.writeBigInt64BE(expected);
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt.asIntN(64, presented));
  return timingSafeEqual(a, b);
}
