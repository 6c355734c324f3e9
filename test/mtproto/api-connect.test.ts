// The API layer over the wire, driven by the spec client: the connect path in several layers
// (answers decoded with the announced layer's own schema), rpc_errors for everything the
// bridge does not serve or cannot read, and the dispatcher's plug points for later handlers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { apiLayers } from '../../src/connectors/mtproto/tl/api-layers.ts';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import { isRaw, type TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { createApiRpc } from '../../src/connectors/mtproto/api/index.ts';
import { MemoryClientInfoStore } from '../../src/connectors/mtproto/api/client-info.ts';
import type { ApiCallContext } from '../../src/connectors/mtproto/api/context.ts';
import { RpcError } from '../../src/connectors/mtproto/session/rpc.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { metricValue, readySession, startServer, type Running } from './harness.ts';
import type { SpecSession } from './spec-client.ts';

const layers = apiLayers();
const lc = new LayeredCodec();
const u32 = (b: Uint8Array, at = 0): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);

const initConnection = (query: TlObject): TlObject => ({
  _: 'initConnection', api_id: 4, device_model: 'spec-client', system_version: 'node', app_version: '0.1',
  system_lang_code: 'en', lang_pack: '', lang_code: 'en', query,
});

/** The connect call of a client of `layer`, encoded with that layer's own definitions. */
function connectCall(layer: number, query: TlObject = { _: 'help.getConfig' }): Uint8Array {
  return lc.encode(layer, { _: 'invokeWithLayer', layer, query: initConnection(query) });
}

type Answer = { ok: Uint8Array } | { error: { code: number; message: string } };

/** Sends one API call (raw bytes), returns its rpc_result: the result bytes or the rpc_error. */
async function call(s: SpecSession, body: Uint8Array): Promise<Answer> {
  const { payload, msgId } = s.build(body, true);
  s.conn.send(payload);
  const r = await s.until((m) => m.obj._ === 'rpc_result' && m.obj['req_msg_id'] === msgId, 5000);
  assert.ok(r.found, `an rpc_result for the call (end: ${JSON.stringify(r.end)})`);
  const result = r.found.obj['result'] as TlObject;
  if (result._ === 'rpc_error') return { error: { code: result['error_code'] as number, message: result['error_message'] as string } };
  assert.ok(isRaw(result), `an API result, got ${result._}`);
  return { ok: result.bytes };
}

async function expectError(s: SpecSession, body: Uint8Array, code: number, message: string): Promise<void> {
  const a = await call(s, body);
  assert.ok('error' in a, `expected ${code} ${message}, got a result`);
  assert.deepEqual(a.error, { code, message });
  assert.equal(await s.ping(), true, 'the session goes on after the error');
}

function resultOf(a: Answer): Uint8Array {
  assert.ok('ok' in a, `expected a result, got ${JSON.stringify('error' in a ? a.error : null)}`);
  return a.ok;
}

let srv: Running;
before(async () => { srv = await startServer(); });
// call() waits at most 5 s for each answer: a call that hangs fails the test.
after(async () => { await srv.stop(); });

test('connect in old and new layers: help.getConfig comes back in the announced layer, pointing at this server', async () => {
  const s = await readySession(srv);
  try {
    // Announced -> served: exact layers, one between two known ones, one newer than all.
    const cases: Array<[number, number]> = [[140, 140], [141, 140], [152, 152], [158, 158], [174, 174], [198, 198], [199, 198]];
    for (const [announced, served] of cases) {
      const bytes = resultOf(await call(s, connectCall(announced)));
      const codec = lc.forLayer(served);
      assert.equal(u32(bytes), layers.schema(served).byName.get('config')!.id, `layer ${announced}: config id of layer ${served}`);
      // Decodes completely with the served layer's schema: what a client of that layer reads.
      const cfg = codec.decode(bytes);
      assert.equal(cfg._, 'config');
      assert.equal(cfg['this_dc'], 2);
      assert.equal(cfg['test_mode'], false);
      const options = cfg['dc_options'] as TlObject[];
      assert.equal(options.length, 1);
      assert.deepEqual([options[0]!._, options[0]!['id'], options[0]!['ip_address'], options[0]!['port'], options[0]!['ipv6'], options[0]!['media_only']], ['dcOption', 2, '127.0.0.1', srv.port, false, false]);
      const now = Math.floor(Date.now() / 1000);
      assert.ok(Math.abs((cfg['date'] as number) - now) < 30 && (cfg['expires'] as number) > (cfg['date'] as number));
      assert.equal(cfg['message_length_max'], 4096);
      assert.equal(cfg['caption_length_max'], 1024);
      assert.ok((cfg['chat_size_max'] as number) > 0 && (cfg['megagroup_size_max'] as number) > 0 && (cfg['edit_time_limit'] as number) > 0);
      // Every non-flag int of this layer's config carries a value (none left at the neutral 0).
      for (const p of layers.schema(served).byName.get('config')!.params) {
        if (!p.flag && p.type.kind === 'primitive' && p.type.name === 'int' && p.name !== 'test_mode') assert.ok((cfg[p.name] as number) > 0, `layer ${served} config.${p.name}`);
      }
      // Fields only some layers have.
      assert.equal('saved_gifs_limit' in cfg, served < 158);
    }
  } finally {
    s.conn.close();
  }
});

