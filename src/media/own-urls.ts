import { isMediaId, type MediaId } from './media-id.ts';
import type { UrlSigner } from './url-signer.ts';

/**
 * Recognising the media URLs this bridge signed itself (`<publicBaseUrl><basePath>/<id>/<name>
 * ?exp=…&sig=…`). Links are re-signed on delivery (signed-links.ts) and resolved from the store
 * by the fetcher (own-url-fetcher.ts) by the same rule, kept here so the two cannot drift: the
 * signature must be one we made for exactly that id and name. Expired or not: the expiry limits
 * how long a client may download with a link, not whether we handed it out; an event in the
 * stream keeps the link it was given, and that link still proves what it names. A URL that merely
 * names a stored file's hash (a made-up or missing signature) is not ours, so knowing a file's hash
 * never yields it.
 */

export interface OwnUrlOptions {
  readonly signer: UrlSigner;
  readonly basePath: string;
  /** scheme://host[:port] clients reach the media routes at (a function: known once the server listens). */
  readonly publicBaseUrl: () => string;
}

/** The parts of a URL shaped like ours; the signature is not checked yet. */
export interface ParsedOwnUrl {
  readonly id: MediaId;
  /** Decoded from the path: what was signed. */
  readonly name: string;
  readonly exp: string | null;
  readonly sig: string | null;
}

/** The media a URL we signed names (signature checked, expired or not). */
export interface OwnMediaUrl {
  readonly id: MediaId;
  readonly name: string;
}

/** `url` split into id, name, exp and sig when it has our origin and lies under basePath; no signature check. */
export function parseOurUrl(url: string, publicBaseUrl: string, basePath: string): ParsedOwnUrl | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.origin !== new URL(publicBaseUrl).origin || !parsed.pathname.startsWith(`${basePath}/`)) return undefined;
  const [id, encodedName, ...rest] = parsed.pathname.slice(basePath.length + 1).split('/');
  if (rest.length > 0 || !isMediaId(id) || encodedName === undefined) return undefined;
  try {
    return { id, name: decodeURIComponent(encodedName), exp: parsed.searchParams.get('exp'), sig: parsed.searchParams.get('sig') };
  } catch {
    return undefined;
  }
}

/** The id and name of `url` when we signed it (one HMAC, constant-time compare); undefined for anything else. */
export function recognizeOwnUrl(url: string, options: OwnUrlOptions): OwnMediaUrl | undefined {
  const parsed = parseOurUrl(url, options.publicBaseUrl(), options.basePath);
  if (!parsed || !options.signer.signatureMatches(parsed.id, parsed.name, parsed.exp, parsed.sig)) return undefined;
  return { id: parsed.id, name: parsed.name };
}
