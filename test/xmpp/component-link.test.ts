import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { ComponentLinkError, SendRefusedError } from '../../src/connectors/xmpp/component-link.ts';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { makeLink, waitStatus } from './link-harness.ts';

/** Component handshakes Prosody saw (accepted or refused); the helper's readiness probe opens no stream, so it does not count. */
const componentHandshakes = (log: string): number => log.split('\n').filter((l) => /External component successfully authenticated|Component authentication failed/.test(l)).length;

test('component link: online, inbound stanzas reach the handler, a foreign from is refused locally and the stream survives', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const tl = makeLink(prosody);
  t.after(() => tl.link.stop());
  tl.link.start();
  await tl.link.whenOnline();
  assert.deepEqual(tl.statuses, ['connecting', 'online']);
  assert.equal(await tl.metric('switchboard_xmpp_component_up'), 1);

  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  await alice.send(xml('message', { to: `someone@${prosody.componentDomain}`, type: 'chat' }, xml('body', {}, 'to a puppet')));
  const got = await tl.waitForStanza((el) => el.getChildText('body') === 'to a puppet', 'alice\'s message');
  assert.equal(got.attrs['from'], alice.jid);

  for (const from of ['puppet@evil.localhost', 'localhost', `x@sub.${prosody.componentDomain}`, 'not a jid@@']) {
    await assert.rejects(tl.link.send(xml('message', { from, to: alice.jid, type: 'chat' }, xml('body', {}, 'spoofed'))),
      (err: unknown) => err instanceof SendRefusedError && err.reason === 'bad_from', from);
  }
  assert.equal(await tl.metric('switchboard_xmpp_outbound_refused_total', { reason: 'bad_from' }), 4);
  await assert.rejects(tl.link.send(xml('message', { from: `p@${prosody.componentDomain}`, type: 'chat' }, xml('body', {}, 'nowhere'))),
    (err: unknown) => err instanceof SendRefusedError && err.reason === 'bad_to');

  // The stream is still the same one: a good stanza goes through and no reconnect happened.
  const since = alice.mark();
  await tl.link.send(xml('message', { from: `p@${prosody.componentDomain}/x`, to: alice.jid, type: 'chat' }, xml('body', {}, 'still here')));
  await alice.waitFor((el) => el.getChildText('body') === 'still here', 'the good stanza', { since });
  assert.deepEqual(tl.statuses, ['connecting', 'online']);
  assert.equal(componentHandshakes(prosody.log()), 1);
  assert.doesNotMatch(prosody.log(), /invalid-from/);

  // A missing from becomes the component domain.
  const pong = await tl.link.request(xml('iq', { type: 'get', to: prosody.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs['type'], 'result');

  await tl.link.stop();
  await tl.link.stop(); // idempotent
  assert.equal(tl.link.status, 'stopped');
  await assert.rejects(tl.link.send(xml('message', { to: alice.jid }, xml('body', {}, 'late'))), (err: unknown) => err instanceof SendRefusedError && err.reason === 'stopped');
});

test('component link: a wrong secret gives one clear error and no reconnect loop', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const tl = makeLink(prosody, { secret: 'wrong-secret' });
  t.after(() => tl.link.stop());
  const failed: ComponentLinkError[] = [];
  tl.link.on('failed', (e) => failed.push(e));
  tl.link.start();
  await assert.rejects(tl.link.whenOnline(), (err: unknown) => err instanceof ComponentLinkError && err.code === 'not_authorized' && /secret/.test(err.message));
  await tl.link.finished; // the loop has ended: nothing can retry
  assert.equal(tl.link.status, 'failed');
  assert.equal(failed.length, 1);
  assert.deepEqual(tl.statuses, ['connecting', 'failed']);
  assert.equal(componentHandshakes(prosody.log()), 1);
});

test('component link: a domain the server does not serve gives one clear error (host-unknown) and no reconnect loop', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  // Prosody opens the stream without an id for a domain it has no component for, then sends <host-unknown/>.
  const tl = makeLink(prosody, { domain: `other.${prosody.componentDomain}` });
  t.after(() => tl.link.stop());
  tl.link.start();
  await assert.rejects(tl.link.whenOnline(), (err: unknown) => err instanceof ComponentLinkError && err.code === 'host_unknown' && /does not know component/.test(err.message));
  await tl.link.finished;
  assert.equal(tl.link.status, 'failed');
  assert.deepEqual(tl.statuses, ['connecting', 'failed']);
});

