// Avatars of XMPP users, for the other networks: a room occupant (or a user writing to a puppet)
// advertises the SHA-1 of its vCard photo in its presence (XEP-0153). The relay asks for the
// vCard through the room, with an iq to the occupant's room JID (XEP-0045 rooms pass vCard
// requests on to the occupant's account, so this works in rooms that hide real JIDs too); in a
// direct chat the puppet asks the user's bare JID. The photo is checked against the advertised
// hash and kept in the media store, and the user's canonical sender carries the store's URL as
// its `avatar`. The URL is signed and expires, but the media layer re-signs its own URLs on
// delivery and its fetcher reads them from the store, so every network can show it.
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import xml, { type Element } from '@xmpp/xml';
import type { Logger } from '../../core/logger.ts';
import type { Counter } from '../../core/metrics.ts';
import { TokenBucket, TokenBuckets } from '../../core/token-bucket.ts';
import type { MediaService } from '../../media/index.ts';
import { SNIFF_BYTES, sniff } from '../../media/sniff.ts';
import { NS } from './ns.ts';

/** Largest vCard photo taken (Telegram's profile photos, the largest consumer here, are well under it). */
export const MAX_OCCUPANT_AVATAR_BYTES = 1024 * 1024;
/** Hashes remembered at most (each a URL or a failure). */
const MAX_REMEMBERED = 4_096;
/**
 * vCard requests under way at most: a room full of people (every occupant's presence arrives at
 * once when the relay joins) is asked a few at a time; the others wait their turn, up to
 * MAX_WAITING of them (past that a presence's avatar is not asked for now: its next one asks).
 */
const MAX_IN_FLIGHT = 4;
const MAX_WAITING = 1_000;
/** A hash whose vCard gave no usable photo is not asked for again for this long. */
const RETRY_AFTER_MS = 10 * 60_000;
/**
 * A stored avatar is taken as stored for this long, then asked for again (the media store's GC
 * may have removed it once no retained event referred to it).
 */
const KEEP_STORED_MS = 24 * 3_600_000;
const REQUEST_TIMEOUT_MS = 15_000;
/**
 * vCard requests per occupant: 3 at once, then one a minute. Each new hash is a request and may
 * store up to 1 MiB, so someone changing their photo over and over must not fill the media store.
 */
const PER_OCCUPANT_BURST = 3;
const PER_OCCUPANT_PER_SECOND = 1 / 60;

export interface OccupantAvatarsDeps {
  readonly media: MediaService;
  /** Sends an iq get and resolves with its result (the component link's request()). */
  readonly request: (iq: Element, timeoutMs: number) => Promise<Element>;
  readonly logger: Logger;
  /** Requests by outcome: stored, no_photo, mismatch, not_image, failed; not asked: limited, busy. */
  readonly outcomes?: Counter<'outcome'>;
  /** Requests per occupant (tests); default 3 at once, then one a minute. */
  readonly perOccupant?: { readonly burst: number; readonly perSecond: number };
  readonly now?: () => number;
}

export class OccupantAvatars {
  readonly #deps: OccupantAvatarsDeps;
  readonly #now: () => number;
  /** Hash -> the stored avatar's URL, or undefined (no usable photo) until `until`. */
  readonly #known = new Map<string, { url: string | undefined; until: number }>();
  readonly #fetching = new Map<string, Promise<string | undefined>>();
  readonly #perOccupant: TokenBuckets;
  /** Requests under way, and those waiting for one of the MAX_IN_FLIGHT slots. */
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(deps: OccupantAvatarsDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    const limit = deps.perOccupant ?? { burst: PER_OCCUPANT_BURST, perSecond: PER_OCCUPANT_PER_SECOND };
    this.#perOccupant = new TokenBuckets(10_000, () => new TokenBucket(limit.perSecond, limit.burst));
  }

  /**
   * What an XEP-0153 hash just advertised by `holderJid` shows: the stored avatar's URL at once
   * when known ('' = no avatar: undefined); otherwise undefined now, the vCard is asked for from
   * `askFrom`, and `later(url)` runs once it is stored (the caller checks the holder still
   * advertises that hash).
   */
  follow(hash: string, holderJid: string, askFrom: string, later: (url: string) => void): string | undefined {
    if (hash === '') return undefined;
    const stored = this.known(hash);
    if (stored === undefined) void this.#urlOf(hash, holderJid, askFrom).then((url) => { if (url !== undefined) later(url); });
    return stored;
  }

  /** The URL of the avatar with this hash when it is stored; never fetches. */
  known(hash: string): string | undefined {
    const known = this.#known.get(hash);
    return known !== undefined && known.until > this.#now() ? known.url : undefined;
  }

