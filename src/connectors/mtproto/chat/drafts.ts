// What an account was writing in each of its chats and has not sent (messages.saveDraft), kept so
// that its other sessions and devices show it too. One state key per account (`drafts:<user id>`,
// a JSON object by chat address), changed with compare-and-set (json-record.ts) so that two sessions saving drafts
// of different chats at once both land, on one instance or several.
import type { StateStore } from '../../../bus/types.ts';
import { SpanSchema, splitsSurrogatePair, type Span } from '../../../core/event.ts';
import type { TlObject } from '../tl/codec.ts';
import { spansToEntities, type MentionResolver } from './entities.ts';
import { changeJson } from './json-record.ts';
import { hasParam, type View } from './render.ts';

/** Drafts one account keeps at most: past it, the oldest goes (a client keeps a few). */
export const MAX_DRAFTS = 20;
/** Formatting spans one draft keeps at most. */
export const MAX_DRAFT_SPANS = 100;

export interface Draft {
  readonly text: string;
  readonly spans?: readonly Span[];
  /** The message it answers, by id. */
  readonly reply?: number;
  /** Unix seconds. */
  readonly date: number;
}

export type DraftsOfAccount = Readonly<Record<string, Draft>>;

export class Drafts {
  constructor(private readonly state: StateStore) {}

  /** Every draft of the account, by chat address. */
  async of(accountId: bigint): Promise<DraftsOfAccount> {
    return parseDrafts(await this.state.get(keyOf(accountId)));
  }

  /** Sets the draft of one chat (undefined: removes it). False when other saves kept winning. */
  set(accountId: bigint, address: string, draft: Draft | undefined): Promise<boolean> {
    return changeJson(this.state, keyOf(accountId), parseDrafts, (current) => {
      const next: Record<string, Draft> = { ...current };
      if (draft === undefined) {
        if (!Object.hasOwn(next, address)) return undefined;
        delete next[address];
        return next;
      }
      next[address] = draft;
      const byAge = Object.entries(next).sort(([, a], [, b]) => a.date - b.date);
      for (const [old] of byAge.slice(0, Math.max(0, byAge.length - MAX_DRAFTS))) if (old !== address) delete next[old];
      return next;
    });
  }
}

/** A draft as a DraftMessage of the viewer's layer (none: draftMessageEmpty). */
export function draftObject(deps: { readonly people: MentionResolver }, draft: Draft | undefined, view: View): TlObject {
  if (draft === undefined) return { _: 'draftMessageEmpty' };
  const entities = draft.spans === undefined ? [] : spansToEntities(draft.text, draft.spans, deps.people);
  // The reply: `reply_to` (an InputReplyTo) from layer 158 on, `reply_to_msg_id` before.
  const reply = draft.reply === undefined ? {}
    : hasParam(view.schema, 'draftMessage', 'reply_to') ? { reply_to: { _: 'inputReplyToMessage', reply_to_msg_id: draft.reply } } : { reply_to_msg_id: draft.reply };
  return { _: 'draftMessage', message: draft.text, date: draft.date, ...(entities.length > 0 ? { entities } : {}), ...reply };
}

const keyOf = (accountId: bigint) => `drafts:${accountId}`;

/** A stored value as drafts; what is not a draft is left out (a malformed value: none at all). */
function parseDrafts(raw: string | undefined): DraftsOfAccount {
  if (raw === undefined) return {};
  try {
    const v = JSON.parse(raw) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    const out: Record<string, Draft> = Object.create(null) as Record<string, Draft>;
    for (const [address, d] of Object.entries(v as Record<string, unknown>)) {
      const draft = d as Partial<Draft> | null;
      if (draft === null || typeof draft !== 'object' || typeof draft.text !== 'string' || typeof draft.date !== 'number') continue;
      if (draft.reply !== undefined && typeof draft.reply !== 'number') continue;
      // Spans that do not fit the text are dropped, the text kept (rendering trusts them).
      const spans = Array.isArray(draft.spans) && draft.spans.every((sp) => fits(draft.text!, sp)) ? draft.spans : undefined;
      out[address] = { text: draft.text, date: draft.date, ...(draft.reply !== undefined ? { reply: draft.reply } : {}), ...(spans !== undefined ? { spans } : {}) };
    }
    return out;
  } catch {
    return {};
  }
}

function fits(text: string, span: unknown): boolean {
  const parsed = SpanSchema.safeParse(span);
  if (!parsed.success) return false;
  const { offset, length } = parsed.data;
  return offset + length <= text.length && !splitsSurrogatePair(text, offset) && !splitsSurrogatePair(text, offset + length);
}
