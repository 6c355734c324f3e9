import type { EventOfKind } from '../core/event.ts';
import type { Endpoint } from '../core/endpoint.ts';
import { CORRECTED_PREFIX, RETRACTED_NOTICE, moderatedNotice, plain, reactionText, withPrefix } from './fallbacks.ts';
import { degradeSpans, sliceSpans } from './formatting.ts';
import { composeMessage, maxLength, quoteOf } from './rewrite-message.ts';
import { safeIndex, preview } from './text.ts';
import type { TargetIdentity } from './types.ts';
import type { Degrade, Reference, Rewrite, RewriteContext } from './rewrite.ts';

const NOT_RESOLVABLE: Reference = { resolvable: false };

/**
 * An edit: native where the target has corrections and can point at the original; else a new
 * message `✎ corrected: <text>` that replies to the original where it can, or quotes its start
 * above. A native edit longer than maxTextLength is cut with `…` (an edit replaces one native
 * message, so it cannot be split).
 */
export function rewriteEdit(event: EventOfKind<'edit'>, target: Endpoint, identity: TargetIdentity, ctx: RewriteContext): Rewrite {
  const degraded: Degrade[] = [];
  const ref = ctx.caps.edits ? ctx.reference(event.target, target) : NOT_RESOLVABLE;
  if (ref.resolvable) {
    const hints = { identity, ...(ref.native !== undefined ? { refs: { target: ref.native } } : {}) };
    const formatted = degradeSpans(event.text, event.spans ?? [], ctx.caps.formatting);
    for (const type of formatted.removed) degraded.push({ kind: 'edit', how: `format_${type}` });
    const max = maxLength(ctx);
    if (formatted.removed.length === 0 && event.text.length <= max) return { type: 'deliver', parts: [event], hints, degraded };
    let { text, spans } = formatted;
    if (text.length > max) {
      const keep = safeIndex(text, max - 1);
      spans = sliceSpans(spans, 0, keep);
      text = `${text.slice(0, keep)}…`;
      degraded.push({ kind: 'edit', how: 'cut' });
    }
    const { spans: _original, ...rest } = event;
    return { type: 'deliver', parts: [{ ...rest, text, ...(spans.length > 0 ? { spans: [...spans] } : {}) }], hints, degraded };
  }
  const canReply = ctx.caps.replies && ctx.reference(event.target, target).resolvable;
  degraded.push({ kind: 'edit', how: ctx.caps.edits ? 'as_message_unknown_original' : 'as_message' });
  const body = withPrefix({ text: event.text, spans: event.spans ?? [] }, plain(CORRECTED_PREFIX));
  const quote = canReply ? undefined : quoteOf(event.target, ctx, ctx.recent.correctedBy(event.id, event.target));
  const parts = composeMessage(event, body, quote, { replyTo: canReply ? event.target : undefined }, ctx, degraded);
  return { type: 'deliver', parts, hints: { identity, ...refsOf(canReply, event.target, target, ctx) }, degraded };
}

/**
 * A retraction: native where the target can retract and point at the message; else a notice
 * `✗ deleted a message` (a reply to it where the target can point at it). The deleted text is
 * never quoted.
 */
export function rewriteRetract(event: EventOfKind<'retract'>, target: Endpoint, identity: TargetIdentity, ctx: RewriteContext): Rewrite {
  const ref = ctx.caps.retractions ? ctx.reference(event.target, target) : NOT_RESOLVABLE;
  if (ref.resolvable) {
    return { type: 'deliver', parts: [event], hints: { identity, ...(ref.native !== undefined ? { refs: { target: ref.native } } : {}) }, degraded: [] };
  }
  const degraded: Degrade[] = [{ kind: 'retract', how: ctx.caps.retractions ? 'notice_unknown_original' : 'notice' }];
  const canReply = ctx.caps.replies && ctx.reference(event.target, target).resolvable;
  const notice = event.moderation !== undefined ? moderatedNotice(event.moderation.reason) : RETRACTED_NOTICE;
  const parts = composeMessage(event, plain(notice), undefined, { replyTo: canReply ? event.target : undefined }, ctx, degraded);
  return { type: 'deliver', parts, hints: { identity, ...refsOf(canReply, event.target, target, ctx) }, degraded };
}

