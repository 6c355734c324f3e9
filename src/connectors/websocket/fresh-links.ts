import type { Attachment, CanonicalEvent } from '../../core/event.ts';

/** What the media store offers for this (MediaService.links): a fresh signed URL for an attachment it signed, else its URL unchanged. */
export interface AttachmentLinks {
  urlFor(attachment: Attachment): string;
}

/**
 * Attachment links as fresh as the moment an event is sent to a client. A reference carries the
 * signed URL it got at upload, which expires (`media.urls.ttlSeconds`); a client reading the
 * stream later (join with `since`, a bot's subscription, a reconnect) would otherwise get links
 * that answer 410. Only the URL changes, and only for links the media store signed itself
 * (docs/media.md, "Links on delivery"). One signing per event object, whatever the number of
 * sessions it goes to.
 */
export class FreshLinks {
  readonly #done = new WeakMap<CanonicalEvent, CanonicalEvent>();

  constructor(private readonly links: AttachmentLinks | undefined) {}

  of(event: CanonicalEvent): CanonicalEvent {
    const links = this.links;
    if (links === undefined || event.kind !== 'message' || event.attachments === undefined || event.attachments.length === 0) return event;
    let fresh = this.#done.get(event);
    if (fresh === undefined) {
      fresh = { ...event, attachments: event.attachments.map((a) => { const url = links.urlFor(a); return url === a.url ? a : { ...a, url }; }) };
      this.#done.set(event, fresh);
    }
    return fresh;
  }
}
