import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/router/router.ts';
import type { Bridge } from '../../src/core/endpoint.ts';
import { newEventId } from '../../src/core/ids.ts';
import type { CanonicalEvent } from '../../src/core/event.ts';
import { directRoom } from '../../src/core/direct.ts';
import { IGNORE_SCAN_CHARS, IgnoreMatcher, patternProblem, type IgnoredBy } from '../../src/core/ignore.ts';

/** bridges/ `ignore:` in the router: what a room keeps from the other networks, and what it does not. */

const LOBBY = 'lobby@conference.example.org';

function table(ignore?: Bridge['ignore']): Bridge[] {
  return [
    { room: 'lobby', source: 'bridges/lobby.yaml', endpoints: [
      { connector: 'websocket', address: 'lobby' },
      { connector: 'xmpp', address: LOBBY },
      { connector: 'mtproto', address: '-100' },
    ], ...(ignore === undefined ? {} : { ignore }) },
    { room: 'ops', source: 'bridges/ops.yaml', endpoints: [{ connector: 'websocket', address: 'ops' }, { connector: 'xmpp', address: 'ops@conference.example.org' }] },
  ];
}

const RULES = {
  senders: [{ network: 'xmpp', id: 'HelpBot@Example.org' }, { network: 'websocket', id: 'ci' }, { network: 'xmpp', id: `${LOBBY}/Anon` }],
  messages: ['^!', '(?i)\\bbuy now\\b'],
};

type Draft = { kind: 'message' | 'edit' | 'typing' | 'reaction' | 'retract'; text?: string };

function event(connector: string, endpoint: string, senderId: string, draft: Draft, room = 'lobby'): CanonicalEvent {
  const base = { v: 1 as const, id: newEventId(), ts: 0, room, sender: { network: connector, id: senderId }, origin: { connector, endpoint } };
  switch (draft.kind) {
    case 'message': return { ...base, kind: 'message', text: draft.text ?? 'hi' };
    case 'edit': return { ...base, kind: 'edit', target: newEventId(), text: draft.text ?? 'hi' };
    case 'typing': return { ...base, kind: 'typing', state: 'active' };
    case 'reaction': return { ...base, kind: 'reaction', target: newEventId(), reactions: ['👍'] };
    case 'retract': return { ...base, kind: 'retract', target: newEventId() };
  }
}

const fromXmpp = (sender: string, draft: Draft, room?: string) => event('xmpp', room === 'ops' ? 'ops@conference.example.org' : LOBBY, sender, draft, room);
const fromWs = (sender: string, draft: Draft) => event('websocket', 'lobby', sender, draft);
const targets = (router: Router, e: CanonicalEvent, seen?: IgnoredBy[]) => router.route(e, seen === undefined ? undefined : (rule) => seen.push(rule)).map((t) => t.connector);

test('a matching message or edit goes to no other network; one that does not match goes everywhere', () => {
  const router = new Router(table(RULES), { hostedConnectors: ['websocket', 'mtproto'] });
  const seen: IgnoredBy[] = [];
  assert.deepEqual(targets(router, fromXmpp('alice@example.org', { kind: 'message', text: '!ping' }), seen), []);
  assert.deepEqual(targets(router, fromXmpp('alice@example.org', { kind: 'message', text: 'Please BUY NOW' }), seen), []);
  assert.deepEqual(targets(router, fromXmpp('alice@example.org', { kind: 'edit', text: '!help' }), seen), []);
  assert.deepEqual(seen, ['message', 'message', 'message']);
  // Not a match: "buy nowhere" (word boundary), "!" later in the line, an ordinary line; each once, nothing counted.
  for (const text of ['buy nowhere', 'hello!', 'hello']) {
    assert.deepEqual(targets(router, fromXmpp('alice@example.org', { kind: 'message', text }), seen), ['websocket', 'mtproto'], text);
  }
  assert.deepEqual(targets(router, fromXmpp('alice@example.org', { kind: 'edit', text: 'fixed' }), seen), ['websocket', 'mtproto']);
  assert.equal(seen.length, 3);
});