/**
 * A reaction (the sender's whole set): native where the target has reactions and can point at
 * the message (on an emoji-only target, reactions that are not one emoji are left out, counted);
 * else `reacted 👍 to "…"`. Taking all reactions back has no readable text worth a message on a
 * target without reactions: it is dropped there, counted and logged.
 */
export function rewriteReaction(event: EventOfKind<'reaction'>, target: Endpoint, identity: TargetIdentity, ctx: RewriteContext): Rewrite {
  const degraded: Degrade[] = [];
  let reactions = event.reactions;
  if (ctx.caps.reactions === 'emoji') {
    const emoji = reactions.filter(isSingleEmoji);
    if (emoji.length < reactions.length) degraded.push({ kind: 'reaction', how: 'not_emoji_left_out' });
    reactions = emoji;
  }
  const ref = ctx.caps.reactions !== false ? ctx.reference(event.target, target) : NOT_RESOLVABLE;
  const expressible = reactions.length > 0 || event.reactions.length === 0;
  if (ref.resolvable && expressible) {
    const hints = { identity, ...(ref.native !== undefined ? { refs: { target: ref.native } } : {}) };
    return { type: 'deliver', parts: [reactions === event.reactions ? event : { ...event, reactions: [...reactions] }], hints, degraded };
  }
  if (event.reactions.length === 0) return { type: 'drop', degraded: [{ kind: 'reaction', how: 'removal_dropped' }] };
  // As text because the target has no reactions, or none of these could be shown natively (`text`);
  // or because the original cannot be pointed at there (`text_unknown_original`).
  degraded.push({ kind: 'reaction', how: ctx.caps.reactions === false || ref.resolvable ? 'text' : 'text_unknown_original' });
  const original = ctx.recent.get(event.target);
  const canReply = ctx.caps.replies && ctx.reference(event.target, target).resolvable;
  const text = reactionText(event.reactions, original ? preview(original.text, ctx.quoteChars) : undefined);
  const parts = composeMessage(event, plain(text), undefined, { replyTo: canReply ? event.target : undefined }, ctx, degraded);
  return { type: 'deliver', parts, hints: { identity, ...refsOf(canReply, event.target, target, ctx) }, degraded };
}

/** A receipt: only the kinds the target shows, about a message it can point at; else dropped, counted. */
export function rewriteReceipt(event: EventOfKind<'receipt'>, target: Endpoint, identity: TargetIdentity, ctx: RewriteContext): Rewrite {
  if (!ctx.caps.receipts.includes(event.receipt)) return { type: 'drop', degraded: [{ kind: 'receipt', how: 'unsupported' }] };
  const ref = ctx.reference(event.target, target);
  if (!ref.resolvable) return { type: 'drop', degraded: [{ kind: 'receipt', how: 'unknown_original' }] };
  return { type: 'deliver', parts: [event], hints: { identity, ...(ref.native !== undefined ? { refs: { target: ref.native } } : {}) }, degraded: [] };
}

function refsOf(canReply: boolean, id: EventOfKind<'edit'>['target'], target: Endpoint, ctx: RewriteContext): { refs?: { replyTo: string } } {
  if (!canReply) return {};
  const ref = ctx.reference(id, target);
  return ref.resolvable && ref.native !== undefined ? { refs: { replyTo: ref.native } } : {};
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

/** One grapheme that is an emoji (with its modifiers, ZWJ sequence, flag pair or keycap). */
export function isSingleEmoji(text: string): boolean {
  if (!EMOJI.test(text)) return false;
  const it = graphemes.segment(text)[Symbol.iterator]();
  const first = it.next();
  return !first.done && first.value.segment === text;
}
