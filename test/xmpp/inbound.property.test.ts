// XMPP -> canonical for any message a peer can send: every XEP element the connector reads, in any
// combination, with any attribute values (ids empty or oversized, fallback ranges outside the body,
// stamps that are not dates, links that are not http, bodies past the canonical limit). What comes
// out is either an event that validates (so it is published, never dropped at the bus) or one of
// the named reasons; nothing throws. fast-check prints the seed and the shrunk stanza on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import xml, { type Element } from '@xmpp/xml';
import parse from '@xmpp/xml/lib/parse.js';
import { LIMITS, validateEvent, type Attachment } from '../../src/core/event.ts';
import { newEventId, type EventId } from '../../src/core/ids.ts';
import { parseMessage } from '../../src/connectors/xmpp/stanza/message-in.ts';
import { parsePresence } from '../../src/connectors/xmpp/stanza/presence.ts';
import { messageToEvent, type ResolveReference } from '../../src/connectors/xmpp/inbound.ts';
import { NS } from '../../src/connectors/xmpp/ns.ts';

const ROOM = 'lobby@conference.localhost';
const COMPONENT = 'bridge.localhost';

/** Text pieces that stress offsets: astral characters, combining marks, ZWJ sequences, styling directives, URLs. */
const piece = fc.constantFrom('a', 'Z', 'é', 'e\u0301', '😀', '👩‍👩‍👧', '\u{1D54F}', '中', ' ', '\n', '*', '_', '~', '`', '```', '> ', '\\',
  'http://example.org/a.png', 'https://x.test/é');
const text = fc.array(piece, { maxLength: 40 }).map((a) => a.join(''));
/** A body at the canonical limit's edge: a surrogate pair across position 65,536, or plain text past it. */
const longBody = fc.constantFrom(
  `${'a'.repeat(LIMITS.textChars - 1)}😀tail`,
  `*${'b'.repeat(LIMITS.textChars)}*`,
  `${'😀'.repeat(LIMITS.textChars / 2 + 3)}`,
);
const body = fc.oneof({ weight: 8, arbitrary: text }, { weight: 1, arbitrary: longBody });
/** Ids a peer may send: ordinary, empty, at and over the canonical limit, odd characters. */
const nativeId = fc.oneof(
  fc.constantFrom('m1', 'm2', '', 'x'.repeat(LIMITS.idChars), 'x'.repeat(LIMITS.idChars + 1), '💥', ' '),
  fc.string({ maxLength: 12 }),
);
const offset = fc.oneof(fc.nat({ max: 50 }), fc.constantFrom('-1', '1.5', 'x', '', '99999999999999999999'));
const url = fc.constantFrom('https://example.org/a.png', 'http://example.org/b', 'ftp://example.org/c', 'javascript:alert(1)', '', ' https://example.org/s ',
  `https://example.org/${'l'.repeat(LIMITS.urlChars)}`);
const stamp = fc.constantFrom('2026-12-05T08:00:00Z', '2026-12-05T08:00:00.123+01:00', 'yesterday', '2026-13-45T99:99:99Z', '');

