import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from '../core/logger.ts';
import { AddressPolicy, isIpLiteral } from './address-policy.ts';
import { isMediaError, MediaError, MediaErrorCode } from './errors.ts';
import { sanitizeFileName } from './file-name.ts';
import { guardedLookup, systemResolver, type Resolver } from './guarded-lookup.ts';
import type { MediaMetrics } from './metrics.ts';
import type { MediaRef, MediaStore } from './store.ts';

export interface RemoteFetcherOptions {
  readonly store: MediaStore;
  /** Who may be fetched from; default: public unicast addresses only. */
  readonly policy?: AddressPolicy;
  /** Name resolution (tests inject one); default: the system resolver. */
  readonly resolver?: Resolver;
  /** Redirects followed at most, each re-checked like the first request. Default 5. */
  readonly maxRedirects?: number;
  /** The whole fetch, all hops and the body, in ms. Default 60 s. */
  readonly totalTimeoutMs?: number;
  /** Longest silence of the remote server (connect, headers, between body chunks), in ms. Default 15 s. */
  readonly idleTimeoutMs?: number;
  /** Largest body fetched; lower than the store's limit or equal to it (default). */
  readonly maxBytes?: number;
  /** Fetches running at once in this process (busy beyond). Default 16. */
  readonly maxConcurrent?: number;
  readonly userAgent?: string;
  readonly logger?: Logger;
  readonly metrics?: MediaMetrics;
}

export interface FetchedMedia extends MediaRef {
  /** The file name: the caller's, else the last path segment of the final URL. */
  readonly name: string;
  /** The URL the body came from, after redirects. */
  readonly finalUrl: string;
}