test('the announced layer is remembered per auth key: later bare calls answer in it, another key gets the newest', async () => {
  const a = await readySession(srv);
  const b = await readySession(srv);
  try {
    resultOf(await call(a, connectCall(143, { _: 'help.getNearestDc' })));
    const cfgA = resultOf(await call(a, lc.encode(143, { _: 'help.getConfig' })));
    assert.equal(u32(cfgA), 0x330b4067, 'layer 143 config');
    const cfgB = resultOf(await call(b, lc.encode(198, { _: 'help.getConfig' })));
    assert.equal(u32(cfgB), layers.schema(198).byName.get('config')!.id, 'no announcement: newest layer');
    const dc = lc.forLayer(143).decode(resultOf(await call(a, lc.encode(143, { _: 'help.getNearestDc' }))));
    assert.deepEqual(dc, { _: 'nearestDc', country: '', this_dc: 2, nearest_dc: 2 });
  } finally {
    a.conn.close();
    b.conn.close();
  }
});

test('a result type that changed between layers: help.getAppConfig answers JSONValue to 152, help.appConfig to 198', async () => {
  const s = await readySession(srv);
  try {
    const old = resultOf(await call(s, connectCall(152, { _: 'help.getAppConfig' })));
    assert.deepEqual(lc.forLayer(152).decode(old), { _: 'jsonObject', value: [] });
    const cur = resultOf(await call(s, connectCall(198, { _: 'help.getAppConfig', hash: 0 })));
    assert.deepEqual(lc.forLayer(198).decode(cur), { _: 'help.appConfig', hash: 0, config: { _: 'jsonObject', value: [] } });
  } finally {
    s.conn.close();
  }
});

test('before login and for bad calls: the fitting rpc_error at once, and the session goes on', async () => {
  const s = await readySession(srv);
  try {
    resultOf(await call(s, connectCall(198)));
    const enc = (obj: TlObject): Uint8Array => lc.encode(198, obj);
    await expectError(s, enc({ _: 'updates.getState' }), 401, 'AUTH_KEY_UNREGISTERED');
    await expectError(s, enc({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] }), 401, 'AUTH_KEY_UNREGISTERED');
    // Wrapped like gramjs sends it after a reconnect.
    await expectError(s, connectCall(198, { _: 'updates.getState' }), 401, 'AUTH_KEY_UNREGISTERED');
    // A login method the bridge does not serve yet: not a 401 (that would say "log in first").
    await expectError(s, enc({ _: 'auth.sendCode', phone_number: '+1', api_id: 1, api_hash: 'x', settings: { _: 'codeSettings' } }), 400, 'METHOD_NOT_IMPLEMENTED');
    // No such method in any layer.
    await expectError(s, Uint8Array.of(0x78, 0x56, 0x34, 0x12), 400, 'INPUT_METHOD_INVALID');
    await expectError(s, connectCall(198, { _: 'raw', bytes: Uint8Array.of(0x78, 0x56, 0x34, 0x12) }), 400, 'INPUT_METHOD_INVALID');
    // A type constructor where a method belongs.
    await expectError(s, enc({ _: 'nearestDc', country: '', this_dc: 2, nearest_dc: 2 }), 400, 'INPUT_METHOD_INVALID');
    // A known method whose parameters hold an unknown constructor, or are cut short.
    const users = enc({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] });
    const badCtor = users.slice();
    new DataView(badCtor.buffer).setUint32(12, 0x12345678, true);
    await expectError(s, badCtor, 400, 'INPUT_CONSTRUCTOR_INVALID');
    await expectError(s, users.subarray(0, 12), 400, 'INPUT_FETCH_ERROR');
    // invokeWithLayer with layer 0; wrappers nested beyond any client.
    await expectError(s, enc({ _: 'invokeWithLayer', layer: 0, query: { _: 'help.getConfig' } }), 400, 'LAYER_INVALID');
    let deep: TlObject = { _: 'help.getConfig' };
    for (let i = 0; i < 12; i++) deep = { _: 'invokeWithoutUpdates', query: deep };
    await expectError(s, enc(deep), 400, 'INPUT_REQUEST_TOO_LONG');
    // Pass-through wrappers are honoured.
    const viaAfter = resultOf(await call(s, enc({ _: 'invokeAfterMsg', msg_id: 4n, query: { _: 'invokeWithoutUpdates', query: { _: 'help.getNearestDc' } } })));
    assert.equal(lc.forLayer(198).decode(viaAfter)._, 'nearestDc');
    assert.ok((await metricValue(srv.registry, 'switchboard_mtproto_api_calls_total', { method: 'updates.getState', outcome: '401' })) >= 2);
    assert.ok((await metricValue(srv.registry, 'switchboard_mtproto_api_calls_total', { method: 'help.getNearestDc', outcome: 'ok' })) >= 1);
  } finally {
    s.conn.close();
  }
});

