import type { MediaId } from './media-id.ts';
import { recognizeOwnUrl } from './own-urls.ts';
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

/** Fresh links for what goes out (MediaService.links). */
export interface SignedLinks {
  /** The mapper's `MediaLinks` seam: a fresh URL for an attachment whose URL we signed for its own id; else its URL. */
  urlFor(attachment: LinkableAttachment): string;
  /** A fresh URL for any URL we signed (a stored avatar, say: no attachment around it); any other URL unchanged. */
  freshUrl(url: string): string;
}

/**
 * Fresh signed URLs for links on their way to a target (synchronous, one HMAC each). Only a URL
 * we signed ourselves (expired or not: the reference may be old; own-urls.ts) gets a new link; a
 * foreign URL, or one that merely names the hash of a stored file, is passed on unchanged, so
 * knowing a file's hash never yields a link to it. The new link names the same id and name, so it
 * grants nothing the old one did not.
 */
export function createSignedLinks(options: SignedLinksOptions): SignedLinks {
  const { signer, basePath, ttlSeconds } = options;
  const resign = (id: MediaId, name: string): string => `${options.publicBaseUrl()}${signer.signedPath(basePath, id, name, ttlSeconds).path}`;
  return {
    urlFor: (attachment) => {
      const ours = recognizeOwnUrl(attachment.url, options);
      // The reference's id must be the one signed: a URL of ours pasted into another reference
      // must not be renewed under that reference's (other) id.
      return ours && ours.id === attachment.id ? resign(ours.id, ours.name) : attachment.url;
    },
    freshUrl: (url) => {
      const ours = recognizeOwnUrl(url, options);
      return ours ? resign(ours.id, ours.name) : url;
    },
  };
}
