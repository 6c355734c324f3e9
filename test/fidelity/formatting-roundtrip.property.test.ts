// Formatting across two networks (issue 10, "Formatting"): random text with emoji, surrogate
// pairs, combining marks, newlines, styling directive characters and nested or overlapping spans,
// through each network's real converters as a delivery takes them:
//
//   X (XMPP):    mapper degrade for XMPP's capabilities -> buildMessage (XEP-0393 body, <unstyled/>)
//                -> the stanza parsed as the connector parses a room message (parseMessage + bodyToText)
//   M (MTProto): mapper degrade for MTProto's capabilities -> spansToEntities -> entitiesToSpans
//   W (WS):      the canonical event as it is (validated)
//
// The invariants checked (the exact statement of "survives" and "degrades to readable text"):
//   I1  every hop gives a valid canonical message: spans inside the text, starting and ending on
//       character boundaries (never inside a surrogate pair), at most 1024 of them;
//   I2  M is lossless: text and spans come back exactly (mentions of people MTProto knows);
//   I3  X keeps the text, except that each link whose text is not its URL gets " (URL)" written
//       right after it (docs/mapper.md); nothing else is added, removed or moved;
//   I4  X is sound: every span read back on XMPP is of a type styling has and covers only what an
//       original span of that type covered (code may come from an inline pre; a quote covers the
//       whole lines an original quote touched);
//   I5  X is complete where styling can say it: spans on word boundaries, each type at most once
//       in a nest, no code nested, come back exactly;
//   I6  two-network round trips: M(X(c)) = X(c), X(M(c)) = X(c), and X(X(c)) = X(c): what XMPP
//       shows once is what every further trip through either network shows;
//   I7  from native input: a random XEP-0393 body read by the connector, taken to MTProto and
//       back to XMPP reads back as the same text, and its spans survive (or, where the body's own
//       characters would read as other styling, the text is sent unstyled, exactly); random
//       MTProto entities the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import xml, { type Element } from '@xmpp/xml';
import { validateEvent, type Span } from '../../src/core/event.ts';
import type { SpanType } from '../../src/core/capabilities.ts';
import { degradeSpans } from '../../src/mapper/formatting.ts';
import { safeIndex } from '../../src/mapper/text.ts';
import { buildMessage } from '../../src/connectors/xmpp/stanza/message-out.ts';
import { parseMessage } from '../../src/connectors/xmpp/stanza/message-in.ts';
import { bodyToText } from '../../src/connectors/xmpp/inbound.ts';
import { XMPP_CAPABILITIES } from '../../src/connectors/xmpp/connector.ts';
import { MTPROTO_CAPABILITIES } from '../../src/connectors/mtproto/connector.ts';
import { entitiesToSpans, spansToEntities, type MentionResolver } from '../../src/connectors/mtproto/chat/entities.ts';
import type { TlObject } from '../../src/connectors/mtproto/tl/codec.ts';

interface Formatted { readonly text: string; readonly spans: readonly Span[] }

// FIDELITY_RUNS=20000 for a deeper search.
const RUNS = Number(process.env['FIDELITY_RUNS'] ?? 1_500);
fc.configureGlobal({ includeErrorInReport: true });
const ROOM = 'lobby@conference.example.org';

// ---- the hops -----------------------------------------------------------------------------------

/** MTProto users: accounts `mtproto:<id>`, and one person of another network with a derived id. */
const mentions: MentionResolver = {
  userRef: (id) => (id === 2n ** 39n + 7n ? 'websocket:carol' : id < 2n ** 39n ? `mtproto:${id}` : undefined),
  userIdOf: (ref) => (ref === 'websocket:carol' ? 2n ** 39n + 7n : /^mtproto:\d{1,12}$/.test(ref) ? BigInt(ref.slice(8)) : undefined),
};

