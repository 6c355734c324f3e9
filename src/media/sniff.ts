/**
 * What the first bytes of a file say it is, after the WHATWG MIME Sniffing Standard §7.1
 * ("identifying a resource with an unknown MIME type") and its image / audio-video / archive
 * tables, made stricter in one way: SVG (XML with an `<svg` root) is recognised, and a UTF-8 BOM
 * does not hide HTML. Used so that a declared type cannot hide scriptable content: see
 * type-policy.ts for how the result and the declared type are combined.
 */

/** How many leading bytes the sniffer looks at (WHATWG reads 1445; SVG roots can sit after a long prolog). */
export const SNIFF_BYTES = 4096;

export type SniffKind =
  /** HTML, XML, SVG, PDF, PostScript: a browser or plugin may run script from it. */
  | 'scriptable'
  /** An image, audio or video format recognised by its signature. */
  | 'media'
  /** Another format recognised by its signature (archives, containers without a decided media type). */
  | 'binary-known'
  /** No signature, and no bytes that never occur in text. */
  | 'text'
  /** No signature, and bytes that never occur in text. */
  | 'binary';

export interface Sniffed {
  readonly kind: SniffKind;
  /** The type the signature names; for 'text' text/plain, for 'binary' application/octet-stream. */
  readonly mime: string;
}

type Pattern = readonly (number | undefined)[]; // undefined = any byte