test('plug points: handlers get layer, client info and user in their context; auth and failures are the dispatcher\'s', async () => {
  const clients = new MemoryClientInfoStore();
  const seen: ApiCallContext[] = [];
  let port = 0;
  const loggedIn = new Set<string>();
  const rpc = createApiRpc({
    dc: () => ({ id: 2, host: '127.0.0.1', port }),
    registry: createRegistry(false),
    logger: silentLogger,
    clients,
    authorizations: { userOf: async (key) => (loggedIn.has(key) ? { userId: 42n, bot: true } : undefined) },
    handlerTimeoutMs: 300,
    extend: (m) => m
      .register('updates.getState', { auth: 'user', handle: (_c, ctx) => { seen.push(ctx); return { _: 'updates.state', pts: 1, qts: 0, date: ctx.now, seq: 1, unread_count: 0 }; } })
      .register('account.updateStatus', { auth: 'user', handle: () => { throw new Error('boom'); } })
      .register('help.getPromoData', { auth: 'none', handle: () => ({ _: 'nearestDc' }) })
      .register('help.getSupportName', { auth: 'none', handle: () => { throw new RpcError(420, 'FLOOD_WAIT_3'); } })
      .register('help.getSupport', { auth: 'none', handle: () => new Promise(() => undefined) }),
  });
  const own = await startServer({ rpc });
  port = own.port;
  const s = await readySession(own);
  try {
    resultOf(await call(s, connectCall(160, { _: 'help.getNearestDc' })));
    const key = Buffer.from(s.auth.authKeyId).toString('hex');
    assert.equal(clients.get(key)?.layer, 160);
    assert.equal(clients.get(key)?.info?.deviceModel, 'spec-client');
    const enc = (obj: TlObject): Uint8Array => lc.encode(160, obj);
    await expectError(s, enc({ _: 'updates.getState' }), 401, 'AUTH_KEY_UNREGISTERED');
    assert.equal(seen.length, 0, 'a user-only handler is not called before login');
    loggedIn.add(key);
    const state = lc.forLayer(160).decode(resultOf(await call(s, enc({ _: 'updates.getState' }))));
    assert.equal(state._, 'updates.state');
    assert.equal(seen.length, 1);
    const ctx = seen[0]!;
    assert.equal(ctx.layer, 160);
    assert.equal(ctx.announcedLayer, 160);
    assert.equal(ctx.user?.userId, 42n);
    assert.equal(ctx.client?.appVersion, '0.1');
    assert.equal(ctx.authKeyIdHex, key);
    assert.equal(ctx.sessionId, s.sessionId);
    // A throwing handler and a result that does not encode: 500, the session goes on.
    await expectError(s, enc({ _: 'account.updateStatus', offline: false }), 500, 'INTERNAL');
    await expectError(s, enc({ _: 'help.getPromoData' }), 500, 'INTERNAL');
    await expectError(s, enc({ _: 'help.getSupportName' }), 420, 'FLOOD_WAIT_3');
    // A handler that never answers: the deadline answers for it, and later calls go through.
    await expectError(s, enc({ _: 'help.getSupport' }), 500, 'HANDLER_TIMEOUT');
    // Logged in, a method nobody registered: not implemented (not a 401).
    await expectError(s, enc({ _: 'messages.getDialogFilters' }), 400, 'METHOD_NOT_IMPLEMENTED');
  } finally {
    s.conn.close();
    await own.stop();
  }
});