/** Canonical order (offset, longer first, type, then the rest), so span lists compare as sets. */
function canon(spans: readonly Span[]): Span[] {
  return [...spans].sort((a, b) => a.offset - b.offset || b.length - a.length || a.type.localeCompare(b.type)
    || JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function valid(f: Formatted, where: string): Formatted {
  const r = validateEvent({
    v: 1, id: '01JDQ6ZK8V3W2M8B6T4XQ9R7CE', ts: 1, room: 'lobby', kind: 'message',
    sender: { network: 'test', id: 'x' }, origin: { connector: 'test', endpoint: 'lobby' },
    text: f.text, ...(f.spans.length > 0 ? { spans: f.spans } : {}),
  });
  assert.ok(r.ok, `${where}: not a valid canonical message: ${r.ok ? '' : r.error}\n${JSON.stringify(f)}`);
  return f;
}

const W = (c: Formatted): Formatted => valid(c, 'W');

function M(c: Formatted): Formatted {
  const d = degradeSpans(c.text, c.spans, MTPROTO_CAPABILITIES.formatting);
  const entities: TlObject[] = spansToEntities(d.text, d.spans, mentions);
  return valid({ text: d.text, spans: entitiesToSpans(d.text, entities, mentions) }, 'M');
}

function X(c: Formatted): Formatted {
  const d = degradeSpans(c.text, c.spans, XMPP_CAPABILITIES.formatting);
  const stanza: Element = buildMessage({ from: `${ROOM}/Carol`, to: 'alice@example.org/x', type: 'groupchat', originId: 'o1' }, { text: d.text, spans: d.spans });
  const read = bodyToText(parseMessage(stanza, { componentDomain: 'bridge.example.org' }));
  return valid(read, 'X');
}

// ---- random input -------------------------------------------------------------------------------

/** Characters that stress both converters: astral emoji (surrogate pairs), ZWJ sequences, combining marks, styling directives, line ends. */
const PIECES = ['a', 'b', 'z', ' ', ' ', '\n', 'é', 'e\u0301', 'a\u0308\u0301', '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '𝒳', '中', '\u0301', '*', '_', '~', '`', '>', '```'];
const richText = fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 60 }).map((p) => p.join(''));

/** UTF-16 indices between characters (a surrogate pair is one character here; combining marks are their own). */
function cuts(text: string): number[] {
  const out = [0];
  let i = 0;
  for (const ch of text) out.push(i += ch.length);
  return out;
}

const ALL_TYPES: readonly SpanType[] = ['bold', 'italic', 'strike', 'code', 'pre', 'link', 'mention', 'quote', 'spoiler'];

function spanArb(text: string): fc.Arbitrary<Span> {
  const c = cuts(text);
  return fc.record({
    type: fc.constantFrom(...ALL_TYPES),
    from: fc.integer({ min: 0, max: c.length - 2 }),
    len: fc.integer({ min: 1, max: c.length - 1 }),
    language: fc.constantFrom(undefined, 'ts', 'py'),
    user: fc.constantFrom('mtproto:5001', 'websocket:carol'),
    url: fc.constantFrom('https://example.org/x', 'https://example.org/😀?q=1'),
  }).map(({ type, from, len, language, user, url }) => {
    const offset = c[from] as number;
    const length = (c[Math.min(from + len, c.length - 1)] as number) - offset;
    const base = { type, offset, length };
    if (type === 'pre') return (language === undefined ? base : { ...base, language }) as Span;
    if (type === 'link') return { ...base, url } as Span;
    if (type === 'mention') return { ...base, user } as Span;
    return base as Span;
  });
}

const formattedArb: fc.Arbitrary<Formatted> = richText.chain((text) => fc.array(spanArb(text), { maxLength: 10 }).map((spans) => ({ text, spans })));

// ---- I3 and I4: what XMPP shows, computed independently -----------------------------------------

/** The original text with " (URL)" after each link whose text is not its URL, and the map from output index to original index (-1: inserted). */
function withUrls(c: Formatted): { text: string; origin: number[] } {
  const inserts = c.spans.filter((s) => s.type === 'link' && s.url !== undefined && !sameLink(c.text.slice(s.offset, s.offset + s.length), s.url))
    // Several links ending at one place: the inner one's URL first (the later start), then by URL, whatever order the spans came in.
    .map((s) => ({ at: s.offset + s.length, add: ` (${s.url as string})`, start: s.offset, url: s.url as string }))
    .sort((a, b) => a.at - b.at || b.start - a.start || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  let text = '';
  const origin: number[] = [];
  let from = 0;
  for (const ins of [...inserts, { at: c.text.length, add: '' }]) {
    for (let i = from; i < ins.at; i++) { text += c.text[i] as string; origin.push(i); }
    from = ins.at;
    text += ins.add;
    for (let k = 0; k < ins.add.length; k++) origin.push(-1);
  }
  return { text, origin };
}

function sameLink(visible: string, url: string): boolean {
  const bare = (s: string) => s.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\/$/, '').toLowerCase();
  return bare(visible) === bare(url);
}

const XMPP_TYPES = new Set<SpanType>(XMPP_CAPABILITIES.formatting);

function lineOf(text: string, at: number): { start: number; end: number } {
  const start = at === 0 ? 0 : text.lastIndexOf('\n', at - 1) + 1;
  const nl = text.indexOf('\n', at);
  return { start, end: nl === -1 ? text.length : nl };
}

/** I4: every span XMPP shows covers only what an original span of its type covered. */
function assertSound(c: Formatted, shown: Formatted): void {
  const { origin } = withUrls(c);
  const coveredBy = (i: number, types: readonly SpanType[]): boolean => c.spans.some((s) => types.includes(s.type) && s.offset <= i && i < s.offset + s.length);
  for (const s of shown.spans) {
    assert.ok(XMPP_TYPES.has(s.type), `XMPP shows a ${s.type} span`);
    if (s.type === 'quote') {
      // Whole lines, each touched by an original quote.
      for (let i = s.offset; i < s.offset + s.length;) {
        const line = lineOf(shown.text, i);
        // (a line's own line end counts as part of it)
        const touched = c.spans.some((q) => q.type === 'quote' && origin.slice(line.start, line.end + 1).some((o) => o >= q.offset && o < q.offset + q.length))
          // an empty line inside a quote block: between two quoted lines
          || line.start === line.end;
        assert.ok(touched, `a quote over a line no original quote touched: ${JSON.stringify({ c, shown, s })}`);
        i = line.end + 1;
      }
      continue;
    }
    const types: SpanType[] = s.type === 'code' ? ['code', 'pre'] : [s.type];
    for (let i = s.offset; i < s.offset + s.length; i++) {
      const o = origin[i] as number;
      // Whitespace at a span's edge is trimmed, never added; inserted URL text belongs to no span of the original but may sit inside one that encloses the link.
      if (o === -1) continue;
      assert.ok(coveredBy(o, types), `${s.type} over original index ${o}, which no original ${types.join('/')} covered: ${JSON.stringify({ c, shown, s })}`);
    }
  }
}

// ---- the properties -----------------------------------------------------------------------------

test('I1-I4: each hop keeps text and spans valid; MTProto is lossless; XMPP keeps the text (plus link URLs) and shows only what was sent', () => {
  fc.assert(fc.property(formattedArb, (c) => {
    W(c);
    const m = M(c);
    assert.equal(m.text, c.text);
    assert.deepEqual(canon(m.spans), canon(c.spans));
    const x = X(c);
    assert.equal(x.text, withUrls(c).text);
    assertSound(c, x);
  }), { numRuns: RUNS });
});

test('I6: two-network round trips: after one trip through XMPP, further trips through MTProto or XMPP change nothing; MTProto first changes nothing either', () => {
  fc.assert(fc.property(formattedArb, (c) => {
    const x = X(c);
    const mx = M(x);
    assert.deepEqual({ text: mx.text, spans: canon(mx.spans) }, { text: x.text, spans: canon(x.spans) }, 'X then M');
    const xm = X(M(c));
    assert.deepEqual({ text: xm.text, spans: canon(xm.spans) }, { text: x.text, spans: canon(x.spans) }, 'M then X');
    const xx = X(x);
    assert.deepEqual({ text: xx.text, spans: canon(xx.spans) }, { text: x.text, spans: canon(x.spans) }, 'X twice');
    const wxmw = W(M(X(W(c))));
    assert.deepEqual(wxmw.text, x.text);
  }), { numRuns: RUNS });
});

// Words of emoji, surrogate pairs and combining marks; styled runs of whole words, nested without repeating a type, code innermost.
const wordArb = fc.array(fc.constantFrom('a', 'b', 'é', 'e\u0301', '😀', '👍🏽', '𝒳', '中', '1'), { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
const INLINE: readonly SpanType[] = ['bold', 'italic', 'strike', 'code'];
const expressibleArb: fc.Arbitrary<Formatted> = fc.array(fc.tuple(
  fc.array(wordArb, { minLength: 1, maxLength: 3 }),
  fc.subarray([...INLINE]),
  fc.constantFrom(' ', '\n'),
), { minLength: 1, maxLength: 8 }).map((runs) => {
  let text = '';
  const spans: Span[] = [];
  runs.forEach(([words, types, sep], i) => {
    const run = words.join(' ');
    // Outer to inner in the order of INLINE: code, if any, is innermost and holds nothing.
    for (const type of types) spans.push({ type, offset: text.length, length: run.length });
    text += run + (i < runs.length - 1 ? sep : '');
  });
  return { text, spans };
});

test('I5: what styling can express (word-aligned runs, nested without repeating a type) comes back exactly, through XMPP and then MTProto', () => {
  fc.assert(fc.property(expressibleArb, (c) => {
    const x = X(c);
    assert.deepEqual({ text: x.text, spans: canon(x.spans) }, { text: c.text, spans: canon(c.spans) });
    const mx = M(x);
    assert.deepEqual({ text: mx.text, spans: canon(mx.spans) }, { text: c.text, spans: canon(c.spans) });
  }), { numRuns: RUNS });
});

test('I7: native input: a random XEP-0393 body, and random MTProto entities, keep their text and formatting through the other network and back', () => {
  const bodyArb = fc.array(fc.constantFrom(...PIECES, '*a*', '_b_', '~c~', '`d`', '> q\n', '```\nx\n```\n', '*😀 é*'), { minLength: 1, maxLength: 30 }).map((p) => p.join(''));
  fc.assert(fc.property(bodyArb, (body) => {
    // As alice's client sends it: the body as typed.
    const stanza = xml('message', { from: `${ROOM}/Alice`, to: 'relay@bridge.example.org', type: 'groupchat', id: 'a1' }, xml('body', {}, body));
    const c = valid(bodyToText(parseMessage(stanza, { componentDomain: 'bridge.example.org' })), 'XMPP in');
    const back = X(M(c));
    assert.equal(back.text, c.text, 'the text a body reads as survives MTProto and XMPP again');
    // The spans survive, unless styling cannot say them again without the body's stray directive characters reading as more styling: then the text goes unstyled.
    // (A pre block's language is written on its fence line with whitespace and backticks collapsed.)
    const fence = (spans: readonly Span[]): Span[] => canon(spans.map((s) => (s.language === undefined ? s : { ...s, language: s.language.replace(/[\s`]+/g, ' ').trim() }))
      .map((s) => (s.language === '' ? { type: s.type, offset: s.offset, length: s.length } : s)));
    if (back.spans.length > 0 || c.spans.length === 0) assert.deepEqual(fence(back.spans), fence(c.spans));
  }), { numRuns: RUNS });

  const entityArb = richText.chain((text) => fc.array(spanArb(text), { maxLength: 10 }).map((spans) => ({ text, entities: spansToEntities(text, spans, mentions) })));
  fc.assert(fc.property(entityArb, ({ text, entities }) => {
    const c = valid({ text, spans: entitiesToSpans(text, entities, mentions) }, 'MTProto in');
    const x = X(c);
    const back = M(x);
    assert.equal(back.text, withUrls(c).text);
    assertSound(c, back);
    assert.deepEqual(spansToEntities(back.text, back.spans, mentions).length, back.spans.length, 'everything XMPP showed is an entity again');
  }), { numRuns: RUNS });
});

test('the invariants hold on known cases (so the properties cannot pass vacuously)', () => {
  const c: Formatted = { text: '😀 bold link\nquoted', spans: [
    { type: 'bold', offset: 3, length: 4 }, { type: 'link', offset: 8, length: 4, url: 'https://example.org/x' }, { type: 'quote', offset: 13, length: 6 },
    { type: 'spoiler', offset: 3, length: 4 },
  ] };
  const x = X(c);
  assert.equal(x.text, '😀 bold link (https://example.org/x)\nquoted');
  assert.deepEqual(canon(x.spans), [{ type: 'bold', offset: 3, length: 4 }, { type: 'quote', offset: 37, length: 6 }]);
  assert.deepEqual(M(c), { text: c.text, spans: canon(c.spans) });
  assert.throws(() => valid({ text: '😀', spans: [{ type: 'bold', offset: 1, length: 1 }] }, 'a span inside a surrogate pair'));
  assert.equal(safeIndex('😀', 1), 0);
});

test('what these properties found, fixed: URL order of links ending together, blocks ending in an empty line, bodies that style to nothing, pre blocks starting together', () => {
  // Two pre blocks starting at one place (seed -131059275): the longer is kept, in either order,
  // so XMPP shows the same after MTProto (which may list them the other way round).
  const short: Span = { type: 'pre', offset: 0, length: 2 };
  const long: Span = { type: 'pre', offset: 0, length: 3 };
  const shown = X({ text: '😀\n', spans: [short, long] });
  assert.deepEqual(shown, { text: '😀\n', spans: [long] });
  assert.deepEqual(X({ text: '😀\n', spans: [long, short] }), shown);
  assert.deepEqual(X(M({ text: '😀\n', spans: [short, long] })), shown);
  // Two links ending at one place: the degraded text no longer depends on the order the spans were listed in.
  const a: Span = { type: 'link', offset: 0, length: 5, url: 'https://example.org/outer' };
  const b: Span = { type: 'link', offset: 3, length: 2, url: 'https://example.org/inner' };
  const one = degradeSpans('ab cd', [a, b], []);
  assert.equal(one.text, 'ab cd (https://example.org/inner) (https://example.org/outer)');
  assert.equal(degradeSpans('ab cd', [b, a], []).text, one.text);
  // A quote or an unclosed fence that holds a final empty line renders back to itself (X is idempotent).
  const quoted = X({ text: 'a\n\n', spans: [{ type: 'quote', offset: 0, length: 3 }] });
  assert.deepEqual(quoted, { text: 'a\n\n', spans: [{ type: 'quote', offset: 0, length: 3 }] });
  assert.deepEqual(X(quoted), quoted);
  const fence = X({ text: 'a\nx\n', spans: [{ type: 'pre', offset: 2, length: 2 }] });
  assert.deepEqual(fence, { text: 'a\nx\n', spans: [{ type: 'pre', offset: 2, length: 2 }] }, 'a pre block, not inline code');
  // ">" or an empty fence alone was no text at all, so the connector dropped the message: now it is the text.
  const lone = (body: string) => bodyToText(parseMessage(xml('message', { from: `${ROOM}/Alice`, to: 'r@b', type: 'groupchat' }, xml('body', {}, body)), { componentDomain: 'b' }));
  assert.deepEqual(lone('>'), { text: '>', spans: [] });
  assert.deepEqual(lone('```'), { text: '```', spans: [] });
  assert.deepEqual(lone('> hi'), { text: 'hi', spans: [{ type: 'quote', offset: 0, length: 2 }] });
});
