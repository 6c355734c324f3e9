import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { clientMsgId, codec } from './spec-client.ts';
import { isBadMsg, readySession, startServer, type Running } from './harness.ts';

// maxFrameBytes 64 KiB: gzip_packed may inflate to 512 KiB (8x), at any depth.
const MAX_FRAME = 64 * 1024;
const calls: TlObject[] = [];
let srv: Running;
before(async () => {
  srv = await startServer({ maxFrameBytes: MAX_FRAME, rpc: async (call) => { calls.push(call); return { _: 'pong', msg_id: 0n, ping_id: 0n }; } });
});
after(async () => { await srv.stop(); });

const bomb = (): TlObject => ({ _: 'gzip_packed', packed_data: gzipSync(new Uint8Array(MAX_FRAME * 8 + 1024)) });

test('gzip_packed nested in msg_copy that inflates past the cap is refused (64), never handed on', async () => {
  const s = await readySession(srv);
  try {
    calls.length = 0;
    const inner = { _: 'message', msg_id: clientMsgId(), seqno: 1, bytes: 0, body: bomb() };
    const id = s.send({ _: 'msg_copy', orig_message: inner });
    assert.ok((await s.until(isBadMsg(64, id))).found, 'bad_msg_notification 64');
    assert.deepEqual(calls, [], 'nothing reached the RpcHandler');
    assert.equal(await s.ping(), true);
  } finally {
    s.conn.close();
  }
});

test('top-level gzip_packed: past the cap refused (64); within it inflated and answered', async () => {
  const s = await readySession(srv);
  try {
    const id = s.send(bomb());
    assert.ok((await s.until(isBadMsg(64, id))).found);
    const packedPing = { _: 'gzip_packed', packed_data: gzipSync(codec.encode({ _: 'ping', ping_id: 42n })) };
    s.send(packedPing);
    assert.ok((await s.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 42n)).found, 'packed ping answered');
    const packedGarbage = s.send({ _: 'gzip_packed', packed_data: Uint8Array.of(1, 2, 3, 4) });
    assert.ok((await s.until(isBadMsg(64, packedGarbage))).found, 'corrupt gzip refused');
  } finally {
    s.conn.close();
  }
});
