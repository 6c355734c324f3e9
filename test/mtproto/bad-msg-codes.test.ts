import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { clientMsgId, codec, concat, connectAndAuth, containerBody, type ContainerItem, type SpecSession } from './spec-client.ts';
import { isBadMsg, pinned, readySession, startServer, type Running } from './harness.ts';

// The bad_msg_notification codes not covered by bad-input.test.ts: 19, 20, 32, 33 and 64.

let srv: Running;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); });

const session = (): Promise<SpecSession> => readySession(srv);


test('seqno too low for a newer msg_id (32), too high for an older one (33)', async () => {
  const s = await session();
  try {
    const older = clientMsgId();
    const a = clientMsgId();
    s.send({ _: 'ping', ping_id: 1n }, true, { msgId: a, seqNo: 41 });
    assert.ok((await s.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 1n)).found, 'first ping answered');
    const b = clientMsgId();
    s.send({ _: 'ping', ping_id: 2n }, true, { msgId: b, seqNo: 3 });
    assert.ok((await s.until(isBadMsg(32, b))).found, 'code 32');
    s.send({ _: 'ping', ping_id: 3n }, true, { msgId: older, seqNo: 61 });
    assert.ok((await s.until(isBadMsg(33, older))).found, 'code 33');
    s.send({ _: 'ping', ping_id: 4n }, true, { seqNo: 43 });
    assert.ok((await s.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 4n)).found, 'the session goes on');
  } finally {
    s.conn.close();
  }
});

test('a container whose msg_id was already used (19); a malformed container (64)', async () => {
  const s = await session();
  try {
    const inner = clientMsgId();
    const outer = clientMsgId();
    const body = containerBody([{ msgId: inner, seqNo: s.seqNo(true), body: codec.encode({ _: 'ping', ping_id: 10n }) }]);
    s.conn.send(s.build(body, false, { msgId: outer }).payload);
    assert.ok((await s.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 10n)).found, 'container processed');
    s.conn.send(s.build(body, false, { msgId: outer }).payload);
    assert.ok((await s.until(isBadMsg(19, outer))).found, 'code 19');

    // Claims 5 messages but holds 4 bytes (a whole number of words, so the envelope itself is fine).
    const bad = concat(containerBody([]).subarray(0, 4), Uint8Array.of(5, 0, 0, 0, 1, 2, 3, 4));
    const badId = clientMsgId();
    s.conn.send(s.build(bad, false, { msgId: badId }).payload);
    assert.ok((await s.until(isBadMsg(64, badId))).found, 'code 64');
    assert.equal(await s.ping(), true, 'the session goes on');
  } finally {
    s.conn.close();
  }
});

test('a msg_id below the replay window that was never seen (20): it cannot be verified, so it is refused', async () => {
  const s = await session();
  try {
    const forgotten = clientMsgId(); // never sent, older than everything below
    // 1,200 acknowledgements (not content-related: even seqno) in two containers push the oldest
    // ids out of the per-session window of 1,024.
    for (let c = 0; c < 2; c++) {
      const items: ContainerItem[] = Array.from({ length: 600 }, () => ({ msgId: clientMsgId(), seqNo: s.seqNo(false), body: codec.encode({ _: 'msgs_ack', msg_ids: [] }) }));
      s.conn.send(s.build(containerBody(items), false, { msgId: clientMsgId() }).payload);
    }
    assert.equal(await s.ping(), true, 'containers accepted');
    s.send({ _: 'ping', ping_id: 20n }, true, { msgId: forgotten });
    assert.ok((await s.until(isBadMsg(20, forgotten))).found, 'code 20');
  } finally {
    s.conn.close();
  }
});

test('new_session_created announces the first message that passed every check, not a refused one', async () => {
  const s = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
  try {
    const refused = s.send({ _: 'ping', ping_id: 30n }, true, { seqNo: 2 }); // content-related with an even seqno: 35
    const first = await s.until(isBadMsg(35, refused));
    assert.ok(first.found, 'code 35');
    assert.equal(first.seen.some((m) => m.obj._ === 'new_session_created'), false, 'not announced by a refused message');
    const ok = s.send({ _: 'ping', ping_id: 31n }, true, { seqNo: 1 });
    const next = await s.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 31n);
    assert.ok(next.found, 'pong');
    const announced = next.seen.find((m) => m.obj._ === 'new_session_created');
    assert.ok(announced, 'announced by the first accepted message');
    assert.equal(announced.obj['first_msg_id'], ok);
  } finally {
    s.conn.close();
  }
});

test('msg_resend_req re-sends an unacknowledged answer with its msg_id; once the client acked it, it is forgotten', async () => {
  const s = await readySession(srv);
  try {
    const pingId = 4711n;
    s.send({ _: 'ping', ping_id: pingId });
    const pong = (await s.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === pingId)).found;
    assert.ok(pong);
    s.send({ _: 'msg_resend_req', msg_ids: [pong.msgId] });
    const again = await s.until((m) => m.obj._ === 'pong' && m.msgId === pong.msgId, 2000);
    assert.ok(again.found, 'kept until acknowledged, re-sent with the same msg_id');
    s.send({ _: 'msgs_ack', msg_ids: [pong.msgId] }, false);
    s.send({ _: 'msg_resend_req', msg_ids: [pong.msgId] });
    // Frames are answered in order: a re-sent pong would arrive before the answer to this ping.
    s.send({ _: 'ping', ping_id: 4712n });
    const next = await s.until((m) => m.obj._ === 'pong', 2000);
    assert.equal(next.found?.obj['ping_id'], 4712n, 'acknowledged: not kept, not re-sent');
  } finally {
    s.conn.close();
  }
});
