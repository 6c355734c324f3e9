import type { PRESENCE_STATES, SPAN_TYPES } from './event.ts';

export type SpanType = (typeof SPAN_TYPES)[number];
export type PresenceState = (typeof PRESENCE_STATES)[number];

/**
 * What a network can express, declared by its connector. The mapper reads it to choose, per
 * target, between sending a thing natively and a readable fallback (a "corrected:" message for a
 * network without edits, a quoted reply, a link instead of a file that is too large): the core
 * checks a capability, it never switches on the network's name.
 */
export interface Capabilities {
  /** Corrections of an earlier message. */
  readonly edits: boolean;
  /** Retracting (deleting for everyone) an earlier message. */
  readonly retractions: boolean;
  /**
   * Reactions on a message: `any` takes any short string (usually one emoji), `emoji` a single
   * emoji only, `false` none (the mapper then sends a short text or drops it with a reason).
   */
  readonly reactions: 'any' | 'emoji' | false;
  /** Replies that point at an earlier message. */
  readonly replies: boolean;
  /** Threads (a message in the thread of another). */
  readonly threads: boolean;
  /** The presence states it can show (an empty list: no presence at all). */
  readonly presence: readonly PresenceState[];
  /** Typing notifications. */
  readonly typing: boolean;
  /** The receipts it can show. */
  readonly receipts: readonly ('delivered' | 'displayed')[];
  /**
   * Files: `upload` stores the bytes on the network (the connector fetches them from the media
   * store), `link` shows a URL, `reference` passes the canonical attachment reference as it is.
   * Files over `maxBytes` degrade to a link with name and size.
   */
  readonly attachments: { readonly delivery: 'upload' | 'link' | 'reference'; readonly maxBytes: number } | false;
  /** The span types it can render; others degrade to plain text. */
  readonly formatting: readonly SpanType[];
  /** Longest text of one message, in UTF-16 code units; longer texts are split or cut by the mapper. */
  readonly maxTextLength: number;
  /**
   * Whether it shows a sender's avatar (a URL the connector fetches or links). Absent: false, and
   * the mapper leaves the avatar out of the delivery's target identity.
   */
  readonly avatars?: boolean;
  /**
   * Whether its messages have native ids of their own that the connector records in the bus's id
   * map (an XMPP stanza id, an MTProto message id). Then the mapper resolves every reference (a
   * reply, an edit, a reaction...) to the target's native id, and a reference it cannot resolve
   * there degrades like an unsupported one. Absent: false (the network addresses messages by
   * their canonical ids, as the WebSocket protocol does).
   */
  readonly nativeIds?: boolean;
  /**
   * Whether it takes part in direct chats (rooms `dm:`, src/core/direct.ts): it addresses a
   * person on its network by their id and delivers to them. Absent: false, and the router sends
   * no direct chat to it (a sender learns that the person cannot be reached).
   */
  readonly directChats?: boolean;
  /**
   * Whether it shows a room's topic (an XMPP room's subject, a group's description) and takes a
   * `topic` event as a change of it. Absent: false, and the mapper sends a short notice message
   * instead (`✎ set the topic: …`).
   */
  readonly topics?: boolean;
}
