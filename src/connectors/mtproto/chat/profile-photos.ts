// Profile photos of people of other networks: the avatar URL their network (or
// mappings/identities.yaml) gives, fetched once through the app's media store (SSRF-safe,
// size-limited, the same fetch XMPP puppets' vCards use), kept as one of the chat layer's files
// (chat-files.ts), and shown as the user's `userProfilePhoto`, which clients download with
// `upload.getFile(inputPeerPhotoFileLocation)`. Rendering never waits: a user whose photo is not
// fetched yet shows without one, and the fetch starts; the next time the user is rendered it has
// it. Without a media store nothing is fetched (the connector's own store has no safe fetch).
import { profilePicture } from './media-attributes.ts';
import type { Logger } from '../../../core/logger.ts';
import { isMediaError, MediaErrorCode, type MediaService } from '../../../media/index.ts';
import type { ChatFiles } from './chat-files.ts';
import type { MediaInfo } from './message-box.ts';

/** Largest avatar taken (Telegram's own profile photos are well under this). */
export const MAX_PROFILE_PHOTO_BYTES = 1024 * 1024;
/** Avatars remembered (by URL) at most. */
const MAX_REMEMBERED = 4_096;
/** A URL that gave no usable image is not tried again for this long. */
const RETRY_AFTER_MS = 10 * 60_000;

export class ProfilePhotos {
  /** URL -> the photo file, or undefined (unusable) until `until`. */
  readonly #known = new Map<string, { info: MediaInfo | undefined; until: number }>();
  /** Fetches under way: a burst of messages from one person fetches their avatar once. */
  readonly #fetching = new Map<string, Promise<void>>();

  constructor(private readonly media: MediaService | undefined, private readonly files: ChatFiles, private readonly logger: Logger,
    private readonly now: () => number = Date.now) {}

  /** The photo of the avatar at `url` when it is fetched; otherwise undefined, and it is fetched in the background. */
  photoOf(url: string | undefined): MediaInfo | undefined {
    if (url === undefined || this.media === undefined) return undefined;
    const known = this.#known.get(url);
    if (known !== undefined && (known.info !== undefined || known.until > this.now())) return known.info;
    if (!this.#fetching.has(url) && this.#fetching.size < MAX_REMEMBERED) {
      this.#fetching.set(url, this.#fetch(url).then((info) => {
        if (info !== 'busy') this.#remember(url, info);
      }).finally(() => this.#fetching.delete(url)));
    }
    return undefined;
  }

  /** The photo, undefined when the URL gives none, 'busy' when the media store had no fetch slot (tried again at the next render). */
  async #fetch(url: string): Promise<MediaInfo | undefined | 'busy'> {
    try {
      const ref = await this.media!.fetcher.fetch(url, { name: 'photo' });
      if (!ref.mime.startsWith('image/') || ref.size > MAX_PROFILE_PHOTO_BYTES) {
        this.logger.info({ url, mime: ref.mime, size: ref.size }, 'mtproto: an avatar that is not a small image is not shown as a profile photo');
        return undefined;
      }
      const info = await this.files.native(this.media!.attachmentFor(ref, 'photo'));
      return info !== undefined && profilePicture(info) ? info : undefined;
    } catch (err) {
      if (isMediaError(err, MediaErrorCode.Busy)) return 'busy';
      this.logger.info({ err: (err as Error).message, url }, 'mtproto: avatar not fetched; the user shows without a photo');
      return undefined;
    }
  }

  #remember(url: string, info: MediaInfo | undefined): void {
    this.#known.delete(url);
    this.#known.set(url, { info, until: this.now() + RETRY_AFTER_MS });
    if (this.#known.size > MAX_REMEMBERED) this.#known.delete(this.#known.keys().next().value as string);
  }
}
