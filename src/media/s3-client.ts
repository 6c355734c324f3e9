import { createReadStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { AwsV4Signer } from 'aws4fetch';
import { XMLParser } from 'fast-xml-parser';
import type { ByteRange } from './store.ts';

export interface S3ClientOptions {
  /** `http(s)://host[:port]` of the S3-compatible server (no path). */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  /**
   * Path-style URLs (`endpoint/bucket/key`), which self-hosted servers (MinIO, Garage, Ceph RGW)
   * accept without wildcard DNS; false: virtual-hosted (`bucket.endpoint/key`), as AWS prefers.
   */
  readonly forcePathStyle: boolean;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /**
   * Longest silence of the server on one request: connecting, waiting for the answer, or between
   * two chunks of a body. Then the request fails instead of hanging the put or download.
   */
  readonly timeoutMs: number;
  /** Name resolution for the endpoint's host (tests point virtual-hosted names at loopback). */
  readonly lookup?: LookupFunction;
  /** Most sockets kept per server. */
  readonly maxSockets?: number;
}

/** A failed S3 request: what was asked, and what the server (or the network) said. */
export class S3RequestError extends Error {
  constructor(
    readonly operation: string,
    /** HTTP status; undefined when no answer came (refused, reset, timeout). */
    readonly status: number | undefined,
    /** The S3 error code (`SignatureDoesNotMatch`, `NoSuchBucket`, ...) or the socket's (`ECONNREFUSED`, `ETIMEDOUT`). */
    readonly s3Code: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'S3RequestError';
  }
}

export interface ObjectHead {
  readonly size: number;
  readonly contentType: string | undefined;
  readonly lastModified: number | undefined;
  /** `x-amz-meta-*` headers, by the name after the prefix (lowercase). */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ObjectWrite {
  readonly contentType: string;
  /** User metadata, stored as `x-amz-meta-<name>` (ASCII names and values). */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface ListPage {
  readonly keys: readonly string[];
  /** Continuation token of the next page; undefined on the last. */
  readonly next: string | undefined;
}

/** SHA-256 of an empty payload: what bodiless requests sign (SigV4). */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Error bodies are read up to this size; the rest is dropped (a hostile or broken server). */
const MAX_ERROR_BODY = 64 * 1024;
/** A ListObjectsV2 page is at most 1000 keys of at most 1 KiB: a few MiB is a generous cap. */
const MAX_LIST_BODY = 8 * 1024 * 1024;

const xml = new XMLParser({ ignoreAttributes: true, parseTagValue: false, processEntities: true, isArray: (name) => name === 'Contents' });

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

async function readCapped(res: IncomingMessage, cap: number): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of res) {
    const b = chunk as Buffer;
    if (total + b.length > cap) {
      parts.push(b.subarray(0, cap - total));
      res.destroy();
      break;
    }
    parts.push(b);
    total += b.length;
  }
  return Buffer.concat(parts).toString('utf8');
}

function field(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

/** `<Error><Code>…</Code><Message>…</Message></Error>` of an S3 answer, if the body is one. */
function parseS3Error(body: string): { code: string | undefined; message: string | undefined } {
  try {
    const doc = xml.parse(body) as { Error?: { Code?: unknown; Message?: unknown } };
    return { code: field(doc.Error?.Code), message: field(doc.Error?.Message) };
  } catch {
    return { code: undefined, message: undefined };
  }
}

/**
 * A minimal S3 REST client for the media store: the handful of object operations it needs, each
 * signed with AWS Signature V4 (aws4fetch's signer) and sent with node:http(s), so that uploads
 * stream from a file with an exact Content-Length and downloads stream to the caller with
 * backpressure. Every request has an idle timeout; failures become S3RequestErrors that name the
 * operation, the status and the server's error code, never the credentials.
 */
export class S3Client {
  private readonly endpoint: URL;
  private readonly agent: HttpAgent;

  constructor(private readonly options: S3ClientOptions) {
    const endpoint = new URL(options.endpoint);
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new Error(`S3 endpoint must be http:// or https://, got ${endpoint.protocol}`);
    if (endpoint.pathname !== '/' || endpoint.search !== '' || endpoint.username !== '' || endpoint.password !== '') {
      throw new Error('S3 endpoint must be scheme://host[:port] without path, query or credentials');
    }
    this.endpoint = endpoint;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 32 };
    this.agent = endpoint.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  }

  /**
   * The bucket's own URL: path-style `endpoint/bucket` (no trailing slash, as the AWS SDKs send
   * it and as some servers canonicalise it when checking the signature) or virtual-hosted
   * `bucket.endpoint/`.
   */
  private bucketUrl(): URL {
    const { protocol, host } = this.endpoint;
    return new URL(this.options.forcePathStyle ? `${protocol}//${host}/${this.options.bucket}` : `${protocol}//${this.options.bucket}.${host}/`);
  }

  objectUrl(key: string): URL {
    const { protocol, host } = this.endpoint;
    const base = this.options.forcePathStyle ? `${protocol}//${host}/${this.options.bucket}/` : `${protocol}//${this.options.bucket}.${host}/`;
    return new URL(base + encodeKey(key));
  }

  private describe(operation: string, key?: string): string {
    return `S3 ${operation} ${this.options.bucket}${key !== undefined ? `/${key}` : ''}`;
  }

  /** Signs and sends one request; resolves with the response once its headers are in. */
  private async send(operation: string, method: string, url: URL, headers: Record<string, string>, body?: { readonly path: string; readonly size: number; readonly sha256: string }, key?: string): Promise<IncomingMessage> {
    const signer = new AwsV4Signer({
      method, url: url.toString(),
      headers: { ...headers, 'x-amz-content-sha256': body?.sha256 ?? EMPTY_SHA256 },
      accessKeyId: this.options.accessKeyId, secretAccessKey: this.options.secretAccessKey,
      service: 's3', region: this.options.region,
    });
    const signed = await signer.sign();
    const out: OutgoingHttpHeaders = { host: url.host };
    signed.headers.forEach((value, name) => { out[name] = value; });
    if (body) out['content-length'] = body.size;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, {
        method, headers: out, agent: this.agent, timeout: this.options.timeoutMs,
        ...(this.options.lookup ? { lookup: this.options.lookup } : {}),
      });
      let response: IncomingMessage | undefined;
      req.on('timeout', () => {
        const err = new S3RequestError(operation, undefined, 'ETIMEDOUT', `${this.describe(operation, key)}: no answer from ${this.endpoint.host} within ${this.options.timeoutMs} ms`);
        // Mid-body, the reader of the response must learn why it ended, not just "aborted".
        if (response && !response.complete) response.destroy(err);
        req.destroy(err);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof S3RequestError) reject(err);
        else reject(new S3RequestError(operation, undefined, err.code, `${this.describe(operation, key)}: ${this.endpoint.host} unreachable (${err.code ?? err.message})`, { cause: err }));
      });
      req.on('response', (res) => {
        response = res;
        // The idle timeout goes on guarding the body: a server that stalls mid-file cuts the download.
        res.on('error', () => undefined);
        resolve(res);
      });
      if (body) {
        // Errors surface on the request ('error' or an early answer such as 403): nothing to add here.
        pipeline(createReadStream(body.path), req).catch(() => undefined);
      } else {
        req.end();
      }
    });
  }

  /** Turns a response that is not one of `ok` into an S3RequestError (reading at most 64 KiB of it). */
  private async failure(operation: string, key: string | undefined, res: IncomingMessage): Promise<S3RequestError> {
    const status = res.statusCode ?? 0;
    const text = await readCapped(res, MAX_ERROR_BODY).catch(() => '');
    const { code, message } = parseS3Error(text);
    const requestId = res.headers['x-amz-request-id'];
    const detail = [code ?? `HTTP ${status}`, message].filter(Boolean).join(': ');
    return new S3RequestError(operation, status, code, `${this.describe(operation, key)}: ${status} ${detail}${typeof requestId === 'string' ? ` (request id ${requestId})` : ''}`);
  }

  /** HeadObject: the object's size and metadata, or undefined when there is none. */
  async head(key: string): Promise<ObjectHead | undefined> {
    const res = await this.send('HeadObject', 'HEAD', this.objectUrl(key), {}, undefined, key);
    res.resume();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) {
      // A HEAD answer has no body, so no S3 error code: ask the same of a one-byte GET, whose
      // error body says why (SignatureDoesNotMatch, AccessDenied, NoSuchBucket, ...).
      const probe = await this.send('HeadObject', 'GET', this.objectUrl(key), { range: 'bytes=0-0' }, undefined, key);
      if (probe.statusCode !== undefined && probe.statusCode >= 400 && probe.statusCode !== 404) throw await this.failure('HeadObject', key, probe);
      probe.resume();
      throw new S3RequestError('HeadObject', res.statusCode, undefined, `${this.describe('HeadObject', key)}: ${res.statusCode ?? 0} HTTP ${res.statusCode ?? 0}`);
    }
    const metadata: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (name.startsWith('x-amz-meta-') && typeof value === 'string') metadata[name.slice('x-amz-meta-'.length)] = value;
    }
    const size = Number(res.headers['content-length']);
    if (!Number.isSafeInteger(size) || size < 0) throw new S3RequestError('HeadObject', 200, undefined, `${this.describe('HeadObject', key)}: answer without a valid Content-Length`);
    const modified = res.headers['last-modified'] ? Date.parse(res.headers['last-modified']) : NaN;
    return { size, contentType: res.headers['content-type'], lastModified: Number.isFinite(modified) ? modified : undefined, metadata };
  }

  /** GetObject, whole or an inclusive byte range: the body as a stream, or undefined when there is none. */
  async get(key: string, range?: ByteRange): Promise<IncomingMessage | undefined> {
    const res = await this.send('GetObject', 'GET', this.objectUrl(key), range ? { range: `bytes=${range.start}-${range.end}` } : {}, undefined, key);
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    const expected = range ? 206 : 200;
    if (res.statusCode !== expected) {
      if (res.statusCode === 200 && range) {
        // A server that ignored Range would hand out the wrong bytes under a 206.
        res.destroy();
        throw new S3RequestError('GetObject', 200, undefined, `${this.describe('GetObject', key)}: the server ignored the Range header`);
      }
      throw await this.failure('GetObject', key, res);
    }
    return res;
  }

  /**
   * PutObject of a whole local file, with its exact Content-Length and its SHA-256 signed as the
   * payload hash (so the server can check the bytes it got). With `ifNoneMatch`, the write is
   * conditional (`If-None-Match: *`): 'exists' when the key was created meanwhile (servers
   * without conditional writes ignore the header and overwrite, with the same bytes).
   */
  async putFile(key: string, file: { readonly path: string; readonly size: number; readonly sha256: string }, write: ObjectWrite, options: { readonly ifNoneMatch: boolean }): Promise<'stored' | 'exists'> {
    const headers: Record<string, string> = { 'content-type': write.contentType, ...metaHeaders(write.metadata) };
    if (options.ifNoneMatch) headers['if-none-match'] = '*';
    const res = await this.send('PutObject', 'PUT', this.objectUrl(key), headers, file, key);
    if (res.statusCode === 200) {
      res.resume();
      return 'stored';
    }
    // 412: the key exists; 409: a concurrent conditional write to it is in progress (AWS).
    if (options.ifNoneMatch && (res.statusCode === 412 || res.statusCode === 409)) {
      res.resume();
      return 'exists';
    }
    throw await this.failure('PutObject', key, res);
  }

  /**
   * CopyObject of an object onto itself with `x-amz-metadata-directive: REPLACE`: the documented
   * way to change an object's metadata without sending its bytes again. False when the object
   * is gone.
   */
  async replaceMetadata(key: string, write: ObjectWrite): Promise<boolean> {
    const headers: Record<string, string> = {
      'x-amz-copy-source': `/${this.options.bucket}/${encodeKey(key)}`,
      'x-amz-metadata-directive': 'REPLACE',
      'content-type': write.contentType,
      ...metaHeaders(write.metadata),
    };
    const res = await this.send('CopyObject', 'PUT', this.objectUrl(key), headers, undefined, key);
    if (res.statusCode === 404) {
      res.resume();
      return false;
    }
    if (res.statusCode !== 200) throw await this.failure('CopyObject', key, res);
    // CopyObject may answer 200 and report its failure in the body (AWS documents this).
    const text = await readCapped(res, MAX_ERROR_BODY);
    const { code, message } = parseS3Error(text);
    if (code === 'NoSuchKey') return false;
    if (code !== undefined) throw new S3RequestError('CopyObject', 200, code, `${this.describe('CopyObject', key)}: ${code}${message ? `: ${message}` : ''}`);
    return true;
  }

  /** DeleteObject (S3 answers 204 whether or not the key existed). */
  async delete(key: string): Promise<void> {
    const res = await this.send('DeleteObject', 'DELETE', this.objectUrl(key), {}, undefined, key);
    if (res.statusCode !== 204 && res.statusCode !== 200) throw await this.failure('DeleteObject', key, res);
    res.resume();
  }

  /** One page of ListObjectsV2 under `prefix`. */
  async listPage(prefix: string, maxKeys: number, continuationToken?: string): Promise<ListPage> {
    const url = this.bucketUrl();
    url.searchParams.set('list-type', '2');
    url.searchParams.set('max-keys', String(maxKeys));
    if (prefix !== '') url.searchParams.set('prefix', prefix);
    if (continuationToken !== undefined) url.searchParams.set('continuation-token', continuationToken);
    const res = await this.send('ListObjectsV2', 'GET', url, {});
    if (res.statusCode !== 200) throw await this.failure('ListObjectsV2', undefined, res);
    const text = await readCapped(res, MAX_LIST_BODY);
    let doc: { ListBucketResult?: { Contents?: { Key?: unknown }[]; IsTruncated?: unknown; NextContinuationToken?: unknown } };
    try {
      doc = xml.parse(text) as typeof doc;
    } catch (err) {
      throw new S3RequestError('ListObjectsV2', 200, undefined, `${this.describe('ListObjectsV2')}: unreadable answer`, { cause: err });
    }
    const result = doc.ListBucketResult;
    if (!result) throw new S3RequestError('ListObjectsV2', 200, undefined, `${this.describe('ListObjectsV2')}: answer without ListBucketResult`);
    const keys = (result.Contents ?? []).map((c) => field(c.Key)).filter((k): k is string => k !== undefined);
    const truncated = field(result.IsTruncated) === 'true';
    const next = field(result.NextContinuationToken);
    if (truncated && next === undefined) throw new S3RequestError('ListObjectsV2', 200, undefined, `${this.describe('ListObjectsV2')}: truncated page without a continuation token`);
    return { keys, next: truncated ? next : undefined };
  }

  /** Closes the kept-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}

function metaHeaders(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) out[`x-amz-meta-${name}`] = value;
  return out;
}
