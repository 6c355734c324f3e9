import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalParty, directRoom, isDirectRoom, parseDirectRoom, peerOf, type DirectParty } from '../../src/core/direct.ts';
import { LIMITS } from '../../src/core/event.ts';

const party = fc.record({
  network: fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  id: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
});

test('both sides compute the same key, and the key gives back its two parties', () => {
  fc.assert(fc.property(party, party, (a, b) => {
    const key = directRoom(a, b);
    if (key === undefined) return; // too long together: covered below
    assert.equal(directRoom(b, a), key);
    assert.ok(isDirectRoom(key));
    const parsed = parseDirectRoom(key);
    assert.ok(parsed, key);
    // (An xmpp party comes back in its canonical spelling: see the case test below.)
    const sorted = [a, b].map(canonicalParty).map((p) => `${p.network}\u0000${p.id}`).sort();
    assert.deepEqual(new Set(parsed.map((p) => `${p.network}\u0000${p.id}`)), new Set(sorted));
    const plain = (p: DirectParty): DirectParty => { const c = canonicalParty(p); return { network: c.network, id: c.id }; };
    assert.deepEqual(peerOf(key, a), plain(b));
    assert.deepEqual(peerOf(key, b), plain(a));
  }), { numRuns: 500 });
});

test('two different pairs never share a key (separators and escapes inside ids)', () => {
  const tricky: DirectParty[] = [
    { network: 'xmpp', id: 'a|b' }, { network: 'xmpp', id: 'a' }, { network: 'xmpp', id: 'b' },
    { network: 'xmpp', id: 'a:b' }, { network: 'xmpp', id: 'a%7Cb' }, { network: 'websocket', id: 'xmpp:a' },
    { network: 'websocket', id: 'a@b' }, { network: 'websocket', id: 'a%40b' }, { network: 'x', id: 'y|z:w' },
  ];
  const keys = new Map<string, string>();
  for (const a of tricky) {
    for (const b of tricky) {
      const key = directRoom(a, b) as string;
      const pair = [a, b].map((p) => JSON.stringify(p)).sort().join();
      const seen = keys.get(key);
      assert.ok(seen === undefined || seen === pair, `${key} for ${pair} and ${seen}`);
      keys.set(key, pair);
    }
  }
});

test('the key is readable: networks and ids, sorted, @ kept', () => {
  assert.equal(directRoom({ network: 'xmpp', id: 'alice@example.org' }, { network: 'websocket', id: 'carol' }), 'dm:websocket:carol|xmpp:alice@example.org');
  assert.equal(directRoom({ network: 'xmpp', id: 'a b/c' }, { network: 'mtproto', id: '7' }), 'dm:mtproto:7|xmpp:a%20b%2Fc');
});

test('invalid parties and keys over the room key limit have no direct room', () => {
  const ok = { network: 'websocket', id: 'carol' };
  assert.equal(directRoom({ network: 'Web', id: 'x' }, ok), undefined, 'network in upper case');
  assert.equal(directRoom({ network: 'websocket', id: '' }, ok), undefined, 'empty id');
  assert.equal(directRoom({ network: 'websocket', id: '\ud800' }, ok), undefined, 'lone surrogate');
  const long = { network: 'xmpp', id: `${'a'.repeat(LIMITS.roomChars)}@example.org` };
  assert.equal(directRoom(long, ok), undefined);
  const fits = { network: 'xmpp', id: `${'a'.repeat(LIMITS.roomChars - 'dm:websocket:carol|xmpp:@x'.length)}@x` };
  assert.equal(directRoom(fits, ok)?.length, LIMITS.roomChars);
});

test('keys that are not in canonical form are not direct rooms', () => {
  for (const key of [
    'dm:', 'dm:websocket:carol', 'dm:xmpp:alice@example.org|websocket:carol', 'dm:websocket:carol|xmpp:alice%40example.org',
    'dm:websocket:carol|xmpp:', 'dm:websocket:carol|:x', 'dm:Websocket:carol|xmpp:a@b', 'dm:websocket:carol|xmpp:%E0%A4%A',
    'dm:a:b|c:d|e:f', 'lobby', `dm:websocket:carol|xmpp:${'a'.repeat(300)}`,
  ]) assert.equal(parseDirectRoom(key), undefined, key);
  assert.equal(peerOf('lobby', { network: 'websocket', id: 'carol' }), undefined);
  assert.equal(peerOf('dm:websocket:carol|xmpp:a@b', { network: 'websocket', id: 'dave' }), undefined);
  assert.deepEqual(peerOf('dm:websocket:carol|websocket:carol', { network: 'websocket', id: 'carol' }), { network: 'websocket', id: 'carol' });
});

test('an XMPP address in any case is one party (RFC 7622 case-insensitive); other networks\' ids are exact', () => {
  const carol = { network: 'websocket', id: 'carol' };
  const canonical = directRoom(carol, { network: 'xmpp', id: 'alice@example.org' });
  assert.ok(canonical);
  assert.equal(directRoom(carol, { network: 'xmpp', id: 'Alice@EXAMPLE.org' }), canonical);
  assert.equal(directRoom({ network: 'xmpp', id: 'ALICE@example.org' }, carol), canonical);
  assert.deepEqual(peerOf(canonical, carol), { network: 'xmpp', id: 'alice@example.org' });
  // A key written with another spelling is not the canonical key of anything: not a direct room.
  assert.equal(parseDirectRoom(canonical.replace('alice', 'Alice')), undefined);
  // Token names are exact: two spellings, two people.
  assert.notEqual(directRoom(carol, { network: 'websocket', id: 'Bob' }), directRoom(carol, { network: 'websocket', id: 'bob' }));
  assert.deepEqual(canonicalParty({ network: 'mtproto', id: 'X1' }), { network: 'mtproto', id: 'X1' });
  assert.deepEqual(canonicalParty({ network: 'xmpp', id: 'A\u0301@b.org' }), { network: 'xmpp', id: '\u00e1@b.org' }, 'NFC first, then lower case');
});