  /**
   * The URL of the avatar `occupantJid` advertises with `hash`: stored already, or its vCard is
   * asked for from `relayJid` (in a room: the relay, an occupant of the same room, asking the
   * occupant's room JID; in a direct chat: the puppet, asking the user's bare JID). Undefined when the vCard has no
   * photo with that hash, is too large or not an image, or the occupant changes avatars too fast
   * or a thousand requests wait already (then a later presence tries again).
   */
  async #urlOf(hash: string, occupantJid: string, relayJid: string): Promise<string | undefined> {
    const known = this.#known.get(hash);
    if (known !== undefined && known.until > this.#now()) return known.url;
    const running = this.#fetching.get(hash);
    if (running !== undefined) return await running;
    if (this.#waiting.length >= MAX_WAITING) {
      this.#deps.outcomes?.inc({ outcome: 'busy' });
      return undefined;
    }
    if (!this.#perOccupant.of(occupantJid).tryTake()) {
      // Not remembered: a later presence of theirs with this hash asks again once they may.
      this.#deps.outcomes?.inc({ outcome: 'limited' });
      this.#deps.logger.info({ occupant: occupantJid }, 'xmpp: avatar changes of this occupant come too fast; this one is not fetched now');
      return undefined;
    }
    const fetching = this.#inTurn(() => this.#fetch(hash, occupantJid, relayJid)).finally(() => this.#fetching.delete(hash));
    this.#fetching.set(hash, fetching);
    return await fetching;
  }

  /** Runs `work` in one of the MAX_IN_FLIGHT slots, waiting for one in arrival order. */
  async #inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter (the count stays), or is given back.
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }

  async #fetch(hash: string, occupantJid: string, relayJid: string): Promise<string | undefined> {
    const { logger } = this.#deps;
    let url: string | undefined;
    let outcome: 'stored' | 'no_photo' | 'mismatch' | 'not_image' | 'failed';
    try {
      const answer = await this.#deps.request(xml('iq', { type: 'get', from: relayJid, to: occupantJid }, xml('vCard', { xmlns: NS.vcard })), REQUEST_TIMEOUT_MS);
      const photo = vcardPhotoOf(answer);
      if (photo === undefined) {
        outcome = 'no_photo';
        logger.debug({ occupant: occupantJid }, 'xmpp: the vCard has no photo of a usable size; the user shows without an avatar');
      } else if (createHash('sha1').update(photo.bytes).digest('hex') !== hash) {
        // XEP-0153 §3.2: the hash is of the image's bytes. Another photo is not this avatar.
        outcome = 'mismatch';
        logger.info({ occupant: occupantJid, hash }, 'xmpp: the vCard photo does not match the advertised avatar hash; not shown');
      } else {
        // Only an image recognised by its signature (PNG, JPEG, GIF, WebP...): the declared TYPE is
        // the sender's word, and SVG (which can carry script) is no avatar.
        const sniffed = sniff(photo.bytes.subarray(0, SNIFF_BYTES));
        if (sniffed.kind !== 'media' || !sniffed.mime.startsWith('image/')) {
          outcome = 'not_image';
          logger.info({ occupant: occupantJid, declared: photo.type, sniffed: sniffed.mime }, 'xmpp: the vCard photo is not an image; not shown');
        } else {
          const ref = await this.#deps.media.store.put(Readable.from([photo.bytes]), { mime: sniffed.mime, maxBytes: MAX_OCCUPANT_AVATAR_BYTES });
          outcome = 'stored';
          url = this.#deps.media.attachmentFor(ref, 'avatar').url;
        }
      }
    } catch (err) {
      outcome = 'failed';
      logger.info({ occupant: occupantJid, err: (err as Error).message }, 'xmpp: avatar vCard not fetched; the user shows without an avatar');
    }
    this.#deps.outcomes?.inc({ outcome });
    this.#known.delete(hash);
    this.#known.set(hash, { url, until: this.#now() + (url !== undefined ? KEEP_STORED_MS : RETRY_AFTER_MS) });
    if (this.#known.size > MAX_REMEMBERED) this.#known.delete(this.#known.keys().next().value as string);
    return url;
  }
}

/** The PHOTO of a vCard result (XEP-0054): its bytes and declared type; undefined when absent, empty or too large. */
export function vcardPhotoOf(answer: Element): { bytes: Buffer; type: string | undefined } | undefined {
  const photo = answer.getChild('vCard', NS.vcard)?.getChild('PHOTO');
  const binval = photo?.getChildText('BINVAL');
  if (binval === null || binval === undefined) return undefined;
  // Checked before decoding: base64 is 4/3 of the bytes (whitespace aside).
  if (binval.length > (MAX_OCCUPANT_AVATAR_BYTES * 4) / 3 + 4096) return undefined;
  const bytes = Buffer.from(binval.replace(/\s+/g, ''), 'base64');
  if (bytes.length === 0 || bytes.length > MAX_OCCUPANT_AVATAR_BYTES) return undefined;
  const type = photo?.getChildText('TYPE')?.trim();
  return { bytes, type: type !== undefined && type !== '' ? type : undefined };
}