/** One child element the connector reads, with arbitrary contents. */
const child: fc.Arbitrary<Element> = fc.oneof(
  nativeId.map((id) => xml('origin-id', { xmlns: NS.sid, id })),
  fc.tuple(nativeId, fc.constantFrom(ROOM, COMPONENT, 'elsewhere.test')).map(([id, by]) => xml('stanza-id', { xmlns: NS.sid, id, by })),
  nativeId.map((id) => xml('replace', { xmlns: NS.correction, id })),
  nativeId.map((id) => xml('retract', { xmlns: NS.retract, id })),
  nativeId.map((id) => xml('apply-to', { xmlns: NS.fasten, id }, xml('retract', { xmlns: NS.retractLegacy }))),
  fc.tuple(nativeId, fc.array(fc.oneof(text, fc.constant('👍'), fc.constant('x'.repeat(LIMITS.reactionChars + 1))), { maxLength: 70 }))
    .map(([id, emojis]) => xml('reactions', { xmlns: NS.reactions, id }, ...emojis.map((e) => xml('reaction', {}, e)))),
  fc.tuple(nativeId, fc.option(fc.constantFrom(`${ROOM}/Alice`, 'not a jid'))).map(([id, to]) => xml('reply', { xmlns: NS.reply, id, ...(to !== null ? { to } : {}) })),
  fc.tuple(fc.option(fc.constantFrom(NS.reply, NS.reactions, NS.retract, 'urn:other')), fc.array(fc.tuple(fc.option(offset), fc.option(offset)), { maxLength: 3 }))
    .map(([forNs, ranges]) => xml('fallback', { xmlns: NS.fallback, ...(forNs !== null ? { for: forNs } : {}) },
      ...ranges.map(([start, end]) => xml('body', { ...(start !== null ? { start: String(start) } : {}), ...(end !== null ? { end: String(end) } : {}) })))),
  fc.tuple(url, fc.option(text)).map(([u, desc]) => xml('x', { xmlns: NS.oob }, xml('url', {}, u), ...(desc !== null ? [xml('desc', {}, desc)] : []))),
  fc.constant(xml('unstyled', { xmlns: NS.styling })),
  fc.constant(xml('request', { xmlns: NS.receipts })),
  nativeId.map((id) => xml('received', { xmlns: NS.receipts, id })),
  fc.constant(xml('markable', { xmlns: NS.markers })),
  fc.tuple(fc.constantFrom('received', 'displayed', 'acknowledged'), nativeId).map(([m, id]) => xml(m, { xmlns: NS.markers, id })),
  fc.constantFrom('active', 'composing', 'paused', 'inactive', 'gone').map((s) => xml(s, { xmlns: NS.chatStates })),
  stamp.map((s) => xml('delay', { xmlns: NS.delay, stamp: s })),
  nativeId.map((id) => xml('occupant-id', { xmlns: NS.occupantId, id })),
  text.map((n) => xml('nick', { xmlns: NS.nick }, n)),
  fc.constant(xml('error', { type: 'cancel' }, xml('item-not-found', { xmlns: NS.stanzas }))),
);

const stanza = fc.record({
  type: fc.constantFrom('groupchat', 'chat', 'normal', 'headline', 'error', 'bogus'),
  id: fc.option(nativeId),
  body: fc.option(body),
  children: fc.array(child, { maxLength: 6 }),
}).map(({ type, id, body: b, children }) => xml('message', { from: `${ROOM}/Alice`, to: `relay@${COMPONENT}`, type, ...(id !== null ? { id } : {}) },
  ...(b !== null ? [xml('body', {}, b)] : []), ...children))
  // fast-check shows a counterexample by this: a 64K body is cut, so a failure stays readable.
  .map((el) => Object.assign(el, { [fc.toStringMethod]: () => { const s = el.toString(); return s.length > 600 ? `${s.slice(0, 300)}…(${s.length} chars)…${s.slice(-300)}` : s; } }));

const TARGET: EventId = newEventId(1_700_000_000_000);
const ATTACHMENT: Attachment = { id: 'f1', name: 'a.png', mime: 'image/png', size: 3, sha256: 'a'.repeat(64), url: 'https://media.test/f1' };

