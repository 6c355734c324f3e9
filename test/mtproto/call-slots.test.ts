// A connection runs at most MAX_CALLS_RUNNING API calls at once (session/call-slots.ts): a
// container of more calls is taken whole, its later calls start as earlier ones end, in the order
// they came, every one is answered, and the session goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallSlots } from '../../src/connectors/mtproto/session/call-slots.ts';
import { MAX_CALLS_RUNNING } from '../../src/connectors/mtproto/session/encrypted-layer.ts';
import { RpcError, type RpcHandler } from '../../src/connectors/mtproto/session/rpc.ts';
import { isRaw } from '../../src/connectors/mtproto/tl/codec.ts';
import { clientMsgId, containerBody } from './spec-client.ts';
import { readySession, startServer } from './harness.ts';

test('CallSlots: up to the limit at once, then first come first served; a slot passes on without going free', async () => {
  assert.throws(() => new CallSlots(0), RangeError);
  const slots = new CallSlots(2);
  assert.equal(slots.acquire(), undefined);
  assert.equal(slots.acquire(), undefined);
  const order: string[] = [];
  const third = slots.acquire()!.then(() => order.push('third'));
  const fourth = slots.acquire()!.then(() => order.push('fourth'));
  assert.equal(slots.running, 2);
  await Promise.resolve();
  assert.deepEqual(order, [], 'nobody gets a slot while both are taken');
  slots.release();
  await third;
  assert.deepEqual(order, ['third']);
  assert.equal(slots.running, 2, 'the freed slot went to the third at once');
  slots.release();
  await fourth;
  slots.release();
  slots.release();
  assert.equal(slots.running, 0);
  assert.equal(slots.acquire(), undefined, 'free again');
});

test(`a container of more than ${MAX_CALLS_RUNNING} calls: at most ${MAX_CALLS_RUNNING} run at once, they start in order, all are answered`, { timeout: 30_000 }, async () => {
  const n = MAX_CALLS_RUNNING + 60;
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const rpc: RpcHandler = async (call) => {
    // The calls are raw API calls: 4 bytes of constructor, then their number.
    if (!isRaw(call)) throw new RpcError(400, 'NOT_RAW');
    started.push(new DataView(call.bytes.buffer, call.bytes.byteOffset).getInt32(4, true));
    most = Math.max(most, ++running);
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
    throw new RpcError(400, 'DONE');
  };
  const srv = await startServer({ rpc });
  const s = await readySession(srv);
  try {
    const items = Array.from({ length: n }, (_, i) => {
      const body = Buffer.alloc(8);
      body.writeUInt32LE(0x0badca11, 0);
      body.writeInt32LE(i, 4);
      return { msgId: clientMsgId(), seqNo: s.seqNo(true), body: new Uint8Array(body) };
    });
    const { payload } = s.build(containerBody(items), false);
    s.conn.send(payload);
    const asked = new Set(items.map((it) => it.msgId));
    const answered = new Set<bigint>();
    const r = await s.until((m) => {
      if (m.obj._ === 'rpc_result' && asked.has(m.obj['req_msg_id'] as bigint)) answered.add(m.obj['req_msg_id'] as bigint);
      return answered.size === n;
    }, 20_000);
    assert.ok(r.found, `all ${n} calls answered (got ${answered.size})`);
    assert.equal(most, MAX_CALLS_RUNNING, 'never more at once than the limit, and the limit is used');
    assert.deepEqual(started, items.map((_, i) => i), 'started in the order they came');
    assert.ok(await s.ping(), 'the session goes on');
  } finally {
    s.conn.close();
    await srv.stop();
  }
});
