// The fast path sendsAheadOfReplayGuard (session/ahead-of-guard.ts): a frame of transaction-
// idempotent sends (with acknowledgements or pings beside them) is processed without waiting for
// the shared replay guard; any other frame, or a container mixing in another call, still waits;
// without the option every frame waits. Its ids are still recorded, and a replay on the same
// connection is still refused by the local window. The predicate the connector builds covers
// every layer's constructor of the four sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ReplayGuard } from '../../src/connectors/mtproto/session/replay-guard.ts';
import { buildContainer, constructorOf, CONTAINER_ID, parseContainer } from '../../src/connectors/mtproto/session/container.ts';
import { frameGoesAhead } from '../../src/connectors/mtproto/session/ahead-of-guard.ts';
import type { RpcHandler } from '../../src/connectors/mtproto/session/rpc.ts';
import { transactionSends } from '../../src/connectors/mtproto/chat/chat-layer.ts';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import { clientMsgId, codec, type SpecSession } from './spec-client.ts';
import { metricValue, readySession, startServer } from './harness.ts';

/** Two made-up calls: one the test declares a transaction-idempotent send, one not. */
const SEND = 0x5e4d0001;
const OTHER = 0x5e4d0002;
const call = (ctor: number, n = 0): Uint8Array => { const b = Buffer.alloc(8); b.writeUInt32LE(ctor, 0); b.writeUInt32LE(n, 4); return b; };
const BOOL_TRUE = Buffer.from([0xb5, 0x75, 0x72, 0x99]);

/** A guard that records at once (as SET NX does) and answers only when released. */
class HeldGuard implements ReplayGuard {
  readonly seen = new Set<string>();
  readonly waiting: Array<() => void> = [];
  async firstSeen(keyHex: string, sessionId: bigint, msgIds: readonly bigint[]): Promise<boolean[]> {
    const first = msgIds.map((id) => { const k = `${keyHex}:${sessionId}:${id}`; const f = !this.seen.has(k); this.seen.add(k); return f; });
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return first;
  }
  releaseAll(): void { for (const r of this.waiting.splice(0)) r(); }
}

async function serve(ahead: boolean) {
  const guard = new HeldGuard();
  const calls: number[] = [];
  const rpc: RpcHandler = async (obj) => {
    const bytes = obj['bytes'] as Uint8Array;
    calls.push(Buffer.from(bytes).readUInt32LE(0));
    return { _: 'raw', bytes: BOOL_TRUE };
  };
  // The handshake's own first ping must get through the held guard: release while the session starts.
  const srv = await startServer({ replayGuard: guard, rpc, ...(ahead ? { aheadOfGuard: (id: number) => id === SEND } : {}) });
  const releasing = setInterval(() => guard.releaseAll(), 5);
  const s = await readySession(srv);
  clearInterval(releasing);
  guard.releaseAll();
  return { guard, calls, srv, s };
}

const answered = (s: SpecSession, msgId: bigint, timeoutMs = 700) => s.until((m) => m.obj._ === 'rpc_result' && m.obj['req_msg_id'] === msgId, timeoutMs).then((r) => r.found !== undefined);