test('a matching event from a hosted connector is still shown where it was said, and nowhere else', () => {
  const router = new Router(table(RULES), { hostedConnectors: ['websocket', 'mtproto'] });
  assert.deepEqual(router.route(fromWs('alice', { kind: 'message', text: '!ping' })), [{ connector: 'websocket', address: 'lobby' }]);
  assert.deepEqual(router.route(event('mtproto', '-100', '42', { kind: 'message', text: '!ping' })), [{ connector: 'mtproto', address: '-100' }]);
  // Not hosted (an XMPP room shows it itself): no target at all.
  assert.deepEqual(new Router(table(RULES)).route(fromWs('alice', { kind: 'message', text: '!ping' })), []);
});

test('everything an ignored sender does stays where it was done: messages, edits, reactions, retractions, typing', () => {
  const router = new Router(table(RULES), { hostedConnectors: ['websocket'] });
  const seen: IgnoredBy[] = [];
  for (const kind of ['message', 'edit', 'reaction', 'retract', 'typing'] as const) {
    // An XMPP sender is its bare JID (the room tells the bridge real JIDs): compared case-insensitively, as XMPP addresses are.
    assert.deepEqual(targets(router, fromXmpp('helpbot@example.org', { kind }), seen), [], kind);
    assert.deepEqual(targets(router, fromXmpp('HELPBOT@example.ORG', { kind }), seen), [], `${kind}, spelt otherwise`);
    assert.deepEqual(targets(router, fromWs('ci', { kind }), seen), ['websocket'], `${kind} from ws`);
  }
  assert.equal(seen.length, 15);
  assert.ok(seen.every((rule) => rule === 'sender'));
  // An anonymous occupant is named by room/nick: the nick is compared as written.
  assert.deepEqual(targets(router, fromXmpp(`${LOBBY}/Anon`, { kind: 'message' })), []);
  assert.deepEqual(targets(router, fromXmpp(`${LOBBY}/anon`, { kind: 'message' })), ['websocket', 'mtproto']);
  // Same id on another network is someone else; so is another account on the same network.
  assert.deepEqual(targets(router, event('mtproto', '-100', 'ci', { kind: 'message' })), ['websocket', 'xmpp']);
  assert.deepEqual(targets(router, fromWs('alice', { kind: 'typing' })), ['websocket', 'xmpp', 'mtproto']);
});

test('rules are per room: another room, and direct chats, route as before', () => {
  const router = new Router(table(RULES), { hostedConnectors: ['websocket'] });
  assert.deepEqual(targets(router, fromXmpp('helpbot@example.org', { kind: 'message', text: '!ping' }, 'ops')), ['websocket']);
  const dm = directRoom({ network: 'websocket', id: 'ci' }, { network: 'xmpp', id: 'bob@example.org' })!;
  const direct: CanonicalEvent = { v: 1, id: newEventId(), ts: 0, room: dm, kind: 'message', text: '!ping', sender: { network: 'websocket', id: 'ci' }, origin: { connector: 'websocket', endpoint: 'ci' } };
  assert.deepEqual(targets(router, direct), ['xmpp', 'websocket']);
});

