// What a restart of the server keeps, at the server level: a new server (new process state)
// over the same state store as the memory driver keeps it (the local state file). The key, the
// salt and the announced layer carry over; a frame captured before the restart is not accepted
// after it (the restart floor), while the client's new messages are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { generateKek, KeyRing, parseKek } from '../../src/connectors/mtproto/store/key-ring.ts';
import { openMtprotoStores } from '../../src/connectors/mtproto/store/open-stores.ts';
import { apiLayers } from '../../src/connectors/mtproto/tl/api-layers.ts';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import { isRaw, type TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { codec, SpecConnection, SpecSession, type InMessage } from './spec-client.ts';
import { isBadMsg, metricValue, pinned, startServer, type Running } from './harness.ts';

const lc = new LayeredCodec();
const u32 = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(0, true);

/** A server as the connector starts it on the memory driver: its stores on the state file. */
async function serverOn(file: string, ring: KeyRing): Promise<{ srv: Running; state: LocalState }> {
  const state = new LocalState(file);
  const stores = await openMtprotoStores({ state: state.store('mtproto'), driver: 'memory', ring, logger: silentLogger, registry: createRegistry(false) });
  const srv = await startServer({ keyStore: stores.keyStore, clientInfo: stores.clientInfo, saltSecret: stores.saltSecret });
  return { srv, state };
}

async function rpcResult(s: SpecSession, msgId: bigint): Promise<TlObject> {
  const r = await s.until((m: InMessage) => m.obj._ === 'rpc_result' && m.obj['req_msg_id'] === msgId, 5000);
  assert.ok(r.found, `an answer to the call (end: ${JSON.stringify(r.end)})`);
  return r.found.obj['result'] as TlObject;
}

test('after a restart on the same state: same key and salt work (no -404, no bad_server_salt), the layer announced before is used without a re-announce, a captured frame is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-mtrestart-'));
  const file = join(dir, 'state.jsonl');
  const ring = new KeyRing(parseKek(generateKek()));
  let first: { srv: Running; state: LocalState } | undefined;
  let second: { srv: Running; state: LocalState } | undefined;
  try {
    first = await serverOn(file, ring);
    const conn = await SpecConnection.connect(first.srv.port, 'intermediate');
    const { specHandshake } = await import('./spec-client.ts');
    const s = new SpecSession(conn, await specHandshake(conn, pinned(first.srv.rsaKey)));
    assert.equal(await s.ping(), true);
    // Announce layer 140 once, as a stock client does on its first connection.
    const announce = lc.encode(140, { _: 'invokeWithLayer', layer: 140, query: { _: 'initConnection', api_id: 4, device_model: 'spec', system_version: 'node', app_version: '1', system_lang_code: 'en', lang_pack: '', lang_code: 'en', query: { _: 'help.getNearestDc' } } });
    const a = s.build(announce);
    s.conn.send(a.payload);
    assert.ok(isRaw(await rpcResult(s, a.msgId)));
    // A frame an eavesdropper records (answered by the first server).
    const captured = s.build(codec.encode({ _: 'ping', ping_id: 31337n }));
    s.conn.send(captured.payload);
    assert.ok((await s.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === 31337n)).found);
    s.conn.close();
    await first.srv.stop();
    first.state.close();
    first = undefined;

    second = await serverOn(file, ring);
    // The replay, on a new connection to the restarted server: refused with 16, not processed.
    const replayConn = await SpecConnection.connect(second.srv.port, 'intermediate');
    const replayer = new SpecSession(replayConn, s.auth);
    replayer.sessionId = s.sessionId;
    replayConn.send(captured.payload);
    const r = await replayer.until((m) => m.obj._ === 'pong' || isBadMsg(16, captured.msgId)(m), 3000);
    assert.ok(r.found, `an answer to the replay (end: ${JSON.stringify(r.end)})`);
    assert.equal(r.found.obj._, 'bad_msg_notification', 'the replayed ping was not answered with pong');
    assert.equal(r.found.obj['error_code'], 16);
    replayConn.close();

    // The client goes on: same key, same salt, a new msg_id; bare calls answer in layer 140.
    const goOn = new SpecSession(await SpecConnection.connect(second.srv.port, 'intermediate'), s.auth);
    goOn.salt = s.salt;
    const call = goOn.build(lc.encode(140, { _: 'help.getConfig' }));
    goOn.conn.send(call.payload);
    const seen: InMessage[] = [];
    const got = await goOn.until((m) => { seen.push(m); return m.obj._ === 'rpc_result' && m.obj['req_msg_id'] === call.msgId; }, 5000);
    assert.ok(got.found, `answered (end: ${JSON.stringify(got.end)})`);
    const cfg = got.found.obj['result'] as TlObject;
    assert.ok(isRaw(cfg));
    assert.equal(u32(cfg.bytes), apiLayers().schema(140).byName.get('config')!.id, 'encoded in the layer announced before the restart');
    assert.equal(seen.some((m) => m.obj._ === 'bad_server_salt'), false, 'the salt from before the restart is still valid');
    assert.equal(await metricValue(second.srv.registry, 'switchboard_mtproto_transport_errors_total', { reason: 'unknown-auth-key' }), 0, 'no -404');
    assert.equal(await metricValue(second.srv.registry, 'switchboard_mtproto_handshakes_ok_total'), 0, 'no new key');
    goOn.conn.close();
  } finally {
    await first?.srv.stop();
    first?.state.close();
    await second?.srv.stop();
    second?.state.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