test('property: any message stanza becomes a valid canonical event or a named reason, never an error', async () => {
  await fc.assert(fc.asyncProperty(stanza, fc.boolean(), fc.boolean(), fc.boolean(), async (el, known, fetchedAll, receipts) => {
    // As it arrives: serialised and parsed again (escaping, text nodes joined).
    const msg = parseMessage(parse(el.toString()), { componentDomain: COMPONENT });
    // Every id the peer names is known (or none is); links are fetched into the store (or none is).
    const resolve: ResolveReference = async () => (known ? TARGET : undefined);
    const fetched = new Set(fetchedAll ? msg.oob.map((l) => l.url) : []);
    const media = { attachments: [...fetched].map(() => ATTACHMENT), fetched };
    const built = await messageToEvent(msg, { room: 'lobby', sender: { network: 'xmpp', id: 'alice@localhost' }, origin: { connector: 'xmpp', endpoint: ROOM } },
      resolve, media, { receipts });
    if (typeof built === 'string') {
      assert.ok(built.length > 0);
      // A plain message with words in it is never turned away.
      if (msg.body !== undefined && msg.body.trim().length > 0 && !msg.retract && !msg.reactions && !msg.replaces) {
        assert.fail(`a message with text was not bridged: ${built}`);
      }
      return;
    }
    const checked = validateEvent(built);
    assert.ok(checked.ok, `builds an invalid event (${checked.ok ? '' : checked.error})`);
    if (built.kind === 'message' || built.kind === 'edit') {
      assert.ok(!endsInHalfACharacter(built.text), 'a text cut at the limit keeps whole characters (no lone high surrogate at its end)');
    }
  }), { numRuns: 3_000 });
});

/** Ends in the first half of a surrogate pair: what a cut in the wrong place leaves. */
function endsInHalfACharacter(s: string | undefined): boolean {
  if (s === undefined || s.length === 0) return false;
  const last = s.charCodeAt(s.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
}

/** Text around a limit: the pair of an emoji across it, or shorter. */
const nearLimit = (max: number) => fc.oneof(text, fc.constantFrom(`${'s'.repeat(max - 1)}😀`, `${'😀'.repeat(max)}`, `${'s'.repeat(max + 10)}`));

test('property: any presence stanza parses within the canonical limits, never cutting a character in half', () => {
  const presence = fc.record({
    type: fc.option(fc.constantFrom('unavailable', 'subscribe', 'probe', 'error', 'bogus')),
    show: fc.option(fc.constantFrom('away', 'chat', 'dnd', 'xa', 'sleeping', '')),
    status: fc.option(nearLimit(LIMITS.statusChars)),
    priority: fc.option(fc.constantFrom('0', '-128', '128', 'x', '1.5')),
    nick: fc.option(nearLimit(LIMITS.nameChars)),
    reason: fc.option(nearLimit(LIMITS.statusChars)),
    codes: fc.array(fc.constantFrom('110', '303', '307', '99', 'x', '1000'), { maxLength: 4 }),
  }).map((p) => xml('presence', { from: `${ROOM}/Alice`, to: `relay@${COMPONENT}`, ...(p.type !== null ? { type: p.type } : {}) },
    ...(p.show !== null ? [xml('show', {}, p.show)] : []),
    ...(p.status !== null ? [xml('status', {}, p.status)] : []),
    ...(p.priority !== null ? [xml('priority', {}, p.priority)] : []),
    ...(p.nick !== null ? [xml('nick', { xmlns: NS.nick }, p.nick)] : []),
    xml('x', { xmlns: NS.mucUser }, xml('item', { affiliation: 'member', role: 'participant' }, ...(p.reason !== null ? [xml('reason', {}, p.reason)] : [])),
      ...p.codes.map((code) => xml('status', { code })))));
  fc.assert(fc.property(presence, (el) => {
    const p = parsePresence(parse(el.toString()));
    assert.ok((p.status?.length ?? 0) <= LIMITS.statusChars && (p.nick?.length ?? 0) <= LIMITS.nameChars && (p.muc?.reason?.length ?? 0) <= LIMITS.statusChars);
    for (const s of [p.status, p.nick, p.muc?.reason]) assert.ok(!endsInHalfACharacter(s), 'cut inside a character');
    assert.ok(p.priority === undefined || (p.priority >= -128 && p.priority <= 127));
    assert.ok(p.muc?.codes.every((c) => c >= 100 && c <= 999));
  }), { numRuns: 500 });
});
