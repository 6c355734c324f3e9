import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SPAN_TYPES, validateEvent, type Span } from '../../src/core/event.ts';
import type { SpanType } from '../../src/core/capabilities.ts';
import { degradeSpans } from '../../src/mapper/formatting.ts';
import { splitText } from '../../src/mapper/split.ts';
import { preview, safeIndex, truncate } from '../../src/mapper/text.ts';
import { BARE, FULL, Rig, WS, XMPP, delivery, event } from './harness.ts';

/** Properties of the formatting degrade and the split, over random text full of emoji, surrogate pairs and combining marks. */

// No lone surrogates: canonical text must be valid Unicode (core validation refuses them).
const PIECES = ['a', 'b', ' ', '\n', 'é', 'e\u0301', 'a\u0308\u0301', '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '1️⃣', '𝒳', '中', 'ﷺ', '\u200d', '\u0301'];
const richText = fc.array(fc.constantFrom(...PIECES), { maxLength: 120 }).map((parts) => parts.join(''));

function spansFor(text: string): fc.Arbitrary<Span[]> {
  if (text.length === 0) return fc.constant([]);
  const span = fc.record({
    type: fc.constantFrom(...SPAN_TYPES),
    offset: fc.integer({ min: 0, max: text.length - 1 }),
    len: fc.integer({ min: 1, max: text.length }),
    url: fc.constantFrom('https://example.org/x', 'https://example.org/😀'),
  }).map(({ type, offset, len, url }) => {
    // Spans start and end on character boundaries (the canonical event requires it).
    const start = safeIndex(text, offset);
    const end = safeIndex(text, Math.min(start + len, text.length));
    return end > start ? { type, offset: start, length: end - start, ...(type === 'link' ? { url } : {}) } as Span : undefined;
  });
  return fc.array(span, { maxLength: 8 }).map((spans) => spans.filter((s): s is Span => s !== undefined));
}

const formatted = richText.chain((text) => spansFor(text).map((spans) => ({ text, spans })));
const supportedSets = fc.subarray([...SPAN_TYPES] as SpanType[]);

function inside(text: string, spans: readonly Span[]): boolean {
  return spans.every((s) => s.offset >= 0 && s.length >= 1 && s.offset + s.length <= text.length);
}

function splitsPair(text: string, at: number): boolean {
  const before = text.charCodeAt(at - 1);
  const after = text.charCodeAt(at);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

test('degrading spans keeps every span inside the text, keeps only supported types, and keeps the text readable', () => {
  fc.assert(fc.property(formatted, supportedSets, ({ text, spans }, supported) => {
    const out = degradeSpans(text, spans, supported);
    assert.ok(inside(out.text, out.spans));
    assert.ok(out.spans.every((s) => supported.includes(s.type)));
    // Nothing of the original text is lost: it is the output with the inserted URLs and quote marks taken out, in order.
    let i = 0;
    for (const ch of out.text) if (text.startsWith(ch, i)) i += ch.length;
    assert.equal(i, text.length, 'the original text is a subsequence of the degraded one');
    // Where every span is supported nothing changes at all.
    const kept = spans.filter((s) => supported.includes(s.type));
    if (kept.length === spans.length) assert.equal(out.text, text);
  }), { numRuns: 500 });
});

test('a link the target cannot show keeps its text and shows its URL after it, unless the text is the URL', () => {
  const text = 'see the docs or https://example.org/x';
  const spans: Span[] = [
    { type: 'bold', offset: 0, length: 12 },
    { type: 'link', offset: 8, length: 4, url: 'https://docs.example.org/' },
    { type: 'link', offset: 16, length: 21, url: 'https://example.org/x' },
  ];
  const out = degradeSpans(text, spans, ['bold']);
  assert.equal(out.text, 'see the docs (https://docs.example.org/) or https://example.org/x');
  assert.deepEqual(out.spans, [{ type: 'bold', offset: 0, length: 12 }], 'the bold ends at the link text, before the inserted URL');
  const mention = degradeSpans('hi @Bob', [{ type: 'mention', offset: 3, length: 4, user: 'bob@x.org' }], []);
  assert.equal(mention.text, 'hi @Bob');
  const quote = degradeSpans('intro\nline 1\nline 2\nafter', [{ type: 'quote', offset: 6, length: 13 }, { type: 'code', offset: 13, length: 6 }], ['code']);
  assert.equal(quote.text, 'intro\n> line 1\n> line 2\nafter');
  assert.deepEqual(quote.spans, [{ type: 'code', offset: 17, length: 6 }]);
});

test('splitting: parts within the limit, their concatenation is the text, never a split surrogate pair, spans inside each part', () => {
  fc.assert(fc.property(formatted, fc.integer({ min: 2, max: 40 }), ({ text, spans }, max) => {
    const parts = splitText({ text, spans }, max);
    assert.equal(parts.map((p) => p.text).join(''), text);
    let at = 0;
    for (const part of parts) {
      assert.ok(part.text.length <= max, `part of ${part.text.length} > ${max}`);
      assert.ok(part.text.length > 0 || text.length === 0);
      assert.ok(inside(part.text, part.spans));
      at += part.text.length;
      assert.ok(!splitsPair(text, at), `cut inside a surrogate pair at ${at}`);
    }
    // The spans of the parts cover exactly the units the original spans covered.
    const covered = (list: { offset: number; length: number; type: string }[][], starts: number[]) => list.flatMap((ss, i) => ss.flatMap((s) => Array.from({ length: s.length }, (_, k) => `${s.type}@${(starts[i] ?? 0) + s.offset + k}`))).sort();
    const starts = parts.reduce<number[]>((acc, p, i) => [...acc, i === 0 ? 0 : (acc[i - 1] ?? 0) + (parts[i - 1]?.text.length ?? 0)], []);
    assert.deepEqual(covered(parts.map((p) => [...p.spans]), starts), covered([spans], [0]));
  }), { numRuns: 500 });
});

test('splits happen at grapheme boundaries: an emoji sequence or a letter with its marks is never cut when it fits', () => {
  const family = '👨‍👩‍👧'; // 8 units
  const text = `${'x'.repeat(5)}${family}${'y'.repeat(5)}`;
  const parts = splitText({ text, spans: [] }, 10).map((p) => p.text);
  assert.deepEqual(parts, ['xxxxx', `${family}yy`, 'yyy']);
  const marks = 'e\u0301\u0302\u0303';
  assert.deepEqual(splitText({ text: `ab${marks}`, spans: [] }, 5).map((p) => p.text), ['ab', marks]);
});

test('truncate and preview never end in half a surrogate pair', () => {
  fc.assert(fc.property(richText, fc.integer({ min: 2, max: 50 }), (text, max) => {
    const flat = text.replace(/\s+/g, ' ').trim();
    for (const [out, source] of [[truncate(text, max), text], [preview(text, max), flat]] as const) {
      assert.ok(out.length <= max);
      const kept = out.endsWith('…') && !source.startsWith(out) ? out.slice(0, -1) : out;
      assert.ok(source.startsWith(kept), `${JSON.stringify(out)} is the start of ${JSON.stringify(source)}`);
      assert.ok(!splitsPair(source, kept.length), 'cut inside a surrogate pair');
    }
    assert.ok(safeIndex(text, max) <= max);
  }), { numRuns: 300 });
});

test('random messages through a target that renders nothing come out as valid events whose texts join back up', async () => {
  await fc.assert(fc.asyncProperty(formatted.filter((f) => f.text.length > 0), async ({ text, spans }) => {
    const rig = new Rig('xmpp', { ...BARE, formatting: ['bold', 'code'], maxTextLength: 16 });
    const source = event('message', { text, spans }, WS, 'demo-bob');
    const out = await rig.batch(delivery(source, XMPP));
    for (const d of out) assert.ok(validateEvent(d.event).ok, JSON.stringify(d.event));
    const joined = out.map((d) => (d.event as { text: string }).text).join('');
    assert.equal(joined, degradeSpans(text, spans, ['bold', 'code']).text);
    // And through a target that renders everything, the message is the very same event.
    const full = new Rig('websocket', FULL);
    const [same] = await full.batch(delivery(source, WS));
    assert.equal(same!.event, source);
  }), { numRuns: 200 });
});

test('a preview of a long text is one line of at most the asked length, marked as cut', () => {
  assert.equal(preview(`${'word '.repeat(100)}`, 12), 'word word w…');
  assert.equal(preview(`line one\n\n  line two ${'x'.repeat(500)}`, 20), 'line one line two x…');
  assert.equal(preview('short', 20), 'short');
});
