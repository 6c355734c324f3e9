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
