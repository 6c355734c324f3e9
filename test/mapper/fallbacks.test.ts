import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateEvent } from '../../src/core/event.ts';
import { hintsOf } from '../../src/mapper/types.ts';
import { BARE, FULL, MT, Rig, WS, XMPP, delivery, event } from './harness.ts';

/** Every capability a target lacks gets its readable fallback, or a counted drop: never silence. */

function textOf(d: { event: { kind: string } & Record<string, unknown> }): string {
  assert.equal(d.event.kind, 'message');
  return d.event['text'] as string;
}

test('a target with everything gets every kind as it is, with an identity hint and no degrade count', async () => {
  const rig = new Rig('websocket', FULL);
  const original = event('message', { text: 'hello *there*', spans: [{ type: 'bold', offset: 6, length: 7 }] }, XMPP, 'carol@example.org', 'Carol');
  const kinds = [
    original,
    event('edit', { target: original.id, text: 'hello again' }, XMPP, 'carol@example.org'),
    event('reaction', { target: original.id, reactions: ['👍'] }, XMPP, 'dave@example.org'),
    event('message', { text: 'a reply', replyTo: original.id, thread: original.id }, XMPP, 'dave@example.org'),
    event('receipt', { target: original.id, receipt: 'displayed' }, XMPP, 'dave@example.org'),
    event('retract', { target: original.id }, XMPP, 'carol@example.org'),
    event('topic', { text: 'release day' }, XMPP, 'carol@example.org'),
  ];
  const out = await rig.batch(...kinds.map((e) => delivery(e, WS)));
  assert.deepEqual(out.map((d) => d.event), kinds, 'the very same events, in order');
  assert.equal(hintsOf(out[0]!)?.identity.displayName, 'Carol (xmpp)');
  assert.equal(hintsOf(out[0]!)?.degraded, undefined);
  const metric = await rig.registry.getSingleMetric('switchboard_mapper_degraded_total')?.get();
  assert.deepEqual(metric?.values, []);
});

test('an edit where the target has no corrections becomes "✎ corrected:" quoting what it corrects', async () => {
  const rig = new Rig('xmpp', BARE);
  const original = event('message', { text: 'the meeting is at 10' }, WS, 'demo-bob', 'Bob');
  const edit = event('edit', { target: original.id, text: 'the meeting is at 11' }, WS, 'demo-bob', 'Bob');
  const out = await rig.batch(delivery(original, XMPP), delivery(edit, XMPP));
  assert.equal(out.length, 2);
  assert.equal(out[1]!.event.id, edit.id, 'same canonical id');
  assert.equal(textOf(out[1]!), '> Bob (websocket): the meeting is at 10\n✎ corrected: the meeting is at 11');
  assert.deepEqual(hintsOf(out[1]!)?.degraded, ['edit:as_message']);
  assert.ok(validateEvent(out[1]!.event).ok);
  assert.equal(await rig.degraded('edit', 'as_message'), 1);

  // An edit of a message the mapper never saw still reads well, without a quote.
  const orphan = event('edit', { target: event('message', { text: 'x' }).id, text: 'fixed' }, WS, 'demo-bob', 'Bob');
  const [alone] = await rig.batch(delivery(orphan, XMPP));
  assert.equal(textOf(alone!), '↪ in reply to an earlier message\n✎ corrected: fixed');
});

test('with replies but no corrections, the "corrected:" message replies to the original instead of quoting it', async () => {
  const rig = new Rig('xmpp', { ...BARE, replies: true });
  const original = event('message', { text: 'teh typo' }, WS, 'demo-bob');
  const edit = event('edit', { target: original.id, text: 'the typo' }, WS, 'demo-bob');
  const out = await rig.batch(delivery(original, XMPP), delivery(edit, XMPP));
  assert.equal(textOf(out[1]!), '✎ corrected: the typo');
  assert.equal(out[1]!.event.kind === 'message' && out[1]!.event.replyTo, original.id);
});

test('a reply where the target has no replies quotes the start of the original (a quote span where quotes render)', async () => {
  const plainRig = new Rig('xmpp', { ...BARE, maxTextLength: 4096 });
  const long = 'a'.repeat(50) + ' ' + 'b'.repeat(60) + ' and the end';
  const original = event('message', { text: long }, MT, '42', 'Eve');
  const reply = event('message', { text: 'agreed', replyTo: original.id }, WS, 'demo-bob');
  const out = await plainRig.batch(delivery(original, XMPP), delivery(reply, XMPP));
  const text = textOf(out.at(-1)!);
  assert.match(text, /^> Eve \(mtproto\): a{50} b+…\nagreed$/);
  assert.equal((out.at(-1)!.event as { replyTo?: string }).replyTo, undefined, 'the reply reference is gone: the quote carries it');

  const quoteRig = new Rig('xmpp', { ...BARE, formatting: ['quote'], maxTextLength: 4096 });
  const out2 = await quoteRig.batch(delivery(original, XMPP), delivery(reply, XMPP));
  const mapped = out2.at(-1)!.event as { text: string; spans?: { type: string; offset: number; length: number }[] };
  assert.ok(mapped.text.startsWith('Eve (mtproto): '));
  assert.deepEqual(mapped.spans, [{ type: 'quote', offset: 0, length: mapped.text.indexOf('\n') }]);
});