test('config.yaml\'s senders (directIgnore) keep their direct chats on their own network; its patterns, and rooms\' rules, leave direct chats alone; a reload replaces them', () => {
  const router = new Router(table(RULES), { hostedConnectors: ['websocket'], directIgnore: RULES });
  const dm = (from: { network: string; id: string }, to: { network: string; id: string }, text: string): CanonicalEvent => ({
    v: 1, id: newEventId(), ts: 0, room: directRoom(from, to)!, kind: 'message', text, sender: from, origin: { connector: from.network, endpoint: from.id },
  });
  const ci = { network: 'websocket', id: 'ci' };
  const helpbot = { network: 'xmpp', id: 'helpbot@example.org' };
  const seen: IgnoredBy[] = [];
  // A WS token named there: its own sessions see it, the XMPP person does not.
  assert.deepEqual(targets(router, dm(ci, { network: 'xmpp', id: 'bob@example.org' }, 'hi'), seen), ['websocket']);
  // An XMPP account named there (the bare JID compared case-insensitively, as in rooms): no one.
  assert.deepEqual(targets(router, dm(helpbot, { network: 'websocket', id: 'carol' }, 'spam'), seen), []);
  assert.deepEqual(seen, ['sender', 'sender']);
  // Between two WS tokens the chat never leaves WebSocket: it goes as ever.
  assert.deepEqual(targets(router, dm(ci, { network: 'websocket', id: 'dave' }, 'hi')), ['websocket', 'websocket']);
  // Patterns are about rooms: a `!` to a bot's puppet is a bot's direct chat.
  assert.deepEqual(targets(router, dm({ network: 'xmpp', id: 'bob@example.org' }, { network: 'websocket', id: 'carol' }, '!help')), ['websocket']);
  // Rooms' own rules do not reach direct chats (RULES as a bridge's rules only, above: as before).
  router.replaceDirectIgnore(undefined);
  assert.deepEqual(targets(router, dm(helpbot, { network: 'websocket', id: 'carol' }, 'spam')), ['websocket']);
  router.replaceDirectIgnore({ senders: [helpbot], messages: [] });
  assert.deepEqual(targets(router, dm(helpbot, { network: 'websocket', id: 'carol' }, 'spam')), []);
  assert.deepEqual(targets(router, dm(ci, { network: 'xmpp', id: 'bob@example.org' }, 'hi')), ['xmpp', 'websocket']);
});

test('a receive-only origin sends nothing anywhere, rules or not; a send-only hosted origin keeps its own', () => {
  const directed: Bridge[] = [{ room: 'lobby', source: 'bridges/lobby.yaml', ignore: RULES, endpoints: [
    { connector: 'websocket', address: 'desk', direction: 'send-only' },
    { connector: 'websocket', address: 'readers', direction: 'receive-only' },
    { connector: 'xmpp', address: LOBBY },
  ] }];
  const router = new Router(directed, { hostedConnectors: ['websocket'] });
  const from = (address: string, text: string) => event('websocket', address, 'alice', { kind: 'message', text });
  assert.deepEqual(router.route(from('readers', '!ping')), []);
  assert.deepEqual(router.route(from('desk', '!ping')), [{ connector: 'websocket', address: 'desk' }]);
  assert.deepEqual(router.route(from('desk', 'news')).map((t) => t.address), ['desk', 'readers', LOBBY]);
});

test('a reload puts new rules in force whole, and takes them away', () => {
  const router = new Router(table(), { hostedConnectors: ['websocket'] });
  const ping = () => targets(router, fromXmpp('alice@example.org', { kind: 'message', text: '!ping' }));
  assert.deepEqual(ping(), ['websocket', 'mtproto']);
  router.replaceBridges(table(RULES));
  assert.deepEqual(ping(), []);
  router.replaceBridges(table({ senders: [], messages: [] }));
  assert.deepEqual(ping(), ['websocket', 'mtproto']);
  // A pattern that does not compile is refused whole (the loader names its line first): the rules in force stay.
  router.replaceBridges(table(RULES));
  assert.throws(() => router.replaceBridges(table({ senders: [], messages: ['(unclosed'] })), /missing closing \)/);
  assert.deepEqual(ping(), []);
});