test('component link: a second link for the same domain gets conflict once and stops; the first stays online', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const first = makeLink(prosody);
  const second = makeLink(prosody);
  t.after(() => Promise.all([first.link.stop(), second.link.stop()]));
  first.link.start();
  await first.link.whenOnline();
  second.link.start();
  await assert.rejects(second.link.whenOnline(), (err: unknown) => err instanceof ComponentLinkError && err.code === 'conflict');
  await second.link.finished;
  assert.equal(first.link.status, 'online');
  const pong = await first.link.request(xml('iq', { type: 'get', to: prosody.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs['type'], 'result');
});

test('component link: reconnects with backoff after the server restarts', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const tl = makeLink(prosody, { backoff: { initialMs: 100, maxMs: 400 } });
  t.after(() => tl.link.stop());
  tl.link.start();
  await tl.link.whenOnline();
  const offline = new Promise<string>((r) => tl.link.once('offline', r));
  await prosody.stop();
  assert.match(await offline, /system-shutdown|disconnected/);
  await waitStatus(tl, 'waiting');
  // Several refused attempts while the server is down, spaced by the backoff, not a tight loop.
  while (await tl.metric('switchboard_xmpp_component_connect_failures_total') < 3) await new Promise((r) => tl.link.once('status', r));
  await prosody.start();
  await waitStatus(tl, 'online');
  assert.equal(await tl.metric('switchboard_xmpp_component_connects_total'), 2);
  const pong = await tl.link.request(xml('iq', { type: 'get', to: prosody.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs['type'], 'result');
});

test('component link: an unanswered XEP-0199 ping drops the dead stream and the link reconnects when the server is back', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const tl = makeLink(prosody, { pingIntervalMs: 150, pingTimeoutMs: 400, connectTimeoutMs: 1_000 });
  t.after(() => tl.link.stop());
  tl.link.start();
  await tl.link.whenOnline();
  const offline = new Promise<string>((r) => tl.link.once('offline', r));
  prosody.signal('SIGSTOP'); // the TCP connection stays up; only the answers stop
  t.after(() => { try { prosody.signal('SIGCONT'); } catch { /* stopped */ } });
  assert.equal(await offline, 'ping_timeout');
  assert.equal(await tl.metric('switchboard_xmpp_ping_timeouts_total'), 1);
  prosody.signal('SIGCONT');
  await waitStatus(tl, 'online');
  const pong = await tl.link.request(xml('iq', { type: 'get', to: prosody.domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })));
  assert.equal(pong.attrs['type'], 'result');
});

test('component link: outbound size and rate limits, inbound size bound', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const tl = makeLink(prosody, { maxOutboundStanzaBytes: 1_024, maxInboundStanzaBytes: 2_048, outboundPerSecond: 50, outboundBurst: 3, maxQueuedOutbound: 7 });
  t.after(() => tl.link.stop());
  tl.link.start();
  await tl.link.whenOnline();
  const alice = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  const from = `p@${prosody.componentDomain}/x`;

  await assert.rejects(tl.link.send(xml('message', { from, to: alice.jid }, xml('body', {}, 'x'.repeat(2_000)))),
    (err: unknown) => err instanceof SendRefusedError && err.reason === 'too_large');

  // 10 sends at 50/s with a burst of 3: 3 go at once, 7 wait in the queue (its bound); all arrive, in order; an 11th is refused.
  const since = alice.mark();
  const sends = Array.from({ length: 10 }, (_, i) => tl.link.send(xml('message', { from, to: alice.jid, type: 'chat' }, xml('body', {}, `n${i}`))));
  await assert.rejects(tl.link.send(xml('message', { from, to: alice.jid, type: 'chat' }, xml('body', {}, 'overflow'))),
    (err: unknown) => err instanceof SendRefusedError && err.reason === 'queue_full');
  const started = performance.now();
  await Promise.all(sends);
  // 7 of them waited for tokens at 50/s: at least ~120 ms of pacing (a lower bound, not a timing test).
  assert.ok(performance.now() - started >= 100, 'the sends were paced by the rate limit');
  await alice.waitFor((el) => el.getChildText('body') === 'n9', 'the last paced message', { since });
  const bodies = alice.stanzas.slice(since).map((el) => el.getChildText('body')).filter((b) => b?.startsWith('n'));
  assert.deepEqual(bodies, Array.from({ length: 10 }, (_, i) => `n${i}`));

  // An oversized inbound message is dropped silently (it could come from a room); an oversized iq gets policy-violation.
  await alice.send(xml('message', { to: `p@${prosody.componentDomain}`, type: 'chat' }, xml('body', {}, 'y'.repeat(3_000))));
  await assert.rejects(alice.request(xml('iq', { type: 'get', to: `p@${prosody.componentDomain}` }, xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }, 'z'.repeat(3_000)))),
    (err: Error & { condition?: string }) => err.condition === 'policy-violation');
  assert.equal(await tl.metric('switchboard_xmpp_inbound_dropped_total', { reason: 'too_large' }), 2);
  assert.equal(tl.received.length, 0);
  assert.equal(tl.link.status, 'online');
});