test('a thread where the target has no threads becomes a reply to the thread root; with no replies either, a quote', async () => {
  const rig = new Rig('mtproto', { ...FULL, threads: false });
  const root = event('message', { text: 'root' }, WS, 'demo-bob');
  const inThread = event('message', { text: 'in thread', thread: root.id }, WS, 'demo-bob');
  const [, mapped] = await rig.batch(delivery(root, MT), delivery(inThread, MT));
  assert.equal((mapped!.event as { replyTo?: string }).replyTo, root.id);
  assert.equal((mapped!.event as { thread?: string }).thread, undefined);
  assert.equal(await rig.degraded('message', 'thread_as_reply'), 1);

  const bare = new Rig('xmpp', BARE);
  const [, quoted] = await bare.batch(delivery(root, XMPP), delivery(inThread, XMPP));
  assert.equal(textOf(quoted!), '> demo-bob (websocket): root\nin thread');
});

test('a reaction where the target has none becomes `reacted 👍 to "…"`; taking it back is dropped, counted', async () => {
  const rig = new Rig('xmpp', BARE);
  const original = event('message', { text: 'lunch?' }, WS, 'demo-bob');
  const react = event('reaction', { target: original.id, reactions: ['👍', '🍕'] }, WS, 'demo-carol');
  const unreact = event('reaction', { target: original.id, reactions: [] }, WS, 'demo-carol');
  const out = await rig.batch(delivery(original, XMPP), delivery(react, XMPP), delivery(unreact, XMPP));
  assert.equal(out.length, 2, 'the removal is not delivered');
  assert.equal(textOf(out[1]!), 'reacted 👍 🍕 to "lunch?"');
  assert.equal(await rig.degraded('reaction', 'text'), 1);
  assert.equal(await rig.degraded('reaction', 'removal_dropped'), 1);
});

test('an emoji-only target gets the emoji reactions natively and the others left out, counted', async () => {
  const rig = new Rig('mtproto', { ...FULL, reactions: 'emoji' });
  const target = event('message', { text: 'x' }).id;
  const [mixed] = await rig.batch(delivery(event('reaction', { target, reactions: ['+1', '👍🏽', '🇫🇷', '1️⃣', '👨‍👩‍👧'] }, WS, 'demo-bob'), MT));
  assert.deepEqual((mixed!.event as { reactions: string[] }).reactions, ['👍🏽', '🇫🇷', '1️⃣', '👨‍👩‍👧']);
  assert.equal(await rig.degraded('reaction', 'not_emoji_left_out'), 1);
  // Nothing left that it can show: the text fallback instead of an empty (= "removed") set.
  const [text] = await rig.batch(delivery(event('reaction', { target, reactions: [':shipit:'] }, WS, 'demo-bob'), MT));
  assert.equal(text!.event.kind, 'message');
  assert.equal(textOf(text!), 'reacted :shipit: to an earlier message');
  assert.equal(await rig.degraded('reaction', 'text'), 1, 'counted as text: the original was known, the reaction not showable');
  assert.equal(await rig.degraded('reaction', 'text_unknown_original'), 0);
});

test('a retraction where the target cannot retract becomes a notice that does not quote what was deleted', async () => {
  const rig = new Rig('xmpp', BARE);
  const original = event('message', { text: 'my password is hunter2' }, WS, 'demo-bob');
  const out = await rig.batch(delivery(original, XMPP), delivery(event('retract', { target: original.id }, WS, 'demo-bob'), XMPP));
  assert.equal(textOf(out[1]!), '✗ deleted a message');
  assert.ok(!JSON.stringify(out[1]!.event).includes('hunter2'));
  assert.equal(await rig.degraded('retract', 'notice'), 1);
  // A room moderator's removal says so, with the reason, and still quotes nothing.
  const spam = event('message', { text: 'cheap watches' }, WS, 'demo-bob');
  const removed = await rig.batch(delivery(spam, XMPP), delivery(event('retract', { target: spam.id, moderation: { reason: 'spam' } }, WS, 'demo-carol'), XMPP));
  assert.equal(textOf(removed[1]!), '✗ removed a message as a moderator: spam');
  assert.ok(!JSON.stringify(removed[1]!.event).includes('watches'));
});

