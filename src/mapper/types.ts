import type { Attachment } from '../core/event.ts';
import type { Delivery } from '../bus/types.ts';

/**
 * What a connector sees of the mapper: the deliveries its egress handler gets are `MappedDelivery`
 * objects (a Delivery plus `mapped`) whenever the mapper is on. The event in them is already
 * rewritten for the connector's capabilities (a fallback text instead of an edit it cannot show,
 * spans it cannot render removed, a long text split...), and `mapped` carries what the connector
 * needs to render it natively. With the mapper off (`mapper.enabled: false`) deliveries arrive
 * as the bus made them and `hintsOf` answers undefined: a connector must work either way.
 */
export interface MappedDelivery extends Delivery {
  readonly mapped: DeliveryHints;
}

export interface DeliveryHints {
  /** Who the sender is on this target. */
  readonly identity: TargetIdentity;
  /**
   * Native ids of what the event points at on this target, for connectors that declare
   * `capabilities.nativeIds` (looked up in the bus's id map). A reference the mapper could not
   * resolve there was already degraded (a quoted reply, a "corrected:" message). A reference to a
   * message earlier in the same batch is absent here: that message is not sent yet, so the
   * connector resolves it once it is.
   */
  readonly refs?: NativeRefs;
  /** Set when a text longer than `capabilities.maxTextLength` was split: this is part `index` (0-based) of `count`, same event id and cursor. */
  readonly part?: { readonly index: number; readonly count: number };
  /** Presence: the target network's own name for the state (from mappings/presence.yaml), already clamped to what it can show. */
  readonly presence?: { readonly native: string };
  /** The attachments left in a message event, each with how to deliver it here (see attachments.ts). */
  readonly attachments?: readonly AttachmentPlan[];
  /** What the mapper changed to make the event expressible here (`kind:how`, as counted in the metric); absent when nothing. */
  readonly degraded?: readonly string[];
}

/**
 * The sender as the target should show them. A connector renders a puppet from it, or, when
 * `account` is set, knows that this person has an account of their own on this network.
 */
export interface TargetIdentity {
  /**
   * Stable key of the person: `canonical` for a person linked in mappings/identities.yaml (the same
   * whichever network they wrote from, so they get ONE puppet on a target, not one per network),
   * else `<network>:<id>` of the sending account. Use it to name the puppet (escaped as the
   * network needs: XEP-0106 for a JID local part).
   */
  readonly key: string;
  /** The canonical id, for a linked person. */
  readonly canonical?: string;
  /** The display name rendered from the target's template (`{name} ({network})`...), at most 256 UTF-16 units. */
  readonly displayName: string;
  /** The avatar URL, only when the target declares `capabilities.avatars`. */
  readonly avatar?: string;
  /**
   * The person's own account on this network (a bare JID, an MTProto user id, a WS token name),
   * when they are linked and have one. The connector must never present this event to that
   * account as a new message from someone else: it shows it as the account's own (a carbon, an
   * outgoing message, a `self` mark) or skips that account. The mapper already drops the
   * person-level kinds (presence, typing, membership) from other networks for such a target.
   */
  readonly account?: string;
}

export interface NativeRefs {
  /** message: the native id of the message it replies to. */
  readonly replyTo?: string;
  /** message: the native id of the thread root. */
  readonly thread?: string;
  /** edit, retract, reaction, receipt: the native id of the message it acts on. */
  readonly target?: string;
}

/**
 * How one attachment reaches the target: `reference` passes the canonical reference as it is,
 * `link` means the connector shows `url` (XMPP OOB), `upload` means the connector fetches the
 * bytes from `url` and stores them on its network. Attachments too large or unsupported here are
 * not in the list: they became a text line with their name, size and URL.
 */
export interface AttachmentPlan {
  readonly attachment: Attachment;
  readonly delivery: 'upload' | 'link' | 'reference';
  /** Where the bytes are (a signed media-store URL once the media store provides one). */
  readonly url: string;
}

/** The mapper's hints of a delivery, when the mapper rewrote it (undefined with the mapper off). */
export function hintsOf(delivery: Delivery): DeliveryHints | undefined {
  const mapped = (delivery as Partial<MappedDelivery>).mapped;
  return typeof mapped === 'object' && mapped !== null ? mapped : undefined;
}
