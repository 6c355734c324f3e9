import { createHash } from 'node:crypto';
import type { MediaService } from '../../media/index.ts';
import type { Logger } from '../../core/logger.ts';

/** Largest avatar put into a vCard (BINVAL travels in-band: XMPP is poor at large binary payloads). */
export const MAX_AVATAR_BYTES = 64 * 1024;
/** Avatars remembered (by URL) at most. */
const MAX_CACHED = 1_000;
/** A URL that could not be fetched is not tried again for this long. */
const RETRY_AFTER_MS = 10 * 60_000;

export type VCardPhoto = { readonly type: string; readonly base64: string } | { readonly url: string };

/**
 * The XEP-0153 hash of a vCard photo: SHA-1 (hex) of the image bytes. A photo known only by its
 * URL has no bytes to hash: it is not advertised in presence (a client that reads the vCard
 * still finds the URL).
 */
export function photoHash(photo: VCardPhoto): string | undefined {
  return 'base64' in photo ? createHash('sha1').update(Buffer.from(photo.base64, 'base64')).digest('hex') : undefined;
}

/**
 * The PHOTO of a puppet's vCard (XEP-0054) from the avatar URL its person has on their network:
 * fetched once through the media store (SSRF-safe, size-limited), kept as base64 for later
 * queries. An image it cannot fetch, or one too large for a vCard, is given as its URL (EXTVAL)
 * so a client that follows URLs still shows it. Without a media store: the URL.
 */
export class PuppetAvatars {
  private readonly cache = new Map<string, { photo: VCardPhoto; hash: string | undefined; until: number }>();
  /** Fetches under way: a burst of messages from one person fetches their avatar once. */
  private readonly inFlight = new Map<string, Promise<VCardPhoto>>();

  constructor(private readonly media: MediaService | undefined, private readonly logger: Logger, private readonly now: () => number = Date.now) {}

  async photoOf(url: string): Promise<VCardPhoto> {
    return this.linked(await this.cachedOrFetched(url));
  }

  /**
   * A photo given by URL, with the URL re-signed when it is one of the media store's own links
   * (an XMPP user's stored avatar too large for a vCard): signed links expire, vCards are read later.
   */
  private linked(photo: VCardPhoto): VCardPhoto {
    if (!('url' in photo) || this.media === undefined) return photo;
    const url = this.media.links.freshUrl(photo.url);
    return url === photo.url ? photo : { url };
  }

  private async cachedOrFetched(url: string): Promise<VCardPhoto> {
    const hit = this.cache.get(url);
    if (hit && hit.until > this.now()) return hit.photo;
    let fetching = this.inFlight.get(url);
    if (!fetching) {
      fetching = this.fetch(url).then((photo) => {
        this.cache.delete(url);
        this.cache.set(url, { photo, hash: photoHash(photo), until: 'base64' in photo ? Number.POSITIVE_INFINITY : this.now() + RETRY_AFTER_MS });
        if (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
        return photo;
      }).finally(() => this.inFlight.delete(url));
      this.inFlight.set(url, fetching);
    }
    return fetching;
  }

  /** The XEP-0153 hash of the avatar at `url` when it is known now (fetched and kept), without fetching. */
  knownHash(url: string): { hash: string | undefined } | undefined {
    const hit = this.cache.get(url);
    return hit && hit.until > this.now() ? { hash: hit.hash } : undefined;
  }

  private async fetch(url: string): Promise<VCardPhoto> {
    if (!this.media) return { url };
    try {
      const ref = await this.media.fetcher.fetch(url);
      if (!ref.mime.startsWith('image/') || ref.size > MAX_AVATAR_BYTES) return { url };
      const stream = await this.media.store.open(ref.id);
      if (!stream) return { url };
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return { type: ref.mime, base64: Buffer.concat(chunks).toString('base64') };
    } catch (err) {
      this.logger.info({ err: (err as Error).message, url }, 'avatar not fetched; the vCard gives its URL');
      return { url };
    }
  }
}