test('a topic where the target shows none becomes a notice from who set it; a cleared one says so', async () => {
  const rig = new Rig('xmpp', BARE);
  const [set] = await rig.batch(delivery(event('topic', { text: 'release day: ship 2.0' }, WS, 'demo-carol', 'Carol'), XMPP));
  assert.equal(textOf(set!), '✎ set the topic: release day: ship 2.0');
  assert.equal(hintsOf(set!)?.identity.displayName, 'Carol (websocket)');
  assert.ok(validateEvent(set!.event).ok);
  const [cleared] = await rig.batch(delivery(event('topic', { text: '' }, WS, 'demo-carol'), XMPP));
  assert.equal(textOf(cleared!), '✎ cleared the topic');
  assert.equal(await rig.degraded('topic', 'notice'), 2);
  // A long topic is split at the target's length like any text (BARE: 100).
  const long = await rig.batch(delivery(event('topic', { text: 'x'.repeat(150) }, WS, 'demo-carol'), XMPP));
  assert.equal(long.length, 2);
});

test('typing and receipts a target cannot show, and presence where it has none, are dropped and counted', async () => {
  const rig = new Rig('xmpp', { ...BARE, presence: [] });
  const original = event('message', { text: 'hi' }, WS, 'demo-bob');
  const out = await rig.batch(
    delivery(event('typing', { state: 'active' }, WS, 'demo-bob'), XMPP),
    delivery(event('receipt', { target: original.id, receipt: 'displayed' }, WS, 'demo-bob'), XMPP),
    delivery(event('presence', { state: 'away' }, WS, 'demo-bob'), XMPP),
  );
  assert.deepEqual(out, []);
  assert.equal(await rig.degraded('typing', 'unsupported'), 1);
  assert.equal(await rig.degraded('receipt', 'unsupported'), 1);
  assert.equal(await rig.degraded('presence', 'unsupported'), 1);
});

test('presence is clamped to the states a target shows, with its native name from mappings/presence.yaml', async () => {
  const rig = new Rig('mtproto', { ...FULL, presence: ['available', 'away', 'offline'] });
  const [dnd] = await rig.batch(delivery(event('presence', { state: 'dnd', status: 'focus' }, WS, 'demo-bob'), MT));
  assert.equal((dnd!.event as { state: string }).state, 'away');
  assert.equal((dnd!.event as { status?: string }).status, 'focus');
  assert.deepEqual(hintsOf(dnd!)?.presence, { native: 'recently' });
  assert.equal(await rig.degraded('presence', 'dnd_as_away'), 1);
});

test('with native ids, references resolve through the id map; an unresolvable one degrades like an unsupported one', async () => {
  const rig = new Rig('xmpp', { ...FULL, nativeIds: true });
  const known = event('message', { text: 'known' }, WS, 'demo-bob');
  const unknown = event('message', { text: 'never reached xmpp' }, WS, 'demo-bob');
  await rig.idMap.link(known.id, XMPP, 'stanza-1');
  const out = await rig.batch(
    delivery(event('message', { text: 'reply 1', replyTo: known.id }, WS, 'demo-carol'), XMPP),
    delivery(event('edit', { target: unknown.id, text: 'corrected' }, WS, 'demo-bob'), XMPP),
    delivery(event('receipt', { target: unknown.id, receipt: 'displayed' }, WS, 'demo-carol'), XMPP),
  );
  assert.equal(out.length, 2, 'a receipt for a message the target never had is dropped');
  assert.deepEqual(hintsOf(out[0]!)?.refs, { replyTo: 'stanza-1' });
  assert.equal(out[1]!.event.kind, 'message');
  assert.match(textOf(out[1]!), /✎ corrected: corrected$/);
  assert.equal(await rig.degraded('edit', 'as_message_unknown_original'), 1);
  assert.equal(await rig.degraded('receipt', 'unknown_original'), 1);

  // A reply to a message earlier in the same batch: not linked yet, the connector resolves it after sending it.
  const first = event('message', { text: 'first' }, WS, 'demo-bob');
  const second = event('message', { text: 'second', replyTo: first.id }, WS, 'demo-carol');
  const [, reply] = await rig.batch(delivery(first, XMPP), delivery(second, XMPP));
  assert.equal((reply!.event as { replyTo?: string }).replyTo, first.id);
  assert.equal(hintsOf(reply!)?.refs, undefined);

  // A message that came from the target endpoint itself carries its native id in its origin.
  const fromXmpp = validateEventOrThrow({ ...event('message', { text: 'from xmpp' }, XMPP, 'carol@example.org'), origin: { connector: 'xmpp', endpoint: XMPP.address, nativeId: 'xmpp-native-9' } });
  // It reached this mapper on its way to another target (websocket), which is how its origin is known.
  await rig.mapper.target('websocket', FULL).wrap(async () => {})([delivery(fromXmpp, WS)]);
  const [replyToXmpp] = await rig.batch(delivery(event('message', { text: 'ok', replyTo: fromXmpp.id }, WS, 'demo-bob'), XMPP));
  assert.deepEqual(hintsOf(replyToXmpp!)?.refs, { replyTo: 'xmpp-native-9' });
});

