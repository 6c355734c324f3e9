import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Origin-ids (XEP-0359) of the messages puppets send: `sb-<canonical event id>-<tag>`, where the
 * tag is an HMAC of the event id under a key derived from the component secret. Deterministic
 * (a retry of a delivery sends the same origin-id, so the room's archive can tell whether the
 * first attempt landed) and unforgeable (an XMPP user cannot make the bridge take their message
 * for one of its own reflections and drop it, or fail another delivery with a fake error).
 */
export class OriginIds {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('switchboard xmpp origin-id v1').digest();
  }

  private tag(eventId: string): string {
    return createHmac('sha256', this.key).update(eventId).digest('base64url').slice(0, 16);
  }

  /**
   * The origin-id of an event's message, or of one of its further messages (`piece`: a caption
   * or a file sent as a message of its own, message-pieces.ts): `sb-<id>~<piece>-<tag>`.
   */
  of(eventId: string, piece?: string): string {
    const named = piece === undefined ? eventId : `${eventId}~${piece}`;
    return `sb-${named}-${this.tag(named)}`;
  }

  /** The canonical event id behind one of our origin-ids (a piece's too), or undefined if it is not ours. */
  eventOf(originId: string | undefined): string | undefined {
    const m = originId === undefined ? null : /^sb-([0-9A-HJKMNP-TV-Z]{26})(~[a-z0-9]{1,12})?-([\w-]{16})$/.exec(originId);
    if (!m) return undefined;
    const eventId = m[1] as string;
    const given = Buffer.from(m[3] as string);
    const wanted = Buffer.from(this.tag(`${eventId}${m[2] ?? ''}`));
    return given.length === wanted.length && timingSafeEqual(given, wanted) ? eventId : undefined;
  }

  isOurs(originId: string | undefined): boolean {
    return this.eventOf(originId) !== undefined;
  }
}
