import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import jid from '@xmpp/jid';
import parseXml from '@xmpp/xml/lib/parse.js';
import { leftoverOfOurs, MAX_LOCALPART_BYTES, MAX_NICK_CHARS, nickForAttempt, parsePuppetJid, puppetFullJid, puppetJid, puppetLocalpart, puppetNick } from '../../src/connectors/xmpp/puppets.ts';
import { parsePresence } from '../../src/connectors/xmpp/stanza/presence.ts';

const D = 'bridge.example.org';

test('puppet JIDs: readable for plain ids, XEP-0106 escapes, hex for what servers would fold', () => {
  assert.equal(puppetJid({ network: 'websocket', id: 'alice' }, D), 'websocket.alice@bridge.example.org');
  assert.equal(puppetJid({ network: 'mtproto', id: '123456789' }, D), 'mtproto.123456789@bridge.example.org');
  assert.equal(puppetJid({ network: 'websocket', id: 'bob@home' }, D), 'websocket.bob\\40home@bridge.example.org');
  assert.equal(puppetJid({ network: 'websocket', id: "d'artagnan & co" }, D), 'websocket.d\\27artagnan\\20\\26\\20co@bridge.example.org');
  assert.equal(puppetJid({ network: 'websocket', id: 'Alice' }, D), 'websocket.=41lice@bridge.example.org');
  assert.equal(puppetJid({ network: 'websocket', id: 'zoë' }, D), 'websocket.zo=c3=ab@bridge.example.org');
  assert.equal(puppetJid({ network: 'websocket', id: ' x ' }, D), 'websocket.=20x=20@bridge.example.org');
  assert.equal(puppetJid({ network: 'websocket', id: 'a=b\\c' }, D), 'websocket.a=3db=5cc@bridge.example.org');
  assert.equal(puppetFullJid({ network: 'websocket', id: 'alice' }, D), 'websocket.alice@bridge.example.org/switchboard');
  // Case never collides: servers lowercase localparts, the encoding already is lower case.
  assert.notEqual(puppetJid({ network: 'websocket', id: 'Alice' }, D), puppetJid({ network: 'websocket', id: 'alice' }, D));
  assert.throws(() => puppetJid({ network: 'Web Socket', id: 'x' }, D), /network name/);
  assert.throws(() => puppetJid({ network: 'websocket', id: '' }, D), /empty/);
});

test('puppet JIDs: ids too long for a 1023-byte localpart are hashed, stably', () => {
  const long = 'é'.repeat(200); // 200 chars -> 2 x "=xx" each = 1200 bytes encoded
  const local = puppetLocalpart({ network: 'mtproto', id: long });
  assert.match(local, /^mtproto\.=h[0-9a-f]{40}$/);
  assert.equal(puppetLocalpart({ network: 'mtproto', id: long }), local);
  assert.notEqual(puppetLocalpart({ network: 'mtproto', id: `${long}x` }), local);
  assert.notEqual(puppetLocalpart({ network: 'websocket', id: long }).slice(9), local.slice(7));
  assert.deepEqual(parsePuppetJid(`${local}@${D}`, D), { kind: 'hashed', network: 'mtproto', localpart: local });
  // Just under the limit stays readable.
  const fits = 'a'.repeat(MAX_LOCALPART_BYTES - 'mtproto.'.length);
  assert.equal(puppetLocalpart({ network: 'mtproto', id: fits }), `mtproto.${fits}`);
  assert.match(puppetLocalpart({ network: 'mtproto', id: `${fits}a` }), /^mtproto\.=h/);
});

test('property: puppet JIDs are valid, lower case, within limits, and name their sender back (also through a JID parser)', () => {
  const network = fc.constantFrom('websocket', 'mtproto', 'irc-2');
  const id = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '@', '/', ':', '\\', '=', '"', '&', "'", '<', '>', '.', 'é', '😀', '中', '\u0301', '\t'), minLength: 1, maxLength: 80 });
  fc.assert(fc.property(network, id, (net, raw) => {
    const address = puppetJid({ network: net, id: raw }, D);
    const local = address.slice(0, address.lastIndexOf('@'));
    assert.equal(local, local.toLowerCase());
    assert.ok(Buffer.byteLength(local) <= MAX_LOCALPART_BYTES);
    assert.match(local, /^[\x21-\x7e]+$/, 'ASCII only: nothing for a server to normalise');
    const reparsed = jid(address);
    assert.equal(reparsed.domain, D);
    assert.equal(reparsed.local, local);
    assert.deepEqual(parsePuppetJid(address, D), { kind: 'sender', network: net, id: raw });
    assert.deepEqual(parsePuppetJid(`${address}/any-resource`, D), { kind: 'sender', network: net, id: raw });
  }), { numRuns: 2_000 });
});