function validateEventOrThrow(input: unknown) {
  const r = validateEvent(input);
  if (!r.ok) throw new Error(r.error);
  return r.event;
}

test('attachments: a file over maxBytes, or any file where none are taken, arrives as a line with name, size and link', async () => {
  const rig = new Rig('xmpp', { ...BARE, maxTextLength: 4096 });
  const small = { id: 'a1', name: 'notes.txt', mime: 'text/plain', size: 2_000, sha256: 'a'.repeat(64), url: 'https://media.example.org/a1' };
  const big = { id: 'a2', name: 'talk.mp4', mime: 'video/mp4', size: 250 * 1024 * 1024, sha256: 'b'.repeat(64), url: 'https://media.example.org/a2' };
  const [out] = await rig.batch(delivery(event('message', { text: 'files', attachments: [small, big] }, WS, 'demo-bob'), XMPP));
  assert.equal(textOf(out!), 'files\n📎 talk.mp4 (250 MB): https://media.example.org/a2');
  assert.deepEqual((out!.event as { attachments?: unknown[] }).attachments, [small]);
  assert.deepEqual(hintsOf(out!)?.attachments, [{ attachment: small, delivery: 'link', url: small.url }]);
  assert.equal(await rig.degraded('message', 'attachment_too_large'), 1);

  const none = new Rig('xmpp', { ...BARE, attachments: false, maxTextLength: 4096 });
  const [onlyFile] = await none.batch(delivery(event('message', { text: '', attachments: [small] }, WS, 'demo-bob'), XMPP));
  assert.equal(textOf(onlyFile!), '📎 notes.txt (2.0 KB): https://media.example.org/a1');
  assert.equal((onlyFile!.event as { attachments?: unknown[] }).attachments, undefined);
  assert.ok(validateEvent(onlyFile!.event).ok);
});

test('a text over maxTextLength is split into parts of one canonical message, in order, each a valid event', async () => {
  const rig = new Rig('xmpp', BARE); // maxTextLength 100
  const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
  const [first, ...rest] = await rig.batch(delivery(event('message', { text: words }, WS, 'demo-bob'), XMPP));
  const parts = [first!, ...rest];
  assert.ok(parts.length >= 4);
  assert.equal(parts.map(textOf).join(''), words, 'nothing lost');
  parts.forEach((p, i) => {
    assert.ok(textOf(p).length <= 100);
    assert.deepEqual(hintsOf(p)?.part, { index: i, count: parts.length });
    assert.equal(p.event.id, parts[0]!.event.id);
    assert.ok(validateEvent(p.event).ok);
  });
  assert.ok(parts.slice(0, -1).every((p) => textOf(p).endsWith(' ')), 'cut after spaces');
});

test('every target quotes what an edit corrected, whichever target mapped the edit first; a second edit quotes the first', async () => {
  const rig = new Rig('xmpp', BARE);
  const mt = rig.mapper.target('mtproto', { ...BARE, maxTextLength: 4096 });
  const seenByMt: string[] = [];
  const mtHandler = mt.wrap(async (batch) => { for (const d of batch) seenByMt.push(textOf(d as never)); });
  const original = event('message', { text: 'v1' }, WS, 'demo-bob', 'Bob');
  const edit1 = event('edit', { target: original.id, text: 'v2' }, WS, 'demo-bob', 'Bob');
  const edit2 = event('edit', { target: original.id, text: 'v3' }, WS, 'demo-bob', 'Bob');
  await rig.batch(delivery(original, XMPP), delivery(edit1, XMPP));
  await mtHandler([delivery(original, MT), delivery(edit1, MT)]);
  await rig.batch(delivery(edit2, XMPP));
  await mtHandler([delivery(edit2, MT)]);
  assert.deepEqual(rig.delivered.map(textOf), ['v1', '> Bob (websocket): v1\n✎ corrected: v2', '> Bob (websocket): v2\n✎ corrected: v3']);
  assert.deepEqual(seenByMt, ['v1', '> Bob (websocket): v1\n✎ corrected: v2', '> Bob (websocket): v2\n✎ corrected: v3']);
});
