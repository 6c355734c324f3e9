/**
 * A media id is the lowercase hex SHA-256 of the content: the same bytes always get the same id
 * (so a file forwarded to three networks is stored once), and an id cannot be chosen by a client
 * to point at someone else's file. Ids are not secret: access is granted by the URL signature.
 */
export type MediaId = string & { readonly __brand: 'MediaId' };

const MEDIA_ID_PATTERN = /^[0-9a-f]{64}$/;

export function isMediaId(value: unknown): value is MediaId {
  return typeof value === 'string' && MEDIA_ID_PATTERN.test(value);
}

export function mediaIdOf(sha256Hex: string): MediaId {
  if (!isMediaId(sha256Hex)) throw new Error(`not a lowercase hex SHA-256: ${sha256Hex.slice(0, 80)}`);
  return sha256Hex;
}
