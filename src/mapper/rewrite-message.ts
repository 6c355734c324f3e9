import { LIMITS, type Attachment, type CanonicalEvent, type EventOfKind } from '../core/event.ts';
import type { EventId } from '../core/ids.ts';
import type { Endpoint } from '../core/endpoint.ts';
import { planAttachments } from './attachments.ts';
import { quoteLine, UNKNOWN_ORIGINAL_LINE, plain, withPrefix } from './fallbacks.ts';
import { degradeSpans, type FormattedText } from './formatting.ts';
import { splitText } from './split.ts';
import { preview } from './text.ts';
import type { AttachmentPlan, NativeRefs, TargetIdentity } from './types.ts';
import type { BaseHints, Degrade, Rewrite, RewriteContext } from './rewrite.ts';

type MessageEvent = EventOfKind<'message'>;

/**
 * A message for a target: a thread it cannot show becomes a reply to the thread's root, a reply it
 * cannot show (or whose original it cannot point at) gets the original's start quoted above it,
 * attachments follow the target's policy (attachments.ts), spans it cannot render degrade to
 * readable text (formatting.ts), and a text over its maxTextLength is split (split.ts).
 */
export function rewriteMessage(event: MessageEvent, target: Endpoint, identity: TargetIdentity, ctx: RewriteContext): Rewrite {
  // The common case, kept cheap (it runs for every message): nothing to point at, no files, fits as it is.
  if (event.replyTo === undefined && event.thread === undefined && event.attachments === undefined && fitsAsIs(event, ctx)) {
    return { type: 'deliver', parts: [event], hints: plainHints(identity), degraded: NOTHING };
  }
  const degraded: Degrade[] = [];
  const refs: { replyTo?: string; thread?: string } = {};
  let thread = event.thread;
  let replyTo = event.replyTo;
  if (thread !== undefined) {
    const ref = ctx.caps.threads ? ctx.reference(thread, target) : undefined;
    if (ref?.resolvable) {
      if (ref.native !== undefined) refs.thread = ref.native;
    } else {
      degraded.push({ kind: 'message', how: ctx.caps.threads ? 'thread_unknown_original' : 'thread_as_reply' });
      replyTo ??= thread;
      thread = undefined;
    }
  }
  let prefix: FormattedText | undefined;
  if (replyTo !== undefined) {
    const ref = ctx.caps.replies ? ctx.reference(replyTo, target) : undefined;
    if (ref?.resolvable) {
      if (ref.native !== undefined) refs.replyTo = ref.native;
    } else {
      prefix = quoteOf(replyTo, ctx);
      degraded.push({ kind: 'message', how: ctx.recent.get(replyTo) ? 'reply_quoted' : 'reply_quoted_unknown_original' });
      replyTo = undefined;
    }
  }

  let text = event.text;
  let attachments = event.attachments;
  let plans: readonly AttachmentPlan[] | undefined;
  if (attachments !== undefined && attachments.length > 0) {
    const outcome = planAttachments(attachments, ctx.caps, target, ctx.links);
    for (const how of outcome.degraded) degraded.push({ kind: 'message', how: `attachment_${how}` });
    if (outcome.lines.length > 0) {
      text = [text, ...outcome.lines].filter((line) => line !== '').join('\n');
      attachments = outcome.plans.map((p) => p.attachment);
    }
    plans = outcome.plans;
  }

  const unchanged = degraded.length === 0 && text === event.text && fitsAsIs(event, ctx);
  const hints = { identity, ...(hasRefs(refs) ? { refs } : {}), ...(plans && plans.length > 0 ? { attachments: plans } : {}) };
  if (unchanged) return { type: 'deliver', parts: [event], hints, degraded };

  const parts = composeMessage(event, { text, spans: event.spans ?? [] }, prefix, { replyTo, thread, attachments }, ctx, degraded);
  return { type: 'deliver', parts, hints, degraded };
}

const NOTHING: readonly Degrade[] = Object.freeze([]);
const hintsByIdentity = new WeakMap<TargetIdentity, BaseHints>();

/** `{ identity }`, one object per rendered identity. */
function plainHints(identity: TargetIdentity): BaseHints {
  let hints = hintsByIdentity.get(identity);
  if (!hints) hintsByIdentity.set(identity, hints = { identity });
  return hints;
}

/** Whether a message needs no formatting or length change on this target (the common, fast case). */
function fitsAsIs(event: MessageEvent, ctx: RewriteContext): boolean {
  if (event.text.length > maxLength(ctx)) return false;
  return event.spans === undefined || event.spans.every((s) => ctx.caps.formatting.includes(s.type));
}

export function maxLength(ctx: RewriteContext): number {
  return Math.max(1, Math.min(ctx.caps.maxTextLength, LIMITS.textChars));
}

/**
 * The message events a body becomes on the target: its spans degraded, the prefix (a quote, a
 * "corrected:") put before it, split at the target's length. The reply and attachments go with the
 * first part, the thread with every part. Every part keeps the event's id: they are one canonical
 * message shown in pieces.
 */
export function composeMessage(
  base: CanonicalEvent,
  body: FormattedText,
  prefix: FormattedText | undefined,
  fields: { replyTo?: EventId | undefined; thread?: EventId | undefined; attachments?: readonly Attachment[] | undefined },
  ctx: RewriteContext,
  degraded: Degrade[],
): MessageEvent[] {
  const formatted = degradeSpans(body.text, body.spans, ctx.caps.formatting);
  for (const type of formatted.removed) degraded.push({ kind: 'message', how: `format_${type}` });
  const full = prefix ? withPrefix(formatted, prefix) : formatted;
  const pieces = splitText(full, maxLength(ctx));
  if (pieces.length > 1) degraded.push({ kind: 'message', how: 'split' });
  return pieces.map((piece, i) => {
    const first = i === 0;
    return {
      v: 1, id: base.id, ts: base.ts, room: base.room, sender: base.sender, origin: base.origin,
      kind: 'message',
      text: piece.text,
      ...(piece.spans.length > 0 ? { spans: [...piece.spans] } : {}),
      ...(first && fields.attachments !== undefined && fields.attachments.length > 0 ? { attachments: [...fields.attachments] } : {}),
      ...(first && fields.replyTo !== undefined ? { replyTo: fields.replyTo } : {}),
      ...(fields.thread !== undefined ? { thread: fields.thread } : {}),
    };
  });
}

/**
 * The line quoting an original above a fallback, or a plain "in reply to an earlier message".
 * `text` overrides what is quoted (a correction quotes the text it replaced).
 */
export function quoteOf(id: EventId, ctx: RewriteContext, text?: string): FormattedText {
  const original = ctx.recent.get(id);
  if (!original) return plain(UNKNOWN_ORIGINAL_LINE);
  const name = ctx.resolver.resolve(original.sender, ctx.network, ctx.caps).displayName;
  return quoteLine(name, preview(text ?? original.text, ctx.quoteChars), ctx.caps.formatting.includes('quote'));
}

export function hasRefs(refs: NativeRefs): boolean {
  return refs.replyTo !== undefined || refs.thread !== undefined || refs.target !== undefined;
}
