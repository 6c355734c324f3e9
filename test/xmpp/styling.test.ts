import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Span } from '../../src/core/event.ts';
import { parseStyling, renderStyling, sortSpans } from '../../src/connectors/xmpp/styling.ts';

const S = (type: Span['type'], offset: number, length: number, extra: Partial<Span> = {}): Span => ({ type, offset, length, ...extra });

test('XEP-0393 §5.2 examples: what is styled', () => {
  assert.deepEqual(parseStyling('*strong*'), { text: 'strong', spans: [S('bold', 0, 6)] });
  assert.deepEqual(parseStyling('plain *strong* plain'), { text: 'plain strong plain', spans: [S('bold', 6, 6)] });
  assert.deepEqual(parseStyling('*strong* plain *strong*'), { text: 'strong plain strong', spans: [S('bold', 0, 6), S('bold', 13, 6)] });
  assert.deepEqual(parseStyling('*strong*plain*'), { text: 'strongplain*', spans: [S('bold', 0, 6)] });
  assert.deepEqual(parseStyling('* plain *strong*'), { text: '* plain strong', spans: [S('bold', 8, 6)] });
  assert.deepEqual(parseStyling('Everyone ~dis~likes cake.'), { text: 'Everyone dislikes cake.', spans: [S('strike', 9, 3)] });
  assert.deepEqual(parseStyling('The full title is _Twelfth Night, or What You Will_ but\n_most_ people shorten it.'),
    { text: 'The full title is Twelfth Night, or What You Will but\nmost people shorten it.', spans: [S('italic', 18, 31), S('italic', 54, 4)] });
  assert.deepEqual(parseStyling('Wow, I can write in `monospace`!'), { text: 'Wow, I can write in monospace!', spans: [S('code', 20, 9)] });
  assert.deepEqual(parseStyling('This is `*monospace*`'), { text: 'This is *monospace*', spans: [S('code', 8, 11)] });
  assert.deepEqual(parseStyling('This is *`monospace and bold`*'), { text: 'This is monospace and bold', spans: [S('bold', 8, 18), S('code', 8, 18)] });
  assert.deepEqual(parseStyling('_emphasized span containing *strong span*_'),
    { text: 'emphasized span containing strong span', spans: [S('italic', 0, 38), S('bold', 27, 11)] });
});

test('XEP-0393 §5.2 examples: what is not styled', () => {
  for (const body of ['not strong*', '*not strong', '*not \n strong*', '*not *strong', '**', '****', 'a * b * c', '2*3*4', '**not bold**']) {
    assert.deepEqual(parseStyling(body), { text: body, spans: [] }, body);
  }
});

test('XEP-0393 §5.1 blocks: quotations (nested) and preformatted blocks (closed or not)', () => {
  assert.deepEqual(parseStyling('> That that is, is.\n\nSaid the old hermit of Prague.'),
    { text: 'That that is, is.\n\nSaid the old hermit of Prague.', spans: [S('quote', 0, 17)] });
  assert.deepEqual(parseStyling('>> That that is, is.\n> Said the old hermit of Prague.\n\nWho?'),
    { text: 'That that is, is.\nSaid the old hermit of Prague.\n\nWho?', spans: [S('quote', 0, 48), S('quote', 0, 17)] });
  assert.deepEqual(parseStyling('```ignored\n(println "Hello, world!")\n```\n\nThis should show up as monospace, preformatted text ⤴'),
    { text: '(println "Hello, world!")\n\nThis should show up as monospace, preformatted text ⤴', spans: [S('pre', 0, 25, { language: 'ignored' })] });
  // No closing fence: the pre block runs to the end of its parent (the quote); the next line is plain.
  assert.deepEqual(parseStyling('> ```\n> (println "Hello, world!")\n\nThe entire blockquote is a preformatted text block, but this line\nis *plaintext*!'),
    { text: '(println "Hello, world!")\n\nThe entire blockquote is a preformatted text block, but this line\nis plaintext!',
      spans: [S('quote', 0, 25), S('pre', 0, 25), S('bold', 96, 9)] });
  // Spans inside a quote are parsed; inside a pre block they are not.
  assert.deepEqual(parseStyling('> a *b*\n```\n*c*\n```'), { text: 'a b\n*c*', spans: [S('quote', 0, 3), S('bold', 2, 1), S('pre', 4, 3)] });
});

test('render: spans become directives; links, mentions and spoilers degrade to readable text', () => {
  assert.deepEqual(renderStyling('hello world', [S('bold', 6, 5)]), { body: 'hello *world*', unstyled: false, text: 'hello world', spans: [S('bold', 6, 5)] });
  assert.equal(renderStyling('quote\nreply', [S('quote', 0, 5)]).body, '> quote\nreply');
  assert.equal(renderStyling('x = 1\ny = 2', [S('pre', 0, 11, { language: 'js' })]).body, '```js\nx = 1\ny = 2\n```');
  const linked = renderStyling('see the docs now', [S('link', 8, 4, { url: 'https://example.org/docs' }), S('bold', 4, 3)]);
  assert.equal(linked.body, 'see *the* docs <https://example.org/docs> now');
  assert.equal(linked.text, 'see the docs <https://example.org/docs> now');
  assert.equal(renderStyling('https://example.org', [S('link', 0, 19, { url: 'https://example.org' })]).body, 'https://example.org');
  assert.deepEqual(renderStyling('hi @bob', [S('mention', 3, 4, { user: 'bob' })]), { body: 'hi @bob', unstyled: false, text: 'hi @bob', spans: [] });
  assert.equal(renderStyling('the butler did it', [S('spoiler', 4, 6)]).body, 'the butler did it');
  // Edge whitespace is trimmed off a span; a span over a line end is split per line; pre inside a line is code.
  assert.equal(renderStyling('a  bold  b', [S('bold', 1, 8)]).body, 'a  *bold*  b');
  assert.equal(renderStyling('one\ntwo', [S('italic', 0, 7)]).body, '_one_\n_two_');
  assert.equal(renderStyling('run ls now', [S('pre', 4, 2)]).body, 'run `ls` now');
  // What cannot open where it starts (mid-word) or crosses another span is left plain.
  assert.equal(renderStyling('foobar', [S('bold', 3, 3)]).body, 'foobar');
  assert.equal(renderStyling('ab cd ef', [S('bold', 0, 5), S('italic', 3, 5)]).body, '*ab cd* ef');
});

