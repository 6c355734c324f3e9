// A file's length and picture size as its container says (chat/media-shape.ts), and what the
// chat layer makes of them with a client's declaration (chat/media-attributes.ts). The real files
// are FFmpeg's (test/fixtures/README.md says how each was made and what ffprobe says of it);
// the hand-built boxes cover what those do not (64-bit sizes and times, a box running to the
// end), and bad bytes of every kind must give no shape or a sane one, never an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { mediaShape } from '../../src/connectors/mtproto/chat/media-shape.ts';
import { declaredShape, isVoice, playAttributes, playInfo } from '../../src/connectors/mtproto/chat/media-attributes.ts';
import type { MediaInfo } from '../../src/connectors/mtproto/chat/message-box.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/media/${name}`, import.meta.url));
const FIXTURES = ['clip-faststart.mp4', 'clip-rotated.mp4', 'voice.ogg', 'music.ogg', 'song.m4a'];

test('the real files: length, picture as shown (rotation applied), and whether the index comes first', () => {
  assert.deepEqual(mediaShape(fixture('clip-faststart.mp4')), { duration: 3, w: 64, h: 48, streamable: true });
  assert.deepEqual(mediaShape(fixture('clip-rotated.mp4')), { duration: 2, w: 48, h: 64, streamable: false }, 'stored 64x48 with a quarter turn');
  assert.deepEqual(mediaShape(fixture('voice.ogg')), { duration: 4 }, 'Opus: granule less pre-skip over 48 kHz');
  assert.deepEqual(mediaShape(fixture('music.ogg')), { duration: 3 }, 'Vorbis: over its own rate');
  assert.deepEqual(mediaShape(fixture('song.m4a')), { duration: 5, streamable: false }, 'an audio track has no picture');
});

const box = (type: string, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
};
const u32 = (...v: number[]) => Buffer.concat(v.map((x) => { const b = Buffer.alloc(4); b.writeUInt32BE(x >>> 0); return b; }));
const u64 = (v: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(v); return b; };
const ftyp = box('ftyp', Buffer.from('isom'), u32(0x200), Buffer.from('isomiso2'));
const IDENTITY = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];
/** tkhd version 1: 64-bit times and duration. */
const tkhdV1 = (w: number, h: number, matrix = IDENTITY) => box('tkhd', u32(0x01000003), u64(1n), u64(2n), u32(1, 0), u64(1000n), u32(0, 0), u32(0, 0), u32(...matrix), u32(w * 65536, h * 65536));
/** mvhd version 1: a 64-bit duration. */
const mvhdV1 = (timescale: number, units: bigint) => box('mvhd', u32(0x01000000), u64(1n), u64(2n), u32(timescale), u64(units), Buffer.alloc(80));

test('hand-built boxes: version 1 times, a 64-bit box size, a box running to the end, an audio track before the picture', () => {
  const audio = box('trak', tkhdV1(0, 0));
  const video = box('trak', tkhdV1(1920, 1080));
  const moov = box('moov', mvhdV1(90_000, 90_000n * 125n + 44_999n), audio, video);
  // mdat with size 1 and a 64-bit size, then one with size 0 (to the end of the file).
  const big = Buffer.concat([u32(1), Buffer.from('mdat'), u64(16n + 4n), Buffer.alloc(4)]);
  const toEnd = Buffer.concat([u32(0), Buffer.from('free'), Buffer.alloc(10)]);
  assert.deepEqual(mediaShape(Buffer.concat([ftyp, moov, big, toEnd])), { duration: 125, w: 1920, h: 1080, streamable: true });
  assert.deepEqual(mediaShape(Buffer.concat([ftyp, big, moov])), { duration: 125, w: 1920, h: 1080, streamable: false });
  // A quarter turn the other way (270 degrees) swaps as well.
  const turned = box('moov', mvhdV1(1000, 1000n), box('trak', tkhdV1(640, 360, [0, -0x10000, 0, 0x10000, 0, 0, 0, 0, 0x40000000])));
  assert.deepEqual(mediaShape(Buffer.concat([ftyp, turned])), { duration: 1, w: 360, h: 640 });
});

