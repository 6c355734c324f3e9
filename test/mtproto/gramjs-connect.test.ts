// A stock gramjs 2.26 TelegramClient (layer 198) against the server: only a Connection subclass
// for host and port, the pinned key and a MemorySession. connect() sends
// invokeWithLayer(198, initConnection(..., help.getConfig)) and waits for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createApiRpc } from '../../src/connectors/mtproto/api/index.ts';
import { MemoryClientInfoStore } from '../../src/connectors/mtproto/api/client-info.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { GramApi, pinServerKey, stockClient, type GramRpcError, type StockClient } from './gramjs-client.ts';
import { metricValue, startServer, testRsaKey } from './harness.ts';

pinServerKey(testRsaKey());

interface GramConfig { className: string; thisDc: number; dcOptions: Array<{ id: number; ipAddress: string; port: number; ipv6?: boolean }>; messageLengthMax: number }
interface GramNearestDc { className: string; thisDc: number; nearestDc: number; country: string }

async function rpcErrorOf(p: Promise<unknown>): Promise<{ code: number | undefined; message: string | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as GramRpcError;
    return { code: err.code, message: err.errorMessage };
  }
  assert.fail('the call succeeded; expected an rpc_error');
}

async function withClient(kind: 'full' | 'obfuscated', body: (client: StockClient, port: number) => Promise<void>): Promise<void> {
  const srv = await startServer();
  const client = stockClient(srv.port, kind);
  try {
    await body(client, srv.port);
    assert.ok((await metricValue(srv.registry, 'switchboard_mtproto_api_calls_total', { method: 'help.getConfig', outcome: 'ok' })) >= 1);
  } finally {
    await client.destroy();
    await srv.stop();
  }
}

for (const kind of ['full', 'obfuscated'] as const) {
  test(`stock TelegramClient over ${kind}: connect() resolves, help.* answer, login-only calls get 401 at once`, { timeout: 60_000 }, async () => {
    await withClient(kind, async (client, port) => {
      assert.equal(await client.connect(), true);
      const dc = (await client.invoke(new GramApi.help.GetNearestDc())) as GramNearestDc;
      assert.equal(dc.className, 'NearestDc');
      assert.equal(dc.thisDc, 2);
      assert.equal(dc.nearestDc, 2);
      const cfg = (await client.invoke(new GramApi.help.GetConfig())) as GramConfig;
      assert.equal(cfg.className, 'Config');
      assert.equal(cfg.thisDc, 2);
      assert.deepEqual(cfg.dcOptions.map((o) => [o.id, o.ipAddress, o.port, Boolean(o.ipv6)]), [[2, '127.0.0.1', port, false]]);
      assert.equal(cfg.messageLengthMax, 4096);
      // What client.start() / checkAuthorization do first: logged out, so 401 AUTH_KEY_UNREGISTERED.
      assert.deepEqual(await rpcErrorOf(client.getMe()), { code: 401, message: 'AUTH_KEY_UNREGISTERED' });
      assert.deepEqual(await rpcErrorOf(client.invoke(new GramApi.updates.GetState())), { code: 401, message: 'AUTH_KEY_UNREGISTERED' });
      assert.equal(await client.isUserAuthorized(), false);
      // The session goes on.
      const again = (await client.invoke(new GramApi.help.GetNearestDc())) as GramNearestDc;
      assert.equal(again.thisDc, 2);
    });
  });
}

test('the server records the layer and app info the stock client announced', { timeout: 60_000 }, async () => {
  const clients = new MemoryClientInfoStore();
  let port = 0;
  const srv = await startServer({
    rpc: createApiRpc({ dc: () => ({ id: 2, host: '127.0.0.1', port }), registry: createRegistry(false), logger: silentLogger, clients }),
  });
  port = srv.port;
  const client = stockClient(srv.port);
  try {
    assert.equal(await client.connect(), true);
    assert.equal(clients.size, 1);
    const record = clients.get(clients.keys()[0]!);
    assert.equal(record?.layer, 198);
    assert.equal(record?.info?.apiId, 12345);
    assert.ok((record?.info?.deviceModel ?? '').length > 0, 'gramjs sends a device model');
    assert.ok((record?.info?.appVersion ?? '').length > 0, 'gramjs sends an app version');
  } finally {
    await client.destroy();
    await srv.stop();
  }
});
