import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateEvent, parseEvent, EVENT_KINDS, LIMITS } from '../../src/core/event.ts';
import { newEventId } from '../../src/core/ids.ts';

function baseEvent(extra: Record<string, unknown>) {
  return {
    v: 1, id: newEventId(), ts: Date.now(), room: 'lobby',
    sender: { network: 'websocket', id: 'alice', name: 'Alice' },
    origin: { connector: 'websocket', endpoint: 'lobby', session: 's1' },
    ...extra,
  };
}

const target = newEventId();
const goodOfEachKind: Record<string, Record<string, unknown>> = {
  message: { kind: 'message', text: 'hi 👋', spans: [{ type: 'bold', offset: 0, length: 2 }] },
  edit: { kind: 'edit', target, text: 'fixed' },
  retract: { kind: 'retract', target },
  reaction: { kind: 'reaction', target, reactions: ['👍', '🎉'] },
  presence: { kind: 'presence', state: 'away', status: 'lunch', lastSeen: 1 },
  typing: { kind: 'typing', state: 'active' },
  receipt: { kind: 'receipt', target, receipt: 'displayed' },
  membership: { kind: 'membership', action: 'join' },
  topic: { kind: 'topic', text: 'Release day: ship 2.0 🚀' },
};

test('one valid event of every kind passes and keeps its fields', () => {
  assert.deepEqual(Object.keys(goodOfEachKind).sort(), [...EVENT_KINDS].sort());
  for (const fields of Object.values(goodOfEachKind)) {
    const input = baseEvent(fields);
    const r = validateEvent(input);
    assert.ok(r.ok, `${String(fields['kind'])}: ${r.ok ? '' : r.error}`);
    assert.deepEqual(r.event, input);
  }
});

test('span offsets count UTF-16 units: a span past the end is rejected, one covering an emoji is not', () => {
  const emoji = '😀'; // two UTF-16 code units
  assert.ok(validateEvent(baseEvent({ kind: 'message', text: emoji, spans: [{ type: 'bold', offset: 0, length: 2 }] })).ok);
  const r = validateEvent(baseEvent({ kind: 'message', text: emoji, spans: [{ type: 'bold', offset: 1, length: 2 }] }));
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.error, /^spans: /);
});

test('bad events are rejected with the field named', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [baseEvent({ kind: 'message', text: '' }), /text/],
    [baseEvent({ kind: 'message', text: 'x'.repeat(LIMITS.textChars + 1) }), /text/],
    [baseEvent({ kind: 'nope' }), /kind/],
    [baseEvent({ kind: 'edit', target: 'not-an-id', text: 'x' }), /target/],
    [baseEvent({ kind: 'reaction', target, reactions: Array(LIMITS.reactions + 1).fill('x') }), /reactions/],
    [baseEvent({ kind: 'presence', state: 'sleeping' }), /state/],
    [baseEvent({ kind: 'topic', text: 'x'.repeat(LIMITS.topicChars + 1) }), /^text: /],
    [baseEvent({ kind: 'topic' }), /^text: /],
    [{ ...baseEvent({ kind: 'typing', state: 'active' }), v: 2 }, /^v: /],
    [{ ...baseEvent({ kind: 'typing', state: 'active' }), extra: true }, /extra|Unrecognized/i],
    [{ ...baseEvent({ kind: 'typing', state: 'active' }), sender: { network: 'ws' } }, /sender/],
  ];
  for (const [input, pattern] of cases) {
    const r = validateEvent(input);
    assert.equal(r.ok, false, JSON.stringify(input).slice(0, 80));
    assert.match(r.ok ? '' : r.error, pattern);
  }
  assert.throws(() => parseEvent({}), /invalid canonical event/);
});

test('validation never throws on arbitrary input', () => {
  fc.assert(fc.property(fc.anything(), (input) => {
    const r = validateEvent(input);
    return r.ok === false || typeof r.event.id === 'string';
  }), { numRuns: 2_000 });
});

test('a validated event is frozen all the way down, so checking it again can trust the first check', () => {
  const input = baseEvent(goodOfEachKind.message ?? {});
  const r = validateEvent(input);
  assert.ok(r.ok);
  const event = r.event as unknown as { text: string; sender: { id: string }; spans: { length: number }[] };
  assert.notEqual(r.event, input, 'the input itself is not trusted: the caller still holds it');
  assert.throws(() => { event.text = 'changed after the check'; }, TypeError);
  assert.throws(() => { event.sender.id = 'mallory'; }, TypeError);
  assert.throws(() => { event.spans.push({ length: 1 }); }, TypeError);
  assert.throws(() => { (event.spans[0] as { length: number }).length = 10_000; }, TypeError);
  assert.equal(parseEvent(r.event), r.event, 'the second check is the same event');
  // The mutable input is checked in full every time: breaking it after the first check is caught.
  (input as Record<string, unknown>).text = 'x'.repeat(LIMITS.textChars + 1);
  assert.equal(validateEvent(input).ok, false);
});

test('spans start and end on character boundaries: a span ending inside a surrogate pair is rejected', () => {
  const text = 'b🇫🇷';
  assert.ok(validateEvent(baseEvent({ kind: 'message', text, spans: [{ type: 'bold', offset: 1, length: 4 }] })).ok);
  for (const span of [{ offset: 0, length: 2 }, { offset: 2, length: 1 }, { offset: 1, length: 1 }]) {
    const r = validateEvent(baseEvent({ kind: 'message', text, spans: [{ type: 'bold', ...span }] }));
    assert.equal(r.ok, false, JSON.stringify(span));
    if (!r.ok) assert.match(r.error, /^spans: .*character boundary/);
  }
});

test('lone surrogates anywhere in an event are rejected with the path; a frozen valid event is accepted again at no cost', () => {
  for (const [event, path] of [
    [baseEvent({ kind: 'message', text: 'a\ud800b' }), 'text'],
    [baseEvent({ kind: 'reaction', target, reactions: ['ok', '\udc00'] }), 'reactions.1'],
    [{ ...baseEvent({ kind: 'typing', state: 'active' }), sender: { network: 'websocket', id: 'alice', name: 'x\ud83d' } }, 'sender.name'],
  ] as const) {
    const r = validateEvent(event);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error, `${path}: contains a lone UTF-16 surrogate: text must be valid Unicode`);
  }
  const ok = validateEvent(baseEvent({ kind: 'message', text: '😀 pairs are fine' }));
  assert.ok(ok.ok);
  if (ok.ok) assert.equal(validateEvent(ok.event).ok, true);
});

test('a validation error names at most five unknown fields, however many there are', () => {
  const extra = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`x${i}`, i]));
  const r = validateEvent({ ...baseEvent({ kind: 'typing', state: 'active' }), ...extra });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error, 'unknown fields "x0", "x1", "x2", "x3", "x4" and 995 more');
    assert.ok(JSON.stringify(r.issues).length < 2_000);
  }
});