test('what is not believed: no moov, a zero timescale, a length past a week, a picture past 16384 px, a box larger than the file', () => {
  assert.deepEqual(mediaShape(Buffer.concat([ftyp, box('mdat', Buffer.alloc(8))])), undefined, 'no index: no shape');
  assert.deepEqual(mediaShape(Buffer.concat([ftyp, box('moov', mvhdV1(0, 5n))])), {});
  assert.deepEqual(mediaShape(Buffer.concat([ftyp, box('moov', mvhdV1(1, 8n * 24n * 3600n))])), {});
  assert.deepEqual(mediaShape(Buffer.concat([ftyp, box('moov', box('trak', tkhdV1(20_000, 10)))])), {});
  const lying = Buffer.concat([ftyp, u32(0x7fffffff), Buffer.from('moov'), mvhdV1(1, 1n)]);
  assert.equal(mediaShape(lying), undefined, 'a box claiming more than the file is where the walk stops');
  const huge = Buffer.concat([ftyp, u32(1), Buffer.from('moov'), u64(0xffffffffffffn), mvhdV1(1, 1n)]);
  assert.equal(mediaShape(huge), undefined);
  assert.equal(mediaShape(Buffer.from('not a media file at all')), undefined);
  assert.equal(mediaShape(new Uint8Array(0)), undefined);
  // An Ogg stream of neither Opus nor Vorbis, and one whose pages never end a packet.
  const page = (granule: bigint, packet: Buffer) => Buffer.concat([Buffer.from('OggS'), Buffer.from([0, 2]), (() => { const b = Buffer.alloc(8); b.writeBigInt64LE(granule); return b; })(), Buffer.alloc(12), Buffer.from([1, packet.length]), packet]);
  assert.deepEqual(mediaShape(page(0n, Buffer.from('Speex   '.repeat(3)))), {});
  const head = Buffer.concat([Buffer.from('OpusHead'), Buffer.from([1, 1]), Buffer.from([0x38, 0x01]), Buffer.alloc(9)]);
  assert.deepEqual(mediaShape(Buffer.concat([page(0n, head), page(200n, Buffer.alloc(20))])), { duration: 0 }, 'the pre-skip (312) is not a negative length');
  assert.deepEqual(mediaShape(Buffer.concat([page(0n, head), page(96_312n, Buffer.alloc(20)), page(-1n, Buffer.alloc(20))])), { duration: 2 }, 'a last page ending no packet (-1) is passed over');
  const junkTail = Buffer.concat([page(0n, head), page(96_312n, Buffer.alloc(20)), Buffer.alloc(70_000)]);
  assert.deepEqual(mediaShape(junkTail), {}, 'pages are looked for in the last 64 KiB only');
});

test('every prefix and thousands of mutations of the real files: no exception, and any shape inside the bounds', () => {
  const sane = (s: ReturnType<typeof mediaShape>) => {
    if (s === undefined) return;
    if (s.duration !== undefined) assert.ok(Number.isInteger(s.duration) && s.duration >= 0 && s.duration <= 7 * 24 * 3600, `duration ${s.duration}`);
    if (s.w !== undefined || s.h !== undefined) assert.ok(s.w! >= 1 && s.h! >= 1 && s.w! <= 16_384 && s.h! <= 16_384, `picture ${s.w}x${s.h}`);
  };
  for (const name of FIXTURES) {
    const bytes = fixture(name);
    for (let n = 0; n <= bytes.length; n += 7) sane(mediaShape(bytes.subarray(0, n)));
  }
  fc.assert(fc.property(fc.constantFrom(...FIXTURES), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 24 }), (name, flips) => {
    const bytes = Buffer.from(fixture(name));
    for (const [at, value] of flips) bytes[at % bytes.length] = value;
    sane(mediaShape(bytes));
  }), { numRuns: 3_000 });
  fc.assert(fc.property(fc.constantFrom('ftyp', 'OggS'), fc.uint8Array({ maxLength: 400 }), (magic, rest) => {
    const bytes = Buffer.concat([magic === 'ftyp' ? Buffer.from([0, 0, 0, 12]) : Buffer.alloc(0), Buffer.from(magic), Buffer.from(rest)]);
    sane(mediaShape(bytes));
  }), { numRuns: 3_000 });
});

