// How long a video or audio file plays and how large a video shows, read from the file itself:
// clients show a video inline (a player of the right shape) and an audio file with its length
// only when the document says so, and a client's own declaration is often a placeholder (gramjs
// declares 1x1 when it cannot read the file). Two containers are read, the ones voice messages,
// phone videos and most chat recordings come in: ISO BMFF (MP4, MOV, M4A, 3GP: `mvhd` and the
// first `tkhd` with a picture) and Ogg (Opus or Vorbis: the last page's granule position). Anything
// else, or a file that does not parse, has no shape; nothing here throws on bad bytes.

/** What a file's header says about playing it; a field it does not say is absent. */
export interface MediaShape {
  /** Seconds, rounded (MTProto's older layers carry an int). */
  readonly duration?: number;
  /** The picture's width and height as shown (a rotation of 90 or 270 degrees applied). */
  readonly w?: number;
  readonly h?: number;
  /** The index (`moov`) comes before the data, so a client can play while downloading. */
  readonly streamable?: boolean;
}

/** Seconds past this are not believed (Telegram's own limit is far below: a day). */
const MAX_SECONDS = 7 * 24 * 3600;
/** Pixels past this on a side are not believed. */
const MAX_SIDE = 16_384;
/** Boxes looked at, all levels together: a file of many tiny boxes is not walked to its end. */
const MAX_BOXES = 4_096;
/** How far from the end the last Ogg page is looked for (a page is at most 65,307 bytes). */
const OGG_TAIL = 65_536 + 282;

/** The shape of `bytes` as its container says, or undefined when it is neither ISO BMFF nor Ogg. */
export function mediaShape(bytes: Uint8Array): MediaShape | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp') return isoShape(b);
  if (b.length >= 28 && b.toString('latin1', 0, 4) === 'OggS') return oggShape(b);
  return undefined;
}

interface Box { readonly type: string; readonly start: number; readonly body: number; readonly end: number }

/** The boxes directly inside [from, to), as far as they parse; one that overruns ends the list. */
function* boxes(b: Buffer, from: number, to: number, budget: { left: number }): Generator<Box> {
  let at = from;
  while (at + 8 <= to && budget.left-- > 0) {
    let size = b.readUInt32BE(at);
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > to) return;
      size = Number(b.readBigUInt64BE(at + 8));
      body = at + 16;
    } else if (size === 0) {
      size = to - at;
    }
    if (size < body - at || at + size > to) return;
    yield { type: b.toString('latin1', at + 4, at + 8), start: at, body, end: at + size };
    at += size;
  }
}

function isoShape(b: Buffer): MediaShape | undefined {
  const budget = { left: MAX_BOXES };
  let moov: Box | undefined;
  let mdatAt: number | undefined;
  for (const box of boxes(b, 0, b.length, budget)) {
    if (box.type === 'moov' && moov === undefined) moov = box;
    if (box.type === 'mdat' && mdatAt === undefined) mdatAt = box.start;
  }
  if (moov === undefined) return undefined;
  let duration: number | undefined;
  let picture: { w: number; h: number } | undefined;
  for (const box of boxes(b, moov.body, moov.end, budget)) {
    if (box.type === 'mvhd') duration = movieSeconds(b, box);
    if (box.type === 'trak' && picture === undefined) {
      for (const inner of boxes(b, box.body, box.end, budget)) {
        if (inner.type === 'tkhd') picture = trackPicture(b, inner);
      }
    }
  }
  return {
    ...(duration !== undefined ? { duration } : {}),
    ...(picture ?? {}),
    ...(mdatAt !== undefined ? { streamable: moov.start < mdatAt } : {}),
  };
}

/** `mvhd`: version 0 has 32-bit times, version 1 64-bit; then the timescale and the duration. */
function movieSeconds(b: Buffer, box: Box): number | undefined {
  const v = b[box.body];
  const need = v === 1 ? 4 + 16 + 4 + 8 : 4 + 8 + 4 + 4;
  if ((v !== 0 && v !== 1) || box.body + need > box.end) return undefined;
  const timescale = b.readUInt32BE(box.body + (v === 1 ? 20 : 12));
  const units = v === 1 ? Number(b.readBigUInt64BE(box.body + 24)) : b.readUInt32BE(box.body + 16);
  return seconds(units, timescale);
}

/** `tkhd`: the track's width and height (16.16 fixed point) after its matrix; 0x0 is a track without a picture. */
function trackPicture(b: Buffer, box: Box): { w: number; h: number } | undefined {
  const v = b[box.body];
  const matrixAt = box.body + 4 + (v === 1 ? 48 : 36);
  const sizeAt = matrixAt + 36;
  if ((v !== 0 && v !== 1) || sizeAt + 8 > box.end) return undefined;
  const w = Math.round(b.readUInt32BE(sizeAt) / 65_536);
  const h = Math.round(b.readUInt32BE(sizeAt + 4) / 65_536);
  if (w <= 0 || h <= 0 || w > MAX_SIDE || h > MAX_SIDE) return undefined;
  // A phone held upright stores its picture on its side with a rotation in the matrix
  // (a = d = 0): shown, width and height trade places.
  const quarterTurn = b.readInt32BE(matrixAt) === 0 && b.readInt32BE(matrixAt + 16) === 0;
  return quarterTurn ? { w: h, h: w } : { w, h };
}

/**
 * Ogg: the stream's length is the last page's granule position over the sample rate, 48 kHz
 * for Opus (less its pre-skip, from `OpusHead`) and the rate of `\x01vorbis` for Vorbis.
 */
function oggShape(b: Buffer): MediaShape | undefined {
  const packetAt = 27 + b[26]!; // after the first page's header and its segment table
  const first = b.subarray(packetAt, Math.min(b.length, packetAt + 64));
  let rate: number | undefined;
  let preSkip = 0;
  if (first.length >= 19 && first.toString('latin1', 0, 8) === 'OpusHead') {
    rate = 48_000;
    preSkip = first.readUInt16LE(10);
  } else if (first.length >= 16 && first.toString('latin1', 0, 7) === '\x01vorbis') {
    rate = first.readUInt32LE(12);
  }
  if (rate === undefined) return {};
  // Only the tail is searched: a file with no page there has no length, however long it is.
  const tail = b.subarray(Math.max(0, b.length - OGG_TAIL));
  for (let at = tail.lastIndexOf('OggS', tail.length - 27, 'latin1'); at >= 0; at = at === 0 ? -1 : tail.lastIndexOf('OggS', at - 1, 'latin1')) {
    if (at + 14 > tail.length || tail[at + 4] !== 0) continue;
    const granule = tail.readBigInt64LE(at + 6);
    if (granule < 0n) continue; // -1: no packet ends on this page
    const duration = seconds(Math.max(0, Number(granule) - preSkip), rate);
    return duration === undefined ? {} : { duration };
  }
  return {};
}

function seconds(units: number, perSecond: number): number | undefined {
  if (!Number.isFinite(units) || perSecond <= 0) return undefined;
  const s = Math.round(units / perSecond);
  return s >= 0 && s <= MAX_SECONDS ? s : undefined;
}
