import { isMediaId, type MediaId } from './media-id.ts';
import type { UrlSigner } from './url-signer.ts';

export interface SignedLinksOptions {
  readonly signer: UrlSigner;
  readonly basePath: string;
  readonly publicBaseUrl: () => string;
  readonly ttlSeconds: number;
}

/** The parts of a canonical Attachment a link is made from. */
export interface LinkableAttachment {
  readonly id: string;
  readonly name: string;
  readonly url: string;
}

/**
 * Fresh signed URLs for attachments on their way to a target: the mapper's `MediaLinks` seam
 * (`urlFor(attachment, target)`; synchronous, one HMAC). Only an attachment whose URL is one we
 * signed ourselves (expired or not: the reference may be old) gets a new link; a foreign URL, or
 * a reference that merely names the hash of a stored file, is passed on unchanged, so knowing a
 * file's hash never yields a link to it.
 */
export function createSignedLinks(options: SignedLinksOptions): { urlFor(attachment: LinkableAttachment): string } {
  const { signer, basePath, ttlSeconds } = options;
  return {
    urlFor: (attachment) => {
      const ours = parseOurUrl(attachment.url, options.publicBaseUrl(), basePath);
      if (!ours || ours.id !== attachment.id || !signer.signatureMatches(ours.id, ours.name, ours.exp, ours.sig)) return attachment.url;
      return `${options.publicBaseUrl()}${signer.signedPath(basePath, ours.id, ours.name, ttlSeconds).path}`;
    },
  };
}

function parseOurUrl(url: string, publicBaseUrl: string, basePath: string): { id: MediaId; name: string; exp: string | null; sig: string | null } | undefined {
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
