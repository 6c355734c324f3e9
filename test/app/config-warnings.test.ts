import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { startApp } from '../../src/app.ts';
import { makeConfigTree } from '../config/fixture.ts';

test('a retired setting (websocket.helloTimeoutMs) in config.yaml: the app starts and logs a warning naming it', async () => {
  const tree = makeConfigTree('http: { port: 8080 }\nwebsocket:\n  helloTimeoutMs: 10000\n', { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n' });
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  try {
    const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: pino({ level: 'info' }, sink), httpPortOverride: 0 });
    await app.close();
    const warning = lines.find((l) => l['field'] === 'websocket.helloTimeoutMs');
    assert.ok(warning, JSON.stringify(lines.map((l) => l['msg'])));
    assert.equal(warning['level'], 40);
    assert.equal(warning['line'], 3);
    assert.match(String(warning['msg']), /^config: websocket\.helloTimeoutMs: ignored/);
  } finally {
    tree.cleanup();
  }
});

test('a room whose directions carry nothing: start and a reload that makes one both log a warning naming it; a reload that mends it logs none', async () => {
  const twoWays = 'endpoints:\n  - websocket: a\n  - websocket: b\n';
  const mute = 'endpoints:\n  - websocket: a\n    direction: receive-only\n  - websocket: b\n    direction: receive-only\n';
  const tree = makeConfigTree('http: { port: 8080 }\n', { 'bridges/lobby.yaml': mute });
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  const warnings = () => lines.filter((l) => l['level'] === 40 && /every endpoint is receive-only/.test(String(l['msg'])));
  try {
    const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: pino({ level: 'info' }, sink), httpPortOverride: 0 });
    try {
      assert.equal(warnings().length, 1, 'at start');
      assert.match(String(warnings()[0]?.['msg']), /room "lobby"/);
      tree.write('bridges/lobby.yaml', twoWays);
      assert.equal((await app.reloadBridges()).ok, true);
      assert.equal(warnings().length, 1, 'mended: no new warning');
      tree.write('bridges/lobby.yaml', mute);
      assert.equal((await app.reloadBridges()).ok, true);
      assert.equal(warnings().length, 2, 'made mute again by a reload');
    } finally {
      await app.close();
    }
  } finally {
    tree.cleanup();
  }
});
