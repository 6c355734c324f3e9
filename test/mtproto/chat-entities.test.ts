// MTProto message entities <-> canonical spans (chat/entities.ts): property tests over random
// text with surrogate pairs and random, nested and overlapping formatting, plus the edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Span } from '../../src/core/event.ts';
import { validateEvent } from '../../src/core/event.ts';
import { entitiesToSpans, sortSpans, spansToEntities, type MentionResolver } from '../../src/connectors/mtproto/chat/entities.ts';
import type { TlObject } from '../../src/connectors/mtproto/tl/codec.ts';

/** Two users: an MTProto account and a person of the WS side. */
const mentions: MentionResolver = {
  userRef: (id) => (id === 777n ? 'mtproto:777' : id === 2n ** 39n + 5n ? 'websocket:alice' : undefined),
  userIdOf: (ref) => (ref === 'mtproto:777' ? 777n : ref === 'websocket:alice' ? 2n ** 39n + 5n : undefined),
};

/** Text mixing ASCII, BMP letters and astral emoji (two UTF-16 units each). */
const textArb = fc.array(fc.constantFrom('a', 'b', ' ', 'é', '中', '😀', '🧪', '👍🏽', '\n'), { minLength: 1, maxLength: 40 }).map((parts) => parts.join(''));

/** The UTF-16 indices between characters (where a span may start or end). */
function boundaries(text: string): number[] {
  const out = [0];
  let i = 0;
  for (const ch of text) out.push(i += ch.length);
  return out;
}

/** A span of a type MTProto can express, anywhere inside `text` on character boundaries (nesting and overlaps allowed). */
function spanArb(text: string): fc.Arbitrary<Span> {
  const cuts = boundaries(text);
  return fc.record({
    type: fc.constantFrom('bold', 'italic', 'strike', 'code', 'pre', 'link', 'mention', 'quote', 'spoiler'),
    from: fc.integer({ min: 0, max: cuts.length - 2 }),
    span: fc.integer({ min: 1, max: cuts.length - 1 }),
    language: fc.constantFrom(undefined, 'ts', 'python'),
    user: fc.constantFrom('mtproto:777', 'websocket:alice'),
  }).map(({ type, from, span, language, user }) => {
    const offset = cuts[from]!;
    const length = cuts[Math.min(from + span, cuts.length - 1)]! - offset;
    const base = { type, offset, length };
    if (type === 'pre') return { ...base, ...(language !== undefined ? { language } : {}) } as Span;
    if (type === 'link') return { ...base, url: `https://example.org/${offset}` } as Span;
    if (type === 'mention') return { ...base, user } as Span;
    return base as Span;
  });
}

const caseArb = textArb.chain((text) => fc.tuple(fc.constant(text), fc.array(spanArb(text), { maxLength: 12 })));

test('spans -> entities -> spans is the identity (in canonical order), offsets in UTF-16 units', () => {
  fc.assert(fc.property(caseArb, ([text, spans]) => {
    const entities = spansToEntities(text, spans, mentions);
    assert.equal(entities.length, spans.length, 'every span has an entity');
    assert.deepEqual(entitiesToSpans(text, entities, mentions), sortSpans([...spans]));
  }), { numRuns: 500 });
});

test('entities -> spans -> entities keeps every entity with a canonical meaning', () => {
  fc.assert(fc.property(caseArb, ([text, spans]) => {
    const entities = spansToEntities(text, spans, mentions);
    assert.deepEqual(spansToEntities(text, entitiesToSpans(text, entities, mentions), mentions), entities);
  }), { numRuns: 300 });
});

test('the spans always make a valid canonical event, whatever entities a client sends', () => {
  const anyEntity = fc.record({
    _: fc.constantFrom('messageEntityBold', 'messageEntityUnderline', 'messageEntityTextUrl', 'messageEntityUrl', 'messageEntityPre', 'messageEntityMentionName', 'messageEntityHashtag', 'messageEntityBlockquote', 'messageEntityCustomEmoji'),
    offset: fc.integer({ min: -5, max: 60 }),
    length: fc.integer({ min: -5, max: 60 }),
    url: fc.constantFrom('https://ok.example', 'javascript:alert(1)', 'not a url', ''),
    language: fc.string({ maxLength: 80 }),
    user_id: fc.constantFrom(777n, 1n, 2n ** 39n + 5n),
  });
  fc.assert(fc.property(textArb, fc.array(anyEntity, { maxLength: 20 }), (text, entities) => {
    const spans = entitiesToSpans(text, entities as TlObject[], mentions);
    const event = { v: 1, id: '01J0000000000000000000000A', ts: 1, room: 'r', kind: 'message', text, sender: { network: 'mtproto', id: '1' }, origin: { connector: 'mtproto', endpoint: '1' }, ...(spans.length > 0 ? { spans } : {}) };
    const result = validateEvent(event);
    assert.ok(result.ok, result.ok ? '' : result.error);
  }), { numRuns: 500 });
});

test('an entity that cuts a character in half (inside a surrogate pair) is dropped, not clamped', () => {
  const text = 'a😀b';
  assert.deepEqual(entitiesToSpans(text, [
    { _: 'messageEntityBold', offset: 2, length: 2 }, // starts inside the emoji
    { _: 'messageEntityItalic', offset: 0, length: 2 }, // ends inside it
    { _: 'messageEntityCode', offset: 1, length: 2 }, // the emoji whole
  ], mentions), [{ type: 'code', offset: 1, length: 2 }]);
  assert.deepEqual(spansToEntities(text, [{ type: 'bold', offset: 2, length: 1 }], mentions), []);
});

test('edges: out-of-range and meaningless entities are dropped, plain URLs become links, unknown mentions are dropped', () => {
  const text = '😀 see example.org now';
  assert.deepEqual(entitiesToSpans(text, [
    { _: 'messageEntityBold', offset: 0, length: 2 },
    { _: 'messageEntityItalic', offset: 20, length: 5 }, // past the end
    { _: 'messageEntityCode', offset: -1, length: 3 },
    { _: 'messageEntityUnderline', offset: 3, length: 3 },
    { _: 'messageEntityUrl', offset: 7, length: 11 },
    { _: 'messageEntityTextUrl', offset: 3, length: 3, url: 'javascript:alert(1)' },
    { _: 'messageEntityMentionName', offset: 19, length: 3, user_id: 12345n },
    { _: 'inputMessageEntityMentionName', offset: 19, length: 3, user_id: { _: 'inputUser', user_id: 777n, access_hash: 0n } },
  ], mentions), [
    { type: 'bold', offset: 0, length: 2 },
    { type: 'link', offset: 7, length: 11, url: 'https://example.org' },
    { type: 'mention', offset: 19, length: 3, user: 'mtproto:777' },
  ]);
  assert.deepEqual(spansToEntities('hi you', [{ type: 'mention', offset: 3, length: 3, user: 'xmpp:nobody@example.org' }], mentions), [], 'nobody known: the text stays, plain');
  assert.deepEqual(spansToEntities('code', [{ type: 'pre', offset: 0, length: 4 }], mentions), [{ _: 'messageEntityPre', offset: 0, length: 4, language: '' }]);
});