test('render: text that would read as styled is sent plain with <unstyled/>', () => {
  assert.deepEqual(renderStyling('2 *not* bold'), { body: '2 *not* bold', unstyled: true, text: '2 *not* bold', spans: [] });
  assert.deepEqual(renderStyling('> not a quote'), { body: '> not a quote', unstyled: true, text: '> not a quote', spans: [] });
  assert.deepEqual(renderStyling('just text'), { body: 'just text', unstyled: false, text: 'just text', spans: [] });
  // A span that would be misread because of a directive in the text ("*x *y*" reads as bold "x *y"):
  // the check by parsing catches it, and the text goes plain, never changed.
  assert.deepEqual(renderStyling('*x y', [S('bold', 3, 1)]), { body: '*x y', unstyled: false, text: '*x y', spans: [] });
  assert.deepEqual(renderStyling('*x y*', [S('italic', 3, 1)]), { body: '*x y*', unstyled: true, text: '*x y*', spans: [] });
});

// ---------------------------------------------------------------- properties

const pieces = fc.constantFrom('a', 'Z', 'é', 'e\u0301', '😀', '👩‍👩‍👧', '🇫🇷', '\u{1D54F}', '中', 'ש', ' ', ' ', '\n', '.', ',', '-', '\u00a0', '\t');
const directiveChars = fc.constantFrom('*', '_', '~', '`', '>', '```', '\\');
const anyText = fc.array(fc.oneof({ weight: 6, arbitrary: pieces }, { weight: 1, arbitrary: directiveChars }), { maxLength: 60 }).map((a) => a.join(''));
const spanTypes = fc.constantFrom<Span['type']>('bold', 'italic', 'strike', 'code', 'pre', 'quote', 'link', 'mention', 'spoiler');

function arbitrarySpans(text: string) {
  if (text.length === 0) return fc.constant([] as Span[]);
  return fc.array(fc.record({
    type: spanTypes,
    offset: fc.nat({ max: text.length - 1 }),
    len: fc.integer({ min: 1, max: text.length }),
  }), { maxLength: 6 }).map((xs) => xs.map(({ type, offset, len }): Span => {
    const length = Math.min(len, text.length - offset);
    return type === 'link' ? { type, offset, length, url: 'https://example.org/x' } : { type, offset, length };
  }));
}

test('property: any text with any spans renders to a body that reads back as exactly the rendered text and spans', () => {
  fc.assert(fc.property(anyText.chain((text) => fc.tuple(fc.constant(text), arbitrarySpans(text))), ([text, spans]) => {
    const r = renderStyling(text, spans);
    const back = r.unstyled ? { text: r.body, spans: [] } : parseStyling(r.body);
    assert.equal(back.text, r.text);
    assert.deepEqual(back.spans, r.spans);
    // Only links change the text (they show their URL); without links the text is kept exactly.
    if (!spans.some((s) => s.type === 'link')) assert.equal(r.text, text);
    // Every span is within the text and none is empty.
    for (const s of r.spans) assert.ok(s.length > 0 && s.offset + s.length <= r.text.length);
  }), { numRuns: 2_000 });
});

// Words of emoji, surrogate pairs and combining marks, separated by spaces/newlines, styled on word boundaries.
const word = fc.array(fc.constantFrom('a', 'b', 'é', 'e\u0301', '😀', '👍🏽', '\u{1D54F}', '中', 'ж', '1'), { minLength: 1, maxLength: 5 }).map((a) => a.join(''));
const styledWords = fc.array(fc.tuple(word, fc.constantFrom(undefined, 'bold', 'italic', 'strike', 'code'), fc.constantFrom(' ', '\n')), { minLength: 1, maxLength: 12 });

test('property: styled words with emoji, surrogate pairs and combining marks survive render -> parse exactly', () => {
  fc.assert(fc.property(styledWords, (words) => {
    let text = '';
    const spans: Span[] = [];
    words.forEach(([w, type, sep], i) => {
      if (type) spans.push({ type, offset: text.length, length: w.length });
      text += w + (i < words.length - 1 ? sep : '');
    });
    const r = renderStyling(text, spans);
    assert.equal(r.unstyled, false);
    assert.deepEqual(parseStyling(r.body), { text, spans: sortSpans([...spans]) });
  }), { numRuns: 2_000 });
});

test('property: parsing never throws and keeps spans within the text', () => {
  fc.assert(fc.property(anyText, (body) => {
    const p = parseStyling(body);
    assert.ok(p.text.length <= body.length);
    for (const s of p.spans) assert.ok(s.length > 0 && s.offset + s.length <= p.text.length);
  }), { numRuns: 2_000 });
});

test('parsing a hostile 64K body stays fast (no quadratic matching)', () => {
  const body = '*a '.repeat(21_000);
  const started = performance.now();
  const p = parseStyling(body);
  assert.equal(p.text, body);
  // Generous bound: quadratic matching would take many seconds here.
  assert.ok(performance.now() - started < 2_000);
});