/** What connectors fetch URLs with (MediaService.fetcher): a stored reference for the file at `url`. */
export interface MediaFetcher {
  fetch(url: string, options?: { readonly name?: string }): Promise<FetchedMedia>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The request in flight and, once we cut it (timeouts), why: the reason the caller gets. */
interface CutState {
  current?: ClientRequest;
  reason?: MediaError;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

function nameFromUrl(url: URL): string | undefined {
  const last = url.pathname.split('/').pop();
  if (!last) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * Fetches remote files (an XMPP user's HTTP Upload link, a URL a WS client sent) into the media
 * store without letting a URL reach what it must not (SSRF):
 * - http and https only, no credentials in the URL;
 * - IP literals (in any form the URL parser accepts: decimal, octal, hex, IPv4-mapped IPv6) are
 *   judged by the address policy before connecting; names are resolved by a guarded lookup that
 *   hands the socket only allowed addresses, and the socket's remote address is checked again on
 *   connect, before a byte of the request is written;
 * - redirects are followed by hand, each hop checked from scratch, at most maxRedirects;
 * - the total time, the idle time and the size are limited while downloading; the body streams
 *   into the store, which removes the partial file when the fetch is cut off.
 */
export class RemoteFetcher implements MediaFetcher {
  private readonly policy: AddressPolicy;
  private readonly resolver: Resolver;
  private readonly maxRedirects: number;
  private readonly totalTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  /** The largest body a fetch brings (the option, capped at the store's limit). */
  readonly maxBytes: number;
  private readonly maxConcurrent: number;
  private running = 0;

  constructor(private readonly options: RemoteFetcherOptions) {
    this.policy = options.policy ?? new AddressPolicy();
    this.resolver = options.resolver ?? systemResolver;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.totalTimeoutMs = options.totalTimeoutMs ?? 60_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
    this.maxBytes = Math.min(options.maxBytes ?? options.store.maxBytes, options.store.maxBytes);
    this.maxConcurrent = options.maxConcurrent ?? 16;
  }

  async fetch(url: string, options: { readonly name?: string } = {}): Promise<FetchedMedia> {
    if (this.running >= this.maxConcurrent) throw new MediaError(MediaErrorCode.Busy, `at most ${this.maxConcurrent} remote fetches at once`);
    this.running++;
    try {
      const fetched = await this.fetchWithin(url, options.name);
      this.options.metrics?.bytesIn.inc({ source: 'fetch' }, fetched.size);
      return fetched;
    } catch (err) {
      this.options.metrics?.refusals.inc({ source: 'fetch', reason: isMediaError(err) ? err.code : 'internal' });
      this.options.logger?.info({ url: redact(url), reason: isMediaError(err) ? err.code : String(err) }, 'remote media fetch refused or failed');
      throw err;
    } finally {
      this.running--;
    }
  }

  private async fetchWithin(url: string, name: string | undefined): Promise<FetchedMedia> {
    // One deadline for everything; whatever is in flight when it passes is destroyed with the
    // timeout error, so the store sees its source fail and removes the partial file.
    const cut: CutState = {};
    const deadline = setTimeout(() => {
      cut.reason ??= new MediaError(MediaErrorCode.Timeout, `the fetch took longer than ${this.totalTimeoutMs} ms`);
      cut.current?.destroy(cut.reason);
    }, this.totalTimeoutMs);
    try {
      let target = this.checkUrl(url);
      for (let hop = 0; ; hop++) {
        const { req, res } = await this.get(target, cut);
        if (cut.reason) throw cut.reason;
        const status = res.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          res.resume();
          req.destroy();
          const location = res.headers.location;
          if (location === undefined) throw new MediaError(MediaErrorCode.BadStatus, `redirect ${status} without a Location`);
          if (hop >= this.maxRedirects) throw new MediaError(MediaErrorCode.TooManyRedirects, `more than ${this.maxRedirects} redirects`);
          target = this.checkUrl(new URL(location, target).href);
          continue;
        }
        if (status !== 200 && status !== 203) {
          res.resume();
          req.destroy();
          throw new MediaError(MediaErrorCode.BadStatus, `the server answered ${status}`);
        }
        return await this.store(req, res, target, name, cut);
      }
    } finally {
      clearTimeout(deadline);
    }
  }

  private async store(req: ClientRequest, res: IncomingMessage, target: URL, name: string | undefined, cut: CutState): Promise<FetchedMedia> {
    const lengthHeader = res.headers['content-length'];
    const declaredSize = lengthHeader !== undefined && /^\d{1,15}$/.test(lengthHeader) && res.headers['content-encoding'] === undefined ? Number(lengthHeader) : undefined;
    if (declaredSize !== undefined && declaredSize > this.maxBytes) {
      req.destroy();
      throw new MediaError(MediaErrorCode.TooLarge, `the remote file has ${declaredSize} bytes, more than the limit of ${this.maxBytes}`);
    }
    try {
      const ref = await this.options.store.put(res, { mime: res.headers['content-type'], maxBytes: this.maxBytes, ...(declaredSize !== undefined ? { declaredSize } : {}) });
      return { ...ref, name: sanitizeFileName(name ?? nameFromUrl(target)), finalUrl: target.href };
    } catch (err) {
      req.destroy();
      // Our own timeouts cut the source: report the timeout, not the "aborted" it caused.
      const cause = isMediaError(err, MediaErrorCode.Aborted) ? err.cause : undefined;
      throw cut.reason ?? (isMediaError(cause) ? cause : err);
    }
  }

  /** Refuses URLs that are not plain http(s), carry credentials, or name a forbidden IP literal. */
  private checkUrl(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new MediaError(MediaErrorCode.ForbiddenUrl, 'not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MediaError(MediaErrorCode.ForbiddenUrl, `scheme ${url.protocol} is not fetched (http and https only)`);
    if (url.username !== '' || url.password !== '') throw new MediaError(MediaErrorCode.ForbiddenUrl, 'URLs with credentials are not fetched');
    const host = hostOf(url);
    if (isIpLiteral(host)) {
      const verdict = this.policy.check(host);
      if (!verdict.allowed) throw new MediaError(MediaErrorCode.ForbiddenAddress, `refused to fetch from ${verdict.address} (${verdict.range})`);
    }
    return url;
  }

  /** One GET: resolves with the response head; the body is left unread. */
  private async get(url: URL, cut: CutState): Promise<{ req: ClientRequest; res: IncomingMessage }> {
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return await new Promise((resolve, reject) => {
      const req = request(url, {
        method: 'GET',
        agent: false, // a fresh connection per hop: no pooled socket to some other address is reused
        lookup: guardedLookup(this.policy, this.resolver),
        headers: { 'accept': '*/*', 'accept-encoding': 'identity', 'user-agent': this.options.userAgent ?? 'Switchboard-media/1' },
      });
      cut.current = req;
      req.setTimeout(this.idleTimeoutMs, () => {
        cut.reason ??= new MediaError(MediaErrorCode.Timeout, `the server was silent for ${this.idleTimeoutMs} ms`);
        req.destroy(cut.reason);
      });
      req.on('socket', (socket: Socket) => {
        // Second line of defence: whatever path led to this socket, its peer must be allowed.
        // prepend: runs before the request's own queued write on connect.
        const check = () => {
          const peer = socket.remoteAddress;
          if (peer === undefined || !this.policy.allows(peer)) {
            req.destroy(new MediaError(MediaErrorCode.ForbiddenAddress, `refused to fetch from ${peer ?? 'an unknown address'} (${peer ? this.policy.check(peer).range : 'no address'})`));
          }
        };
        if (socket.connecting) socket.prependOnceListener('connect', check);
        else check();
      });
      req.once('response', (res) => resolve({ req, res }));
      req.once('error', (err) => reject(isMediaError(err) ? err : new MediaError(MediaErrorCode.Unreachable, `cannot fetch ${redact(url.href)}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err })));
      req.end();
    });
  }
}

/** URLs in logs without their query (upload links often carry a token there). */
function redact(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?…`;
}
