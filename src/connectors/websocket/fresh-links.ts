import type { Actor, Attachment, CanonicalEvent } from '../../core/event.ts';

/**
 * What the media store offers for this (MediaService.links): a fresh signed URL for a link it
 * signed, else the URL unchanged. `freshUrl` is optional: links that only know attachments still
 * plug in, and avatars then go out as they are.
 */
export interface AttachmentLinks {
  urlFor(attachment: Attachment): string;
  /** Any URL (a sender's stored avatar): fresh when the store signed it, else unchanged. */
  freshUrl?(url: string): string;
}

/**
 * Media links as fresh as the moment an event is sent to a client. A reference carries the
 * signed URL it got at upload, and a sender's avatar stored by the bridge (an XMPP user's vCard
 * photo) the one it got when stored; both expire (`media.urls.ttlSeconds`). A client reading the
 * stream later (join with `since`, a bot's subscription, a reconnect) would otherwise get links
 * that answer 410. Only the URLs change, and only links the media store signed itself
 * (docs/media.md, "Links on delivery"). One signing per event object and burst, whatever the
 * number of sessions it goes to; an event with nothing to renew is sent as it is.
 */
export class FreshLinks {
  readonly #done = new WeakMap<CanonicalEvent, { readonly event: CanonicalEvent; readonly at: number }>();

  /** `now`: the clock of REUSE_MS (tests). */
  constructor(private readonly links: AttachmentLinks | undefined, private readonly now: () => number = Date.now) {}

  of(event: CanonicalEvent): CanonicalEvent {
    const links = this.links;
    if (links === undefined || !hasLinks(event)) return event;
    const now = this.now();
    const done = this.#done.get(event);
    if (done !== undefined && now - done.at < REUSE_MS) return done.event;
    const fresh = renew(event, links);
    this.#done.set(event, { event: fresh, at: now });
    return fresh;
  }
}

/**
 * How long one re-signed copy of an event is handed out again: long enough for its fan-out (one
 * delivery to every session, a burst of replays after a restart), far below the shortest link
 * lifetime (`media.urls.ttlSeconds` >= 60). Not for ever: on the memory bus a replay reads the
 * very event object that was delivered live, maybe days ago, and its links from then have expired.
 */
const REUSE_MS = 5_000;

/** Whether the event carries a link that could be ours: a sender's avatar, or attachments. */
function hasLinks(event: CanonicalEvent): boolean {
  return event.sender.avatar !== undefined || (event.kind === 'message' && (event.attachments?.length ?? 0) > 0);
}

/** The event with its links re-signed; the same object when none changed (events are frozen, so copies, never edits). */
function renew(event: CanonicalEvent, links: AttachmentLinks): CanonicalEvent {
  const sender = freshSender(event.sender, links);
  const attachments = event.kind === 'message' ? freshAttachments(event.attachments, links) : undefined;
  if (sender === event.sender && (event.kind !== 'message' || attachments === event.attachments)) return event;
  return event.kind === 'message' ? { ...event, sender, ...(attachments !== undefined ? { attachments } : {}) } : { ...event, sender };
}

function freshSender(sender: Actor, links: AttachmentLinks): Actor {
  if (sender.avatar === undefined || links.freshUrl === undefined) return sender;
  const avatar = links.freshUrl(sender.avatar);
  return avatar === sender.avatar ? sender : { ...sender, avatar };
}

function freshAttachments(attachments: Attachment[] | undefined, links: AttachmentLinks): Attachment[] | undefined {
  if (attachments === undefined || attachments.length === 0) return attachments;
  let changed = false;
  const fresh = attachments.map((a) => {
    const url = links.urlFor(a);
    if (url === a.url) return a;
    changed = true;
    return { ...a, url };
  });
  return changed ? fresh : attachments;
}
