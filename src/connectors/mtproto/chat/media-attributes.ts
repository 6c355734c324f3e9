// How a stored video or audio file plays in clients: what the uploading client declared
// (documentAttributeVideo / documentAttributeAudio), what the file itself says (media-shape.ts),
// and the attributes a document shows it with. The file wins over the declaration where it
// speaks (a declaration is often a placeholder: gramjs says 1x1 and 0 s when it cannot read the
// file); the declaration fills what the file does not say, and alone says whether an audio file
// is a voice message or music (without one, the format decides: Ogg/Opus is a voice message),
// whether a video is a round video message, and what a voice message's waveform and a song's
// title and performer are: kept for other MTProto clients (other networks get the file as sent).
import type { TlObject, TlValue } from '../tl/codec.ts';
import { mediaShape, type MediaShape } from './media-shape.ts';
import type { MediaInfo } from './message-box.ts';
import { clip } from '../../../core/text.ts';

/** What a client said about the file it uploaded. */
export interface DeclaredShape {
  readonly duration?: number;
  readonly w?: number;
  readonly h?: number;
  readonly voice?: boolean;
  readonly round?: true;
  readonly title?: string;
  readonly performer?: string;
  /** A voice message's waveform as Telegram packs it (5-bit samples), base64. */
  readonly waveform?: string;
}

/** What a stored file's info keeps of its shape (MediaInfo's optional fields). */
export type PlayInfo = Pick<MediaInfo, 'duration' | 'w' | 'h' | 'voice' | 'streamable' | 'round' | 'title' | 'performer' | 'waveform'>;

const MAX_SECONDS = 7 * 24 * 3600;
const MAX_SIDE = 16_384;
/** Characters of a song's title or performer kept. */
export const MAX_AUDIO_TEXT = 256;
/** Bytes of a waveform kept (Telegram's clients send 63: 100 samples of 5 bits). */
export const MAX_WAVEFORM = 128;

/** A title or performer: control characters become spaces, trimmed, bounded; empty is none. */
function audioText(v: TlValue | undefined): string | undefined {
  // eslint-disable-next-line no-control-regex
  const s = typeof v === 'string' ? clip(v.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim(), MAX_AUDIO_TEXT) : '';
  return s === '' ? undefined : s;
}

const count = (v: TlValue | undefined, max: number): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max ? Math.round(v) : undefined;

/** The client's declaration, from an upload's attributes; values out of range are not taken. */
export function declaredShape(attributes: readonly TlObject[]): DeclaredShape {
  const video = attributes.find((a) => a._ === 'documentAttributeVideo');
  const audio = attributes.find((a) => a._ === 'documentAttributeAudio');
  const w = count(video?.['w'], MAX_SIDE);
  const h = count(video?.['h'], MAX_SIDE);
  // Below 2 px a side is a placeholder, not a picture.
  const sized = w !== undefined && h !== undefined && w >= 2 && h >= 2;
  const duration = count(video?.['duration'], MAX_SECONDS) ?? count(audio?.['duration'], MAX_SECONDS);
  return {
    ...(duration !== undefined && duration > 0 ? { duration } : {}),
    ...(sized ? { w, h } : {}),
    ...(audio !== undefined ? { voice: audio['voice'] === true } : {}),
    ...(video?.['round_message'] === true ? { round: true as const } : {}),
    ...(audioText(audio?.['title']) !== undefined ? { title: audioText(audio?.['title'])! } : {}),
    ...(audioText(audio?.['performer']) !== undefined ? { performer: audioText(audio?.['performer'])! } : {}),
    ...(audio?.['waveform'] instanceof Uint8Array && audio['waveform'].length > 0 && audio['waveform'].length <= MAX_WAVEFORM
      ? { waveform: Buffer.from(audio['waveform']).toString('base64') } : {}),
  };
}

/** Whether a file's type is one that plays (and so has a shape worth reading). */
export function plays(mime: string): boolean {
  return mime.startsWith('video/') || mime.startsWith('audio/');
}

/** The shape a stored file keeps: read from `bytes` when it plays, the declaration filling the gaps. */
export function playInfo(bytes: Uint8Array | undefined, mime: string, declared: DeclaredShape = {}): PlayInfo {
  if (!plays(mime)) return {};
  const read: MediaShape = (bytes === undefined ? undefined : mediaShape(bytes)) ?? {};
  const duration = read.duration ?? declared.duration;
  const video = mime.startsWith('video/');
  const picture = !video ? undefined
    : read.w !== undefined && read.h !== undefined ? { w: read.w, h: read.h }
      : declared.w !== undefined && declared.h !== undefined ? { w: declared.w, h: declared.h } : undefined;
  return {
    ...(duration !== undefined ? { duration } : {}),
    ...(picture ?? {}),
    ...(!video && declared.voice !== undefined ? { voice: declared.voice } : {}),
    ...(video && read.streamable === true ? { streamable: true } : {}),
    ...(video && declared.round === true ? { round: true as const } : {}),
    ...(!video && declared.title !== undefined ? { title: declared.title } : {}),
    ...(!video && declared.performer !== undefined ? { performer: declared.performer } : {}),
    ...(!video && declared.waveform !== undefined ? { waveform: declared.waveform } : {}),
  };
}

/** Whether an audio file shows as a voice message: as declared, else Ogg/Opus. */
export function isVoice(info: Pick<MediaInfo, 'mime' | 'voice'>): boolean {
  if (!info.mime.startsWith('audio/')) return false;
  return info.voice ?? (info.mime === 'audio/ogg' || info.mime === 'audio/opus');
}

/**
 * The attributes that make clients play a document inline: a video with its shape (0 where it is
 * not known: clients read it from the file as they play), an audio file with its length and
 * whether it is a voice message, a GIF as an animation of its size. Other files: none.
 */
export function playAttributes(info: MediaInfo): TlObject[] {
  if (info.mime === 'image/gif' && info.w !== undefined && info.h !== undefined) {
    return [{ _: 'documentAttributeImageSize', w: info.w, h: info.h }, { _: 'documentAttributeAnimated' }];
  }
  if (info.mime.startsWith('video/')) {
    return [{
      _: 'documentAttributeVideo', round_message: info.round === true, supports_streaming: info.streamable === true,
      duration: info.duration ?? 0, w: info.w ?? 0, h: info.h ?? 0,
    }];
  }
  if (info.mime.startsWith('audio/')) {
    return [{
      _: 'documentAttributeAudio', voice: isVoice(info), duration: info.duration ?? 0,
      ...(info.title !== undefined ? { title: info.title } : {}),
      ...(info.performer !== undefined ? { performer: info.performer } : {}),
      ...(info.waveform !== undefined ? { waveform: new Uint8Array(Buffer.from(info.waveform, 'base64')) } : {}),
    }];
  }
  return [];
}

/**
 * Whether a stored image can be a profile photo: a photo, or a GIF (an animation in messages; as
 * an avatar, a picture of its size, as it was before GIFs became animations).
 */
export function profilePicture(info: Pick<MediaInfo, 'kind' | 'mime' | 'w' | 'h'>): boolean {
  return info.kind === 'photo' || (info.mime === 'image/gif' && info.w !== undefined && info.h !== undefined);
}
