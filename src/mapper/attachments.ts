import type { Attachment } from '../core/event.ts';
import type { Capabilities } from '../core/capabilities.ts';
import type { Endpoint } from '../core/endpoint.ts';
import type { AttachmentPlan } from './types.ts';
import { formatBytes } from './text.ts';

/**
 * The seam for the media store (src/media/): where a target fetches or links an attachment. The
 * default gives the attachment's own URL; the media store plugs in a signer that hands out
 * expiring, signed URLs of the bridge's HTTP server. Must be quick and synchronous: it runs in
 * the delivery path.
 */
export interface MediaLinks {
  urlFor(attachment: Attachment, target: Endpoint): string;
}

export const DIRECT_LINKS: MediaLinks = { urlFor: (attachment) => attachment.url };

export interface AttachmentOutcome {
  /** The attachments the connector delivers itself, with how. */
  readonly plans: readonly AttachmentPlan[];
  /** Text lines for those it cannot take (none supported, or too large): name, size and link. */
  readonly lines: readonly string[];
  /** `how` of each degraded attachment, for the metric. */
  readonly degraded: readonly ('no_attachments' | 'too_large')[];
}

/**
 * The attachment policy of one target, from `capabilities.attachments`: within `maxBytes` an
 * attachment goes as the target delivers files (`reference` passes the canonical reference,
 * `link` shows the URL, `upload` lets the connector re-upload the bytes); a larger one, or any
 * file where the target takes none, becomes a line of text with its name, size and URL. Nothing
 * is dropped.
 */
export function planAttachments(attachments: readonly Attachment[], capabilities: Capabilities, target: Endpoint, links: MediaLinks): AttachmentOutcome {
  const policy = capabilities.attachments;
  const plans: AttachmentPlan[] = [];
  const lines: string[] = [];
  const degraded: ('no_attachments' | 'too_large')[] = [];
  for (const attachment of attachments) {
    const url = links.urlFor(attachment, target);
    if (policy === false || attachment.size > policy.maxBytes) {
      lines.push(attachmentLine(attachment, url));
      degraded.push(policy === false ? 'no_attachments' : 'too_large');
    } else {
      plans.push({ attachment, delivery: policy.delivery, url });
    }
  }
  return { plans, lines, degraded };
}

/** `📎 report.pdf (2.4 MB): https://…`: what a file becomes where it cannot go as a file. */
export function attachmentLine(attachment: Attachment, url: string): string {
  const name = attachment.name.trim() === '' ? 'file' : attachment.name;
  return `📎 ${name} (${formatBytes(attachment.size)}): ${url}`;
}
