import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reflections, ReflectionTimeout } from '../../src/connectors/xmpp/outbound.ts';

/**
 * A slow room is not a lost message: while the stream that carried a stanza is up, a retry of
 * its delivery waits for the reflection (or takes one that came late) instead of sending it again.
 */
test('a reflection that arrives after its delivery stopped waiting answers the retry; nothing is sent twice', async () => {
  const r = new Reflections();
  const first = r.expect('o1', 'room@muc', 20);
  r.markSent('o1');
  await assert.rejects(first, ReflectionTimeout);
  assert.deepEqual(r.retryState('o1'), { kind: 'in-flight' }, 'sent on the live stream: wait, do not resend');
  r.reflected('o1', 'stanza-1'); // late
  assert.deepEqual(r.retryState('o1'), { kind: 'reflected', stanzaId: 'stanza-1' });
});

test('a retry waiting again gets the reflection; a lost stream or a room error makes the state unknown (look in the archive, resend)', async () => {
  const r = new Reflections();
  void r.expect('o2', 'room@muc', 10).catch(() => undefined);
  r.markSent('o2');
  await new Promise((resolve) => setTimeout(resolve, 20));
  const again = r.expect('o2', 'room@muc', 1_000);
  r.reflected('o2', 'stanza-2');
  assert.equal(await again, 'stanza-2');

  r.markSent('o3');
  r.failAll(new Error('component stream lost'));
  assert.deepEqual(r.retryState('o3'), { kind: 'unknown' });
  r.markSent('o4');
  r.failed('o4', new Error('room answered forbidden'));
  assert.deepEqual(r.retryState('o4'), { kind: 'unknown' });
});
