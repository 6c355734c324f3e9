/**
 * File names as they appear in media URLs and Content-Disposition. A name is a label chosen by a
 * sender: it never touches the file system (content lives under its hash), but it is echoed in
 * headers and download dialogs, so it is cleaned of what could confuse either.
 */

const MAX_NAME_CHARS = 200;
const FALLBACK = 'file';

/**
 * Removes control and bidi-override characters and path separators, trims dots and spaces at the
 * ends (Windows drops them; "..." is no name), and caps the length (keeping the extension).
 */
export function sanitizeFileName(raw: string | undefined): string {
  if (raw === undefined) return FALLBACK;
  let name = raw.normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/[/\\]/g, '_')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  if ([...name].length > MAX_NAME_CHARS) {
    const chars = [...name];
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? [...name.slice(dot)] : [];
    name = chars.slice(0, MAX_NAME_CHARS - ext.length).join('') + ext.join('');
  }
  return name.length > 0 ? name : FALLBACK;
}

/** RFC 5987/8187 ext-value: UTF-8, percent-encoding everything but attr-char. */
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `Content-Disposition` (RFC 6266): an ASCII fallback `filename` (non-ASCII and quote-breaking
 * characters replaced) for old agents, and `filename*` with the exact UTF-8 name.
 */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const clean = sanitizeFileName(name);
  const ascii = clean.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeExtValue(clean)}`;
}
