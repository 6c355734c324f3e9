// MTProto message entities <-> canonical formatting spans. Both count offsets and lengths in
// UTF-16 code units (core.telegram.org/api/entities), so positions carry over as they are; what
// differs is the vocabulary. Entities with no canonical meaning (underline, hashtags, bot
// commands, custom emoji...) are left out: their text stays, plain. Entities out of range or
// cutting a character in half (inside a surrogate pair) are dropped, never clamped into
// something the sender did not write.
import { splitsSurrogatePair, type Span } from '../../../core/event.ts';
import type { TlObject } from '../tl/codec.ts';

/** Resolves user references both ways: an MTProto user id <-> the canonical `span.user` string. */
export interface MentionResolver {
  /** The canonical reference of an MTProto user (`mtproto:<id>` for accounts, the original actor for people of other networks). */
  userRef(userId: bigint): string | undefined;
  /** The MTProto user id a canonical mention points at, when it has one here. */
  userIdOf(ref: string): bigint | undefined;
}

const SIMPLE: Readonly<Record<string, Span['type']>> = {
  messageEntityBold: 'bold',
  messageEntityItalic: 'italic',
  messageEntityStrike: 'strike',
  messageEntityCode: 'code',
  messageEntitySpoiler: 'spoiler',
  messageEntityBlockquote: 'quote',
};

const ENTITY_OF: Readonly<Partial<Record<Span['type'], string>>> = {
  bold: 'messageEntityBold',
  italic: 'messageEntityItalic',
  strike: 'messageEntityStrike',
  code: 'messageEntityCode',
  spoiler: 'messageEntitySpoiler',
  quote: 'messageEntityBlockquote',
};

/** Longest URL a span may carry (the canonical event's limit). */
const MAX_URL = 2_048;

function validUrl(url: string): boolean {
  if (url.length === 0 || url.length > MAX_URL) return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' || parsed.protocol === 'mailto:' || parsed.protocol === 'tg:';
  } catch {
    return false;
  }
}

/** Inside the text, and starting and ending between characters (never inside a surrogate pair). */
function inRange(text: string, offset: unknown, length: unknown): offset is number {
  return typeof offset === 'number' && typeof length === 'number' && Number.isInteger(offset) && Number.isInteger(length)
    && offset >= 0 && length >= 1 && offset + length <= text.length
    && !splitsSurrogatePair(text, offset) && !splitsSurrogatePair(text, offset + length);
}

/** Canonical order: by offset, longer (outer) first, then by type: equal inputs give equal outputs. */
export function sortSpans(spans: Span[]): Span[] {
  return spans.sort((a, b) => a.offset - b.offset || b.length - a.length || a.type.localeCompare(b.type));
}

/** The spans of a message's entities. `maxSpans` bounds the work on hostile input. */
export function entitiesToSpans(text: string, entities: readonly TlObject[], mentions: MentionResolver, maxSpans = 1_024): Span[] {
  const spans: Span[] = [];
  for (const e of entities) {
    if (spans.length >= maxSpans) break;
    const offset = e['offset'];
    const length = e['length'];
    if (!inRange(text, offset, length)) continue;
    const len = length as number;
    const simple = SIMPLE[e._];
    if (simple !== undefined) {
      spans.push({ type: simple, offset, length: len });
      continue;
    }
    switch (e._) {
      case 'messageEntityPre': {
        const language = typeof e['language'] === 'string' ? e['language'].slice(0, 64) : '';
        spans.push({ type: 'pre', offset, length: len, ...(language !== '' ? { language } : {}) });
        break;
      }
      case 'messageEntityTextUrl': {
        const url = e['url'];
        if (typeof url === 'string' && validUrl(url)) spans.push({ type: 'link', offset, length: len, url });
        break;
      }
      case 'messageEntityUrl': {
        // The text itself is the link (clients detect it); keep it only when it parses as one.
        let url = text.slice(offset, offset + len);
        if (!/^[a-z][\w+.-]*:/i.test(url)) url = `https://${url}`;
        if (validUrl(url)) spans.push({ type: 'link', offset, length: len, url });
        break;
      }
      case 'messageEntityMentionName':
      case 'inputMessageEntityMentionName': {
        const id = mentionedUserId(e);
        const user = id === undefined ? undefined : mentions.userRef(id);
        if (user !== undefined) spans.push({ type: 'mention', offset, length: len, user });
        break;
      }
      default:
        break; // no canonical meaning: plain text
    }
  }
  return sortSpans(spans);
}

function mentionedUserId(e: TlObject): bigint | undefined {
  const v = e['user_id'];
  if (typeof v === 'bigint') return v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)) {
    const inner = v as TlObject;
    if (inner._ === 'inputUser' && typeof inner['user_id'] === 'bigint') return inner['user_id'];
  }
  return undefined;
}

/** The entities of canonical spans; spans it cannot express (a mention of nobody known here) are left out. */
export function spansToEntities(text: string, spans: readonly Span[], mentions: MentionResolver): TlObject[] {
  const out: TlObject[] = [];
  for (const s of sortSpans([...spans])) {
    if (!inRange(text, s.offset, s.length)) continue;
    const base = { offset: s.offset, length: s.length };
    const simple = ENTITY_OF[s.type];
    if (simple !== undefined) {
      out.push({ _: simple, ...base });
      continue;
    }
    switch (s.type) {
      case 'pre':
        out.push({ _: 'messageEntityPre', ...base, language: s.language ?? '' });
        break;
      case 'link':
        if (s.url !== undefined) out.push({ _: 'messageEntityTextUrl', ...base, url: s.url });
        break;
      case 'mention': {
        const id = s.user === undefined ? undefined : mentions.userIdOf(s.user);
        if (id !== undefined) out.push({ _: 'messageEntityMentionName', ...base, user_id: id });
        break;
      }
      default:
        break;
    }
  }
  return out;
}
