import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import parse from '@xmpp/xml/lib/parse.js';
import { xmlSafe } from '../../src/connectors/xmpp/xml-chars.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { metricValue } from '../websocket/harness.ts';
import { startRoomRig } from './bridge-harness.ts';

test('xmlSafe replaces, one for one, exactly the characters XML 1.0 does not allow', () => {
  assert.deepEqual(xmlSafe('plain\ttab\nline\rcr é 😀 \u{10FFFF}'), { text: 'plain\ttab\nline\rcr é 😀 \u{10FFFF}', replaced: 0 });
  assert.deepEqual(xmlSafe('\u0000a\u0007b\u001b[31m\u000b\u000c\u001f'), { text: '\ufffda\ufffdb\ufffd[31m\ufffd\ufffd\ufffd', replaced: 6 });
  assert.deepEqual(xmlSafe('x\ufffey\uffff'), { text: 'x\ufffdy\ufffd', replaced: 2 });
  assert.deepEqual(xmlSafe('lone \ud83d high, lone \ude00 low, at the end \ud83d'), { text: 'lone \ufffd high, lone \ufffd low, at the end \ufffd', replaced: 3 });
  assert.deepEqual(xmlSafe('\ude00\ud83d'), { text: '\ufffd\ufffd', replaced: 2 }, 'a low half before a high half is no pair');
});

test('property: any text becomes one an XML parser takes, of the same length in code points', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: fc.constantFrom('\u0001', '\ud800', '\udc00', '\uffff', 'a', '😀', '\n'), maxLength: 30 }), (a, b) => {
    const input = a + b;
    const { text } = xmlSafe(input);
    assert.equal(text.length, input.length, 'one UTF-16 unit for one: offsets stay');
    assert.equal(parse(`<body>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</body>`).getText(), text);
  }), { numRuns: 500 });
});

test('a WS message with control characters or U+FFFF (WS refuses half an emoji itself) reaches the MUC with U+FFFD in their place, and the component stream stays up', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t);
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  const connects = await metricValue(bridge.registry, 'switchboard_xmpp_component_connects_total');

  let since = alice.mark();
  const ack = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'bell\u0007 \u001b[31mred\u001b[0m \uffff end', spans: [{ type: 'bold', offset: 0, length: 4 }] } });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  const got = await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol`, 'carol\'s message', { since });
  assert.equal(got.getChildText('body'), '*bell*\ufffd \ufffd[31mred\ufffd[0m \ufffd end');

  // The stream was not dropped (Prosody ends it on a character it cannot parse): the next message goes straight through.
  since = alice.mark();
  await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'after' } });
  await alice.waitFor((el) => el.name === 'message' && el.getChildText('body') === 'after', 'the next message', { since });
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_component_connects_total'), connects, 'no reconnect');
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_outbound_chars_replaced_total'), 4);
});

test('property: arbitrary texts from WS (any code point, controls, emoji, RTL, styling marks) all reach the MUC, in order, on one stream', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t);
  const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  const connects = await metricValue(bridge.registry, 'switchboard_xmpp_component_connects_total');
  const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2_147_483_647);
  const unit = fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }) },
    { weight: 2, arbitrary: fc.constantFrom('\u0000', '\u0007', '\u001b[1m', '\t', '\n', '\r\n', '\r', '\u0085', '\u2028', '\ufeff', '\ufffe', '\uffff', '\u{1fffe}', '\u202e', '\u200d') },
    { weight: 2, arbitrary: fc.constantFrom('*', '_', '~', '`', '```\n', '> ', '😀', '👩‍👩‍👧', '\u{10ffff}', 'e\u0301', 'שלום', '&', '<', ']]>') },
  );
  const texts = fc.sample(fc.array(unit, { minLength: 1, maxLength: 12 }).map((a) => a.join('')).filter((s) => s.trim() !== '' && !/\p{Cs}/u.test(s)), { numRuns: 40, seed });
  for (const [i, text] of texts.entries()) {
    const since = alice.mark();
    const ack = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
    assert.equal(ack.type, 'ack', `seed ${seed} (FUZZ_SEED=${seed} replays it), text ${i} ${JSON.stringify(text)}: ${JSON.stringify(ack)}`);
    const got = await alice.waitFor((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol`, `text ${i} ${JSON.stringify(text)} (seed ${seed})`, { since });
    // As a reader gets it: XML parsers turn line ends into \n (XML 1.0 §2.11). Plain text that would read as styled goes <unstyled/>, as it is.
    const body = got.getChildText('body') ?? '';
    const expected = xmlSafe(text).text.replace(/\r\n?/g, '\n');
    assert.equal(body, expected, `seed ${seed}, text ${i}: sent ${JSON.stringify(text)}`);
  }
  assert.equal(await metricValue(bridge.registry, 'switchboard_xmpp_component_connects_total'), connects, `seed ${seed}: the stream was never dropped`);
});
