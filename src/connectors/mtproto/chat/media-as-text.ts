// What a client sends as media that is no file: a location, a venue, a contact, a dice throw, a
// poll. The canonical message has no such kinds, so each becomes text every network shows (a
// location as a link to the map), rather than a refusal or nothing: a visible degradation, as
// matterbridge and the mautrix bridges show them to networks without them.
import { randomInt } from 'node:crypto';
import type { Span } from '../../../core/event.ts';
import type { TlObject, TlValue } from '../tl/codec.ts';
import { clip } from '../../../core/text.ts';

/** What each dice emoji can land on (Telegram's: 1–6, 1–5 for the balls, 1–64 for the slot machine). */
// A Map, not an object: a client's emoticon is a key, and "valueOf" must not find Object.prototype's.
const DICE_FACES: ReadonlyMap<string, number> = new Map([['🎲', 6], ['🎯', 6], ['🎳', 6], ['🏀', 5], ['⚽', 5], ['🎰', 64]]);
/** Poll options shown at most (Telegram allows 10; newer layers more). */
const MAX_POLL_OPTIONS = 12;
/** Characters of one field kept (a name, an address, a question...). */
const MAX_FIELD = 256;

const str = (v: TlValue | undefined): string => (typeof v === 'string' ? clip(v.replace(/[\p{Cc}]+/gu, ' ').trim(), MAX_FIELD) : '');
/** A poll's text: a string up to layer 177, a TextWithEntities from 179. */
const textOf = (v: TlValue | undefined): string => str(typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? (v as TlObject)['text'] : v);
const objectOf = (v: TlValue | undefined): TlObject | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? v as TlObject : undefined);

/** A point as "lat, long" linked to OpenStreetMap, or undefined when it is not a point on Earth. */
function point(geo: TlObject | undefined): { label: string; url: string } | undefined {
  const lat = geo?.['lat'];
  const long = geo?.['long'];
  if (geo?._ !== 'inputGeoPoint' || typeof lat !== 'number' || typeof long !== 'number') return undefined;
  if (!Number.isFinite(lat) || !Number.isFinite(long) || Math.abs(lat) > 90 || Math.abs(long) > 180) return undefined;
  const [a, b] = [lat.toFixed(5), long.toFixed(5)];
  return { label: `${a}, ${b}`, url: `https://www.openstreetmap.org/?mlat=${a}&mlon=${b}#map=16/${a}/${b}` };
}

/**
 * The text a non-file media stands for, with its spans; undefined when the media is a file (or
 * unknown); a string: the rpc_error message refusing it (a point off the Earth, an unknown dice).
 */
export function mediaAsText(media: TlObject | undefined): { text: string; spans: Span[] } | string | undefined {
  switch (media?._) {
    case 'inputMediaGeoPoint':
    case 'inputMediaGeoLive': {
      const p = point(objectOf(media['geo_point']));
      if (p === undefined) return 'GEO_POINT_INVALID';
      const head = media._ === 'inputMediaGeoLive' ? '📍 Live location (shown once): ' : '📍 Location: ';
      return { text: head + p.label, spans: [{ type: 'link', offset: head.length, length: p.label.length, url: p.url }] };
    }
    case 'inputMediaVenue': {
      const p = point(objectOf(media['geo_point']));
      if (p === undefined) return 'GEO_POINT_INVALID';
      const title = str(media['title']) || p.label;
      const address = str(media['address']);
      const head = '📍 ';
      return { text: `${head}${title}${address !== '' ? `\n${address}` : ''}`, spans: [{ type: 'link', offset: head.length, length: title.length, url: p.url }] };
    }
    case 'inputMediaContact': {
      const name = [str(media['first_name']), str(media['last_name'])].filter((s) => s !== '').join(' ');
      const phone = str(media['phone_number']);
      if (name === '' && phone === '') return 'MEDIA_INVALID';
      return { text: `👤 ${[name, phone].filter((s) => s !== '').join(': ')}`, spans: [] };
    }
    case 'inputMediaDice': {
      const emoji = str(media['emoticon']);
      const faces = DICE_FACES.get(emoji);
      if (faces === undefined) return 'EMOTICON_INVALID';
      // The server throws the dice, as Telegram's does: everyone sees the same value.
      return { text: `${emoji} ${randomInt(1, faces + 1)}`, spans: [] };
    }
    case 'inputMediaPoll': {
      const poll = objectOf(media['poll']);
      const question = textOf(poll?.['question']);
      const answers = (Array.isArray(poll?.['answers']) ? poll['answers'] : []).map((a) => textOf(objectOf(a)?.['text'])).filter((a) => a !== '');
      if (question === '' || answers.length < 2) return 'POLL_OPTION_INVALID';
      const options = answers.slice(0, MAX_POLL_OPTIONS).map((a) => `○ ${a}`).join('\n');
      return { text: `📊 ${question}\n${options}`, spans: [] };
    }
    default:
      return undefined;
  }
}