test('a frame of sends goes ahead of a guard that has not answered; other frames, and mixed containers, wait for it', async () => {
  const { guard, calls, srv, s } = await serve(true);
  try {
    const sent = s.send({ _: 'raw', bytes: call(SEND, 1) } as never);
    assert.ok(await answered(s, sent), 'the send is answered while the guard still holds its answer');
    assert.deepEqual(calls, [SEND]);
    assert.equal(await metricValue(srv.registry, 'switchboard_mtproto_frames_ahead_of_guard_total', { outcome: 'ahead' }), 1);

    // A container of an acknowledgement, a ping and a send: ahead too.
    const inner = clientMsgId();
    const mixedOk = buildContainer([
      { msgId: inner, seqNo: s.seqNo(false), body: codec.encode({ _: 'msgs_ack', msg_ids: [] }) },
      { msgId: inner + 4n, seqNo: s.seqNo(true), body: codec.encode({ _: 'ping', ping_id: 7n }) },
      { msgId: inner + 8n, seqNo: s.seqNo(true), body: call(SEND, 2) },
    ]);
    const frame = s.build(mixedOk, false, { msgId: inner + 12n });
    s.conn.send(frame.payload);
    assert.ok(await answered(s, inner + 8n), 'the container\'s send is answered ahead');

    // Another call waits, alone or beside a send in one container, until the guard answers.
    const other = s.send({ _: 'raw', bytes: call(OTHER) } as never);
    const inner2 = clientMsgId() + 64n;
    const mixedNo = buildContainer([
      { msgId: inner2, seqNo: s.seqNo(true), body: call(SEND, 3) },
      { msgId: inner2 + 4n, seqNo: s.seqNo(true), body: call(OTHER, 4) },
    ]);
    s.conn.send(s.build(mixedNo, false, { msgId: inner2 + 8n }).payload);
    assert.equal(await answered(s, other, 400), false, 'not before the guard answers');
    assert.deepEqual(calls, [SEND, SEND]);
    guard.releaseAll();
    assert.ok(await answered(s, other, 2000));
    assert.ok(await answered(s, inner2 + 4n, 2000));
    assert.deepEqual(calls, [SEND, SEND, OTHER, SEND, OTHER]);

    // The local window still refuses the same frame again on this connection.
    const again = s.build(call(SEND, 9), true);
    s.conn.send(again.payload);
    assert.ok(await answered(s, again.msgId));
    s.conn.send(again.payload);
    assert.equal(await answered(s, again.msgId, 400), false, 'a replay here is not processed');
    assert.equal(calls.filter((c) => c === SEND).length, 4);
    assert.ok(guard.seen.size >= 6, 'the ids of the frames that went ahead were recorded all the same');
  } finally {
    s.conn.close();
    await srv.stop();
  }
});

test('without the option (sendsAheadOfReplayGuard: false) a send waits for the guard like any frame', async () => {
  const { guard, calls, srv, s } = await serve(false);
  try {
    const sent = s.send({ _: 'raw', bytes: call(SEND) } as never);
    assert.equal(await answered(s, sent, 400), false);
    assert.deepEqual(calls, []);
    guard.releaseAll();
    assert.ok(await answered(s, sent, 2000));
  } finally {
    s.conn.close();
    await srv.stop();
  }
});

test('frameGoesAhead: a send, or sends with acks and pings; not a frame without a send, another call, gzip_packed, an empty or broken container', () => {
  const ahead = (id: number) => id === SEND;
  // As the layer calls it: a container's members parsed once when the frame is opened.
  const goes = (body: Uint8Array, a: typeof ahead) => frameGoesAhead(body, constructorOf(body) === CONTAINER_ID ? parseContainer(body) : undefined, a);
  const c = (...bodies: Uint8Array[]) => buildContainer(bodies.map((body, i) => ({ msgId: BigInt(1000 + i * 4), seqNo: i * 2 + 1, body })));
  const ack = codec.encode({ _: 'msgs_ack', msg_ids: [1n] });
  const ping = codec.encode({ _: 'ping', ping_id: 1n });
  assert.equal(goes(call(SEND), ahead), true);
  assert.equal(goes(c(ack, call(SEND), ping), ahead), true);
  assert.equal(goes(call(OTHER), ahead), false);
  assert.equal(goes(c(ack, ping), ahead), false, 'nothing to hurry');
  assert.equal(goes(ping, ahead), false, 'a lone ping waits');
  assert.equal(goes(c(call(SEND), call(OTHER)), ahead), false);
  assert.equal(goes(c(call(SEND), codec.encode({ _: 'gzip_packed', packed_data: new Uint8Array(4) })), ahead), false);
  assert.equal(goes(c(), ahead), false);
  assert.equal(goes(c(call(SEND)).subarray(0, 20), ahead), false);
  assert.equal(goes(randomBytes(3), ahead), false);
});

test('the sends that go ahead: every layer\'s sendMessage, sendMedia, sendMultiMedia and forwardMessages; nothing else', () => {
  const codec = new LayeredCodec();
  const goes = transactionSends(codec);
  const all = codec.layers.anyLayer().constructors;
  const names = new Set(all.filter((c) => goes(c.id)).map((c) => c.name));
  assert.deepEqual([...names].sort(), ['messages.forwardMessages', 'messages.sendMedia', 'messages.sendMessage', 'messages.sendMultiMedia']);
  for (const layer of [140, 158, 198]) {
    const id = codec.schemaFor(layer).byName.get('messages.sendMessage')!.id;
    assert.ok(goes(id), `layer ${layer}'s sendMessage`);
  }
  assert.equal(goes(codec.schemaFor(198).byName.get('messages.editMessage')!.id), false);
});