test('spoofed or foreign puppet addresses are not puppets', () => {
  for (const address of [
    'websocket.alice@other.example.org', // another domain
    'alice@bridge.example.org', // no network
    '.alice@bridge.example.org',
    'w!b.alice@bridge.example.org', // bad network name
    'websocket.=4@bridge.example.org', // broken hex
    'websocket.=e9@bridge.example.org', // not UTF-8
    'websocket.=61@bridge.example.org', // "a" written the long way: not canonical
    'websocket.a=20b@bridge.example.org', // an inner space is written \20, so "=20" inside is not canonical
    'bridge.example.org',
    'websocket.a@@bridge.example.org',
  ]) {
    assert.equal(parsePuppetJid(address, D), undefined, address);
  }
  assert.deepEqual(parsePuppetJid('websocket.x=20@bridge.example.org', D), { kind: 'sender', network: 'websocket', id: 'x ' });
});

test('puppet nicks: the display name, cleaned and bounded; conflicts get a suffix, never fail', () => {
  assert.equal(puppetNick({ network: 'websocket', id: 'alice', name: 'Alice Liddell' }), 'Alice Liddell');
  assert.equal(puppetNick({ network: 'websocket', id: 'alice' }), 'alice');
  assert.equal(puppetNick({ network: 'websocket', id: 'alice', name: '  A\u0000li\u200Bce\n\tL. ' }), 'Alice L.');
  assert.equal(puppetNick({ network: 'websocket', id: 'x', name: 'e\u0301' }), 'é'); // NFC
  assert.equal(puppetNick({ network: 'websocket', id: '\u0000', name: '\u0001' }), 'websocket');
  const long = puppetNick({ network: 'websocket', id: 'x', name: 'ж'.repeat(100) });
  assert.equal(Array.from(long).length, MAX_NICK_CHARS);
  // What Prosody's MUC refuses (strict resourceprep on Unicode 3.2, checked against a real Prosody in
  // nick-prep.test.ts) is left out: emoji, private use, U+FFFD, bidi controls, letters of the other direction.
  assert.equal(puppetNick({ network: 'websocket', id: 'x', name: 'Anna 🌸' }), 'Anna');
  assert.equal(puppetNick({ network: 'websocket', id: 'x', name: '😀'.repeat(100) }), 'x', 'a name of emoji only: the id');
  assert.equal(puppetNick({ network: 'websocket', id: 'x', name: '\uf8ff Apple \ufffd' }), 'Apple');
  assert.equal(puppetNick({ network: 'websocket', id: 'x', name: 'Dana דנה' }), 'Dana');
  assert.equal(puppetNick({ network: 'websocket', id: 'x', name: 'דנה Dana (tg)' }), 'דנה');
  assert.equal(puppetNick({ network: 'websocket', id: 'x', name: '\u202eEvil' }), 'Evil');
  assert.equal(puppetNick({ network: 'websocket', id: 'x', name: 'ℌello\u00a0Ⅻ' }), 'Hello XII', 'NFKC, as the server would make it');
  assert.equal(nickForAttempt('Alice', 'websocket', 0), 'Alice');
  assert.equal(nickForAttempt('Alice', 'websocket', 1), 'Alice (websocket)');
  assert.equal(nickForAttempt('Alice', 'websocket', 2), 'Alice (2)');
  assert.equal(nickForAttempt('Alice', 'websocket', 7), 'Alice (7)');
  assert.equal(nickForAttempt('דנה', 'websocket', 1), 'websocket (1)', 'nothing may follow a right-to-left name');
  assert.equal(nickForAttempt('דנה', 'websocket', 2), 'websocket (2)');
  const bounded = nickForAttempt('ж'.repeat(MAX_NICK_CHARS), 'websocket', 3);
  assert.equal(Array.from(bounded).length, MAX_NICK_CHARS);
  assert.ok(bounded.endsWith(' (3)'));
  const nicks = new Set(Array.from({ length: 50 }, (_, i) => nickForAttempt('Alice', 'websocket', i)));
  assert.equal(nicks.size, 50);
});

test('an occupant that is one of our addresses but not held by us (left over from an earlier stream) is never news; a puppet\'s ghost is made to leave', () => {
  const presence = (jidAttr: string | undefined, type = '') => parsePresence(parseXml(`<presence from='lobby@muc.example.org/Anna' to='bridge.example.org/relay'${type}><x xmlns='http://jabber.org/protocol/muc#user'><item affiliation='none' role='participant'${jidAttr !== undefined ? ` jid='${jidAttr}'` : ''}/></x></presence>`));
  const ghost = leftoverOfOurs(presence('websocket.anna@bridge.example.org/switchboard'), D);
  assert.equal(ghost?.leave?.toString(), `<presence from="websocket.anna@bridge.example.org/switchboard" to="lobby@muc.example.org/Anna" type="unavailable"/>`);
  assert.deepEqual(leftoverOfOurs(presence('websocket.anna@Bridge.Example.org/switchboard', " type='unavailable'"), D), {}, 'leaving already: nothing to send');
  assert.deepEqual(leftoverOfOurs(presence('bridge.example.org/relay'), D), {}, 'the relay of an earlier stream: not news, nothing to send');
  assert.equal(leftoverOfOurs(presence('anna@example.org/phone'), D), undefined, 'a person of XMPP');
  assert.equal(leftoverOfOurs(presence(undefined), D), undefined, 'the room does not show real JIDs');
  assert.equal(leftoverOfOurs(presence('not a jid@@'), D), undefined);
});