test('patterns are RE2: linear in the text, (?i) for case, no backreferences or lookarounds', () => {
  assert.equal(patternProblem('^!'), undefined);
  assert.equal(patternProblem('(?i)spam|scam'), undefined);
  assert.match(patternProblem('(a)\\1') ?? '', /invalid escape sequence/);
  assert.match(patternProblem('(?=x)') ?? '', /invalid or unsupported Perl syntax/);
  assert.match(patternProblem('[') ?? '', /missing closing \]/);
  // A pattern that backtracks catastrophically in a backtracking engine is just a pattern here.
  const evil = new IgnoreMatcher({ senders: [], messages: ['(a+)+$', '.*.*.*=.*'] });
  const probe = (text: string): CanonicalEvent => ({ v: 1, id: newEventId(), ts: 0, room: 'lobby', kind: 'message', text, sender: { network: 'websocket', id: 'x' }, origin: { connector: 'websocket', endpoint: 'lobby' } });
  const started = process.hrtime.bigint();
  assert.equal(evil.match(probe(`${'a'.repeat(40)}b`)), undefined);
  assert.equal(evil.match(probe('x'.repeat(65_536))), undefined);
  // Generous: a backtracking engine takes minutes on the first input; this is about a millisecond.
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
  assert.equal(evil.match(probe('aaaa')), 'message');
  // A room's patterns run as one alternation: each one's flags stay its own; ^ is the text's start ((?m) for lines).
  const scoped = new IgnoreMatcher({ senders: [], messages: ['(?i)spam', 'Ham', '^!'] });
  assert.deepEqual(['SPAM', 'HAM', 'Ham', 'a !b', 'hello\n!cmd', '!cmd'].map((t) => scoped.match(probe(t)) ?? '-'), ['message', '-', 'message', '-', '-', 'message']);
});

test(`patterns see a text's first ${IGNORE_SCAN_CHARS} characters`, () => {
  const matcher = new IgnoreMatcher({ senders: [], messages: ['needle'] });
  const probe = (text: string): CanonicalEvent => ({ v: 1, id: newEventId(), ts: 0, room: 'lobby', kind: 'message', text, sender: { network: 'websocket', id: 'x' }, origin: { connector: 'websocket', endpoint: 'lobby' } });
  assert.equal(matcher.match(probe(`${'x'.repeat(IGNORE_SCAN_CHARS - 6)}needle`)), 'message');
  assert.equal(matcher.match(probe(`${'x'.repeat(IGNORE_SCAN_CHARS - 5)}needle`)), undefined);
  // Attachments-only messages have no text to match; topics are not messages.
  assert.equal(new IgnoreMatcher({ senders: [], messages: ['.*'] }).match({ ...probe('x'), kind: 'topic', text: 'x' }), undefined);
});

test('a room remembers the pattern verdicts of its newest events by id (replays and history pages ask again), boundedly; 0 remembers none', () => {
  const probe = (id: ReturnType<typeof newEventId>, text: string): CanonicalEvent => ({ v: 1, id, ts: 0, room: 'lobby', kind: 'message', text, sender: { network: 'websocket', id: 'x' }, origin: { connector: 'websocket', endpoint: 'lobby' } });
  const [a, b, c] = [newEventId(), newEventId(), newEventId()];
  const matcher = new IgnoreMatcher({ senders: [], messages: ['^!'] }, 2);
  assert.equal(matcher.match(probe(a, '!one')), 'message');
  // The same id asked again is answered from memory (an id always names the same text; this one says otherwise to show it).
  assert.equal(matcher.match(probe(a, 'plain')), 'message');
  assert.equal(matcher.match(probe(b, 'two')), undefined);
  assert.equal(matcher.match(probe(c, 'three')), undefined);
  // Two remembered at most: a's verdict was the oldest, so it is worked out again.
  assert.equal(matcher.match(probe(a, 'plain')), undefined);
  const forgetful = new IgnoreMatcher({ senders: [], messages: ['^!'] }, 0);
  assert.equal(forgetful.match(probe(a, '!one')), 'message');
  assert.equal(forgetful.match(probe(a, 'plain')), undefined);
});