test('a declaration: taken within bounds, a 1x1 placeholder is no picture, a voice flag only from an audio attribute', () => {
  assert.deepEqual(declaredShape([{ _: 'documentAttributeVideo', duration: 7.4, w: 320, h: 240 }]), { duration: 7, w: 320, h: 240 });
  assert.deepEqual(declaredShape([{ _: 'documentAttributeVideo', duration: 0, w: 1, h: 1 }]), {}, "gramjs' placeholder");
  assert.deepEqual(declaredShape([{ _: 'documentAttributeVideo', duration: -5, w: 99_999, h: 240 }]), {});
  assert.deepEqual(declaredShape([{ _: 'documentAttributeVideo', duration: Number.NaN, w: 320, h: Number.POSITIVE_INFINITY }]), {});
  assert.deepEqual(declaredShape([{ _: 'documentAttributeAudio', duration: 12, voice: true }]), { duration: 12, voice: true });
  assert.deepEqual(declaredShape([{ _: 'documentAttributeAudio', duration: 200 }]), { duration: 200, voice: false });
  assert.deepEqual(declaredShape([{ _: 'documentAttributeFilename', file_name: 'x' }]), {});
  // What only the sender knows: a round video message, a song's title and performer, a voice message's waveform.
  assert.deepEqual(declaredShape([{ _: 'documentAttributeVideo', round_message: true, duration: 5, w: 240, h: 240 }]), { duration: 5, w: 240, h: 240, round: true });
  assert.deepEqual(declaredShape([{ _: 'documentAttributeAudio', duration: 1, title: ' Tune\n\u0007x ', performer: 'Band'.repeat(100), waveform: new Uint8Array([1, 2, 3]) }]),
    { duration: 1, voice: false, title: 'Tune x', performer: 'Band'.repeat(64), waveform: 'AQID' });
  assert.deepEqual(declaredShape([{ _: 'documentAttributeAudio', duration: 1, title: ' \u0000 ', waveform: new Uint8Array(129) }]), { duration: 1, voice: false }, 'an empty title and an oversized waveform are not taken');
});

test('the file wins where it speaks, the declaration fills the rest; only playing types get a shape', () => {
  const clip = fixture('clip-faststart.mp4');
  assert.deepEqual(playInfo(clip, 'video/mp4', { duration: 99, w: 1000, h: 1000 }), { duration: 3, w: 64, h: 48, streamable: true });
  assert.deepEqual(playInfo(Buffer.from('webm bytes'), 'video/webm', { duration: 9, w: 640, h: 360 }), { duration: 9, w: 640, h: 360 });
  assert.deepEqual(playInfo(undefined, 'video/webm'), {});
  assert.deepEqual(playInfo(clip, 'application/octet-stream', { duration: 3 }), {}, 'a file that does not say it plays does not');
  assert.deepEqual(playInfo(fixture('music.ogg'), 'audio/ogg', { voice: false }), { duration: 3, voice: false });
  assert.deepEqual(playInfo(fixture('song.m4a'), 'audio/mp4', { w: 50, h: 50 }), { duration: 5 }, 'audio has no picture');
  assert.deepEqual(playInfo(fixture('song.m4a'), 'audio/mp4', { title: 'Song', performer: 'Band', round: true }), { duration: 5, title: 'Song', performer: 'Band' }, 'audio is never round');
  assert.deepEqual(playInfo(fixture('clip-faststart.mp4'), 'video/mp4', { round: true, title: 'x', waveform: 'AQID' }), { duration: 3, w: 64, h: 48, streamable: true, round: true }, 'a video has no title or waveform');
});

test('the attributes a document shows: a video with its shape or zeros, audio with its length and voice flag', () => {
  const doc = (over: Partial<MediaInfo>): MediaInfo => ({ kind: 'document', file: '1', name: 'f', mime: 'application/pdf', size: 1, sha256: '', ...over });
  assert.deepEqual(playAttributes(doc({ mime: 'video/mp4', duration: 3, w: 64, h: 48, streamable: true })), [{ _: 'documentAttributeVideo', round_message: false, supports_streaming: true, duration: 3, w: 64, h: 48 }]);
  assert.deepEqual(playAttributes(doc({ mime: 'video/webm' })), [{ _: 'documentAttributeVideo', round_message: false, supports_streaming: false, duration: 0, w: 0, h: 0 }]);
  assert.deepEqual(playAttributes(doc({ mime: 'video/mp4', round: true, w: 240, h: 240 })), [{ _: 'documentAttributeVideo', round_message: true, supports_streaming: false, duration: 0, w: 240, h: 240 }]);
  assert.deepEqual(playAttributes(doc({ mime: 'audio/mpeg', title: 'Song', performer: 'Band', waveform: 'AQID' })), [{ _: 'documentAttributeAudio', voice: false, duration: 0, title: 'Song', performer: 'Band', waveform: new Uint8Array([1, 2, 3]) }]);
  assert.deepEqual(playAttributes(doc({ mime: 'audio/ogg', duration: 4 })), [{ _: 'documentAttributeAudio', voice: true, duration: 4 }]);
  assert.deepEqual(playAttributes(doc({ mime: 'audio/ogg', voice: false })), [{ _: 'documentAttributeAudio', voice: false, duration: 0 }], 'declared music in Ogg');
  assert.deepEqual(playAttributes(doc({ mime: 'audio/mpeg', voice: true })), [{ _: 'documentAttributeAudio', voice: true, duration: 0 }], 'a declared voice message in MP3');
  assert.deepEqual(playAttributes(doc({})), []);
  assert.equal(isVoice({ mime: 'video/mp4', voice: true }), false, 'only audio is a voice message');
});