function bytesOf(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

function startsWith(head: Uint8Array, pattern: Pattern, at = 0): boolean {
  if (head.length < at + pattern.length) return false;
  return pattern.every((b, i) => b === undefined || head[at + i] === b);
}

/** Case-insensitive ASCII prefix match at `at`. */
function startsWithCi(head: Uint8Array, text: string, at: number): boolean {
  if (head.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) {
    let b = head[at + i] ?? 0;
    if (b >= 0x61 && b <= 0x7a) b -= 0x20;
    if (b !== text.toUpperCase().charCodeAt(i)) return false;
  }
  return true;
}

const WHITESPACE = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const TAG_TERMINATING = new Set([0x20, 0x3e]);

/** WHATWG's "HTML" rows: each followed by a tag-terminating byte (space or `>`). */
const HTML_TAGS = ['<!DOCTYPE HTML', '<HTML', '<HEAD', '<SCRIPT', '<IFRAME', '<H1', '<DIV', '<FONT', '<TABLE', '<A', '<STYLE', '<TITLE', '<B', '<BODY', '<BR', '<P', '<!--'];

function skipBomAndWhitespace(head: Uint8Array): number {
  let i = startsWith(head, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  while (i < head.length && WHITESPACE.has(head[i] ?? 0)) i++;
  return i;
}

function containsCi(head: Uint8Array, needle: RegExp): boolean {
  return needle.test(Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1'));
}

function sniffScriptable(head: Uint8Array): Sniffed | undefined {
  const at = skipBomAndWhitespace(head);
  const svgRoot = () => containsCi(head, /<svg[\s>/]/i);
  if (startsWithCi(head, '<svg', at) || startsWithCi(head, '<!DOCTYPE svg', at)) return { kind: 'scriptable', mime: 'image/svg+xml' };
  if (startsWithCi(head, '<?xml', at)) return { kind: 'scriptable', mime: svgRoot() ? 'image/svg+xml' : 'text/xml' };
  for (const tag of HTML_TAGS) {
    if (startsWithCi(head, tag, at) && TAG_TERMINATING.has(head[at + tag.length] ?? -1)) {
      // A comment first: what follows decides between SVG and HTML; both are scriptable.
      return { kind: 'scriptable', mime: tag === '<!--' && svgRoot() ? 'image/svg+xml' : 'text/html' };
    }
  }
  if (startsWith(head, bytesOf('%PDF-'))) return { kind: 'scriptable', mime: 'application/pdf' };
  if (startsWith(head, bytesOf('%!PS-Adobe-'))) return { kind: 'scriptable', mime: 'application/postscript' };
  return undefined;
}

const MEDIA_SIGNATURES: readonly { readonly pattern: Pattern; readonly at?: number; readonly mime: string }[] = [
  { pattern: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], mime: 'image/png' },
  { pattern: [0xff, 0xd8, 0xff], mime: 'image/jpeg' },
  { pattern: bytesOf('GIF87a'), mime: 'image/gif' },
  { pattern: bytesOf('GIF89a'), mime: 'image/gif' },
  { pattern: [...bytesOf('RIFF'), undefined, undefined, undefined, undefined, ...bytesOf('WEBPVP')], mime: 'image/webp' },
  { pattern: [0x00, 0x00, 0x01, 0x00], mime: 'image/x-icon' },
  { pattern: bytesOf('BM'), mime: 'image/bmp' },
  { pattern: [...bytesOf('RIFF'), undefined, undefined, undefined, undefined, ...bytesOf('WAVE')], mime: 'audio/wav' },
  { pattern: bytesOf('ID3'), mime: 'audio/mpeg' },
  { pattern: bytesOf('fLaC'), mime: 'audio/flac' },
];

const OTHER_SIGNATURES: readonly { readonly pattern: Pattern; readonly mime: string }[] = [
  { pattern: [...bytesOf('OggS'), 0x00], mime: 'application/ogg' },
  { pattern: [...bytesOf('RIFF'), undefined, undefined, undefined, undefined, ...bytesOf('AVI ')], mime: 'video/avi' },
  { pattern: [...bytesOf('MThd'), 0x00, 0x00, 0x00, 0x06], mime: 'audio/midi' },
  { pattern: [...bytesOf('FORM'), undefined, undefined, undefined, undefined, ...bytesOf('AIFF')], mime: 'audio/aiff' },
  { pattern: [0x1f, 0x8b, 0x08], mime: 'application/x-gzip' },
  { pattern: [...bytesOf('PK'), 0x03, 0x04], mime: 'application/zip' },
  { pattern: [...bytesOf('Rar '), 0x1a, 0x07, 0x00], mime: 'application/x-rar-compressed' },
  { pattern: [...bytesOf('Rar!'), 0x1a, 0x07], mime: 'application/x-rar-compressed' },
  { pattern: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], mime: 'application/x-7z-compressed' },
];

/** ISO BMFF (MP4, M4A, AVIF): a `ftyp` box first; the major brand names the type. */
function sniffIsoBmff(head: Uint8Array): Sniffed | undefined {
  if (!startsWith(head, bytesOf('ftyp'), 4)) return undefined;
  const brand = Buffer.from(head.subarray(8, 12)).toString('latin1');
  if (brand === 'avif' || brand === 'avis') return { kind: 'media', mime: 'image/avif' };
  if (brand === 'M4A ' || brand === 'M4B ') return { kind: 'media', mime: 'audio/mp4' };
  if (brand === 'heic' || brand === 'heix' || brand === 'mif1') return { kind: 'binary-known', mime: 'image/heic' };
  if (/^(isom|iso[2-9]|mp4[12]|avc1|dash|M4V |M4VP|f4v |mmp4|MSNV)$/.test(brand)) return { kind: 'media', mime: 'video/mp4' };
  if (brand.startsWith('3g')) return { kind: 'binary-known', mime: 'video/3gpp' };
  if (brand === 'qt  ') return { kind: 'binary-known', mime: 'video/quicktime' };
  return { kind: 'binary-known', mime: 'video/mp4' };
}

/** Matroska (EBML): WebM when the DocType says so (WHATWG "matches the signature for WebM"). */
function sniffMatroska(head: Uint8Array): Sniffed | undefined {
  if (!startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return undefined;
  const prolog = Buffer.from(head.subarray(0, 64)).toString('latin1');
  return prolog.includes('webm') ? { kind: 'media', mime: 'video/webm' } : { kind: 'binary-known', mime: 'video/x-matroska' };
}

/** WHATWG "binary data byte": never in text. */
function isBinaryByte(b: number): boolean {
  return b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f);
}

function hasUtf16Bom(head: Uint8Array): boolean {
  return startsWith(head, [0xfe, 0xff]) || startsWith(head, [0xff, 0xfe]);
}

/** Sniffs the leading bytes of a file (give it up to SNIFF_BYTES of them, fewer if the file is shorter). */
export function sniff(head: Uint8Array): Sniffed {
  const scriptable = sniffScriptable(head);
  if (scriptable) return scriptable;
  for (const s of MEDIA_SIGNATURES) if (startsWith(head, s.pattern, s.at ?? 0)) return { kind: 'media', mime: s.mime };
  const iso = sniffIsoBmff(head) ?? sniffMatroska(head);
  if (iso) return iso;
  for (const s of OTHER_SIGNATURES) if (startsWith(head, s.pattern)) return { kind: 'binary-known', mime: s.mime };
  if (hasUtf16Bom(head)) return { kind: 'text', mime: 'text/plain' };
  return head.some(isBinaryByte) ? { kind: 'binary', mime: 'application/octet-stream' } : { kind: 'text', mime: 'text/plain' };
}
