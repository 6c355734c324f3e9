/**
 * MIME type essence handling (RFC 9110 §8.3.1; WHATWG mimesniff "essence"): lowercase
 * `type/subtype` without parameters, allow/deny patterns, and the two lists that decide how a
 * type may be served.
 */

const ESSENCE = /^([a-z0-9][a-z0-9!#$&^_.+-]{0,126})\/([a-z0-9][a-z0-9!#$&^_.+-]{0,126})$/;

export const OCTET_STREAM = 'application/octet-stream';

/** The essence of a Content-Type value, or undefined when it is not a well-formed MIME type. */
export function mimeEssence(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const essence = (value.split(';', 1)[0] ?? '').trim().toLowerCase();
  return ESSENCE.test(essence) ? essence : undefined;
}

/**
 * `type/subtype`, `type/*` or `*\/*`. Throws on anything else, so a typo in a config list is an
 * error at start instead of a pattern that silently never matches.
 */
export function parseMimePattern(pattern: string): string {
  const p = pattern.trim().toLowerCase();
  if (p === '*/*' || /^[a-z0-9][a-z0-9!#$&^_.+-]*\/\*$/.test(p) || mimeEssence(p) === p) return p;
  throw new Error(`not a MIME type pattern (type/subtype, type/* or */*): ${JSON.stringify(pattern)}`);
}

export function mimeMatches(essence: string, pattern: string): boolean {
  if (pattern === '*/*') return true;
  if (pattern.endsWith('/*')) return essence.startsWith(pattern.slice(0, -1));
  return essence === pattern;
}

/**
 * Types a browser renders without running anything of the file's: the only ones served with
 * `Content-Disposition: inline`. Everything else (HTML, SVG, XML, JS, PDF, unknown) is served as
 * an attachment, whatever the uploader said.
 */
const INLINE_SAFE = new Set([
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'image/x-icon', 'image/vnd.microsoft.icon',
  'audio/mpeg', 'audio/ogg', 'audio/wav', 'audio/x-wav', 'audio/webm', 'audio/flac', 'audio/aac', 'audio/mp4', 'audio/opus',
  'video/mp4', 'video/webm', 'video/ogg',
  'text/plain',
]);

export function isInlineSafe(essence: string): boolean {
  return INLINE_SAFE.has(essence);
}

/**
 * Types that a browser (or a plugin it hands off to) may execute script from when they are
 * opened from our origin. A sniffed type in this list always beats the declared one.
 */
const SCRIPTABLE = new Set([
  'text/html', 'application/xhtml+xml', 'image/svg+xml', 'text/xml', 'application/xml', 'text/xsl', 'application/xslt+xml',
  'application/javascript', 'text/javascript', 'application/ecmascript', 'text/ecmascript', 'application/x-javascript',
  'application/pdf', 'application/x-shockwave-flash', 'text/vtt', 'application/mathml+xml', 'application/rdf+xml',
]);

export function isScriptable(essence: string): boolean {
  return SCRIPTABLE.has(essence) || essence.endsWith('+xml');
}
