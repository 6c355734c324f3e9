// The profile photo an account set from its client (photos.uploadProfilePhoto). It is one of the
// chat layer's files, remembered in the state (`avatar:<user id>`, shared by every instance and
// kept across restarts), shown to MTProto clients as the account's userProfilePhoto, and carried
// as the account's avatar (`sender.avatar`, a link of our own store) on the events it sends, so
// other networks show it too (the XMPP puppet's vCard, WS clients). Read where it is needed
// without waiting: each account's photo is loaded at start and read again in the background when
// it is older than REFRESH_MS, so a photo set through another instance shows here soon after.
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Directory } from './directory.ts';
import type { MediaInfo } from './message-box.ts';

/** How old a remembered photo may be before it is read again (another instance may have changed it). */
export const REFRESH_MS = 30_000;

interface Known {
  info: MediaInfo | undefined;
  readAt: number;
  reading?: Promise<void>;
}

export class AccountAvatars {
  readonly #known = new Map<bigint, Known>();

  constructor(private readonly state: StateStore, private readonly directory: Directory, private readonly logger: Logger, private readonly now: () => number = Date.now) {}

  /** Reads every account's photo (at start). */
  async load(): Promise<void> {
    await Promise.all(this.directory.accounts.map((a) => this.#read(a.id)));
  }

  /** The account's photo as known here now; read again in the background when it is old. */
  of(accountId: bigint): MediaInfo | undefined {
    const known = this.#known.get(accountId);
    if (known === undefined) {
      if (this.directory.account(accountId) !== undefined) void this.#read(accountId);
      return undefined;
    }
    if (this.now() - known.readAt > REFRESH_MS && known.reading === undefined) void this.#read(accountId);
    return known.info;
  }

  /** Sets (or with undefined, removes) the account's photo, here and in the state. */
  async set(accountId: bigint, info: MediaInfo | undefined): Promise<void> {
    if (info === undefined) await this.state.delete(`avatar:${accountId}`);
    else await this.state.set(`avatar:${accountId}`, JSON.stringify(info));
    this.#known.set(accountId, { info, readAt: this.now() });
  }

  async #read(accountId: bigint): Promise<void> {
    const known = this.#known.get(accountId) ?? { info: undefined, readAt: 0 };
    this.#known.set(accountId, known);
    if (known.reading !== undefined) return known.reading;
    known.reading = (async () => {
      try {
        const raw = await this.state.get(`avatar:${accountId}`);
        known.info = raw === undefined ? undefined : parseInfo(raw);
      } catch (err) {
        this.logger.warn({ err, user: String(accountId) }, 'mtproto: reading an account\'s profile photo failed (the one known here stays)');
      } finally {
        known.readAt = this.now();
        known.reading = undefined;
      }
    })();
    return known.reading;
  }
}

function parseInfo(raw: string): MediaInfo | undefined {
  try {
    const v = JSON.parse(raw) as Partial<MediaInfo>;
    return v.kind === 'photo' && typeof v.file === 'string' && typeof v.sha256 === 'string' ? v as MediaInfo : undefined;
  } catch {
    return undefined;
  }
}
