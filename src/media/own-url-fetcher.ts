import type { Logger } from '../core/logger.ts';
import { MediaError, MediaErrorCode } from './errors.ts';
import type { FetchedMedia, MediaFetcher } from './fetch-remote.ts';
import { sanitizeFileName } from './file-name.ts';
import { recognizeOwnUrl, type OwnUrlOptions } from './own-urls.ts';
import type { MediaStore } from './store.ts';

export interface OwnUrlFetcherOptions extends OwnUrlOptions {
  readonly store: MediaStore;
  /** Where every other URL goes: the SSRF-safe remote fetcher. */
  readonly remote: MediaFetcher;
  /** The largest file a fetch may give (the remote fetcher's limit): a stored file above it is refused here too. */
  readonly maxBytes?: number;
  readonly logger?: Logger;
}

/**
 * The media fetcher connectors use (MediaService.fetcher): a URL the store signed itself (a
 * puppet's avatar stored from an XMPP vCard, an attachment link in an old event) is answered from
 * the store, every other URL is fetched remotely. Fetching our own link over HTTP cannot work:
 * it points at the bridge's own port, usually on loopback or a private address the address policy
 * refuses, and an old link has expired (410). Nor is it needed: the bytes are here.
 *
 * Only a URL with our signature for that id and name is answered here (own-urls.ts; expired or
 * not); a made-up signature, another origin, or an id the store no longer has goes the remote way,
 * and is refused or fetched exactly as before, so knowing a file's hash never yields it. The size
 * limit of fetches holds here too: a stored upload larger than what a fetch may bring is refused
 * as TooLarge, as fetching it would be, rather than becoming a reference that fetching could not make.
 */
export class OwnUrlFetcher implements MediaFetcher {
  constructor(private readonly options: OwnUrlFetcherOptions) {}

  async fetch(url: string, options: { readonly name?: string } = {}): Promise<FetchedMedia> {
    const ours = recognizeOwnUrl(url, this.options);
    if (ours) {
      const { store } = this.options;
      // Touched first, like a put would: the caller is about to make a new reference to it (an
      // attachment, an avatar), and the GC's grace period must restart before that reference is
      // published (docs/media.md, Garbage collection). false: the store no longer has it.
      if (await store.touch(ours.id)) {
        const stored = await store.stat(ours.id);
        if (stored) {
          const { maxBytes } = this.options;
          if (maxBytes !== undefined && stored.size > maxBytes) {
            throw new MediaError(MediaErrorCode.TooLarge, `the file has ${stored.size} bytes, more than the limit of ${maxBytes}`);
          }
          this.options.logger?.debug({ id: ours.id }, 'media fetch of our own link answered from the store');
          // The shape RemoteFetcher gives for a fetched URL (no touchedAt): callers cannot tell the two apart.
          return { id: stored.id, sha256: stored.sha256, size: stored.size, mime: stored.mime, name: sanitizeFileName(options.name ?? ours.name), finalUrl: url };
        }
      }
    }
    return await this.options.remote.fetch(url, options);
  }
}
