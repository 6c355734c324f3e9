import type { Actor, CanonicalEvent, EventOfKind, Origin } from '../core/event.ts';
import { safeIndex } from './text.ts';

/** How much of a message is kept: quotes show its start only. */
const KEPT_CHARS = 512;

export interface RecentMessage {
  readonly sender: Actor;
  /** The start of its current text (an edit replaces it). */
  readonly text: string;
  readonly origin: Origin;
}

/**
 * The messages this process's mapper delivered lately, by canonical id, for the quotes of the
 * fallbacks ("> Bob: did you…", `reacted 👍 to "…"`) and for the native id of a message that came
 * from the target itself. A bounded cache, not a read of the room's canonical stream: the stream
 * cannot be read by event id (only forward from a cursor), so every fallback would cost a scan and
 * a round trip to Redis in the delivery path. The original of a reply, an edit or a reaction was
 * almost always routed through this same mapper a little earlier (same room, same targets), so
 * the cache knows it; when it does not (after a restart, a takeover, or older than `limit`
 * messages) the fallback says "an earlier message" instead of quoting.
 */
export class RecentMessages {
  private readonly entries = new Map<string, RecentMessage>();
  /** Per edit, the text it replaced: every target quotes the same "before", whichever target saw the edit first. */
  private readonly replaced = new Map<string, string>();
  /**
   * Insertion order of both maps, as a ring: the oldest goes when the ring is full. (Asking a Map
   * for its first key after many deletions at its head scans over their tombstones: it showed as a
   * fifth of the mapper's time in a profile.)
   */
  private readonly ring: (string | undefined)[];
  private next = 0;

  /** `limit` counts messages and edits together. */
  constructor(private readonly limit: number) {
    this.ring = new Array<string | undefined>(Math.max(0, limit));
  }

  get(id: string): RecentMessage | undefined {
    return this.entries.get(id);
  }

  /** The text an edit replaced, when this cache saw the edit. */
  replacedBy(editId: string): string | undefined {
    return this.replaced.get(editId);
  }

  /**
   * A view for one batch: it learns from the batch's events at once (a reply quotes a message of
   * the same batch), but edits and retractions change the cache only on commit, so a batch the
   * connector refused and the bus retries quotes exactly what it quoted the first time (an edit
   * must not quote itself). New messages go in at once: their entry is the same either way.
   */
  batch(): RecentBatch {
    return new RecentBatch(this);
  }

  /** @internal */
  apply(changes: ReadonlyMap<string, RecentMessage | null>, replaced: ReadonlyMap<string, string>): void {
    if (this.limit <= 0) return;
    for (const [editId, text] of replaced) {
      if (this.replaced.has(editId)) continue;
      this.admit(`e${editId}`);
      this.replaced.set(editId, text);
    }
    for (const [id, entry] of changes) {
      if (entry === null) this.entries.delete(id);
      else if (this.entries.has(id)) this.entries.set(id, entry); // an edit of a message forgotten meanwhile does not bring it back
    }
  }

  /** Remembers a message once (a short one as the event itself: nothing is copied). */
  remember(event: EventOfKind<'message'>): void {
    if (this.limit <= 0 || this.entries.has(event.id)) return;
    this.admit(`m${event.id}`);
    this.entries.set(event.id, event.text.length <= KEPT_CHARS ? event : { sender: event.sender, text: head(event.text), origin: event.origin });
  }

  /** Makes room for one more entry (`m<id>` a message, `e<id>` an edit), forgetting the oldest when full. */
  private admit(slotKey: string): void {
    const old = this.ring[this.next];
    if (old !== undefined) {
      if (old.startsWith('m')) this.entries.delete(old.slice(1));
      else this.replaced.delete(old.slice(1));
    }
    this.ring[this.next] = slotKey;
    this.next = (this.next + 1) % this.ring.length;
  }
}

/** What one batch learnt, on top of the cache. */
export class RecentBatch {
  private readonly changes = new Map<string, RecentMessage | null>();
  private readonly replaced = new Map<string, string>();

  constructor(private readonly cache: RecentMessages) {}

  get(id: string): RecentMessage | undefined {
    const changed = this.changes.get(id);
    return changed === null ? undefined : changed ?? this.cache.get(id);
  }

  /**
   * What an edit corrects: the text it replaced when the edit was seen before (by this or
   * another target's batch), else the message's current text.
   */
  correctedBy(editId: string, target: string): string | undefined {
    return this.replaced.get(editId) ?? this.cache.replacedBy(editId) ?? this.get(target)?.text;
  }

  /** Learns from an event on its way out: messages are remembered, edits update them, retractions forget them. */
  observe(event: CanonicalEvent): void {
    switch (event.kind) {
      case 'message':
        // Straight into the cache: a message's entry never differs between a batch and its retry.
        if (!this.changes.has(event.id)) this.cache.remember(event);
        return;
      case 'edit': {
        if (this.replaced.has(event.id) || this.cache.replacedBy(event.id) !== undefined) return; // already applied
        const known = this.get(event.target);
        if (known) {
          this.replaced.set(event.id, known.text);
          this.changes.set(event.target, { ...known, text: head(event.text) });
        }
        return;
      }
      case 'retract':
        this.changes.set(event.target, null);
        return;
      default:
    }
  }

  commit(): void {
    if (this.changes.size > 0 || this.replaced.size > 0) this.cache.apply(this.changes, this.replaced);
  }
}

function head(text: string): string {
  return text.length <= KEPT_CHARS ? text : text.slice(0, safeIndex(text, KEPT_CHARS));
}
