import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { startApp } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { writeServerKey } from '../../src/connectors/mtproto/keygen.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { upgradeStatus } from '../helpers/raw-upgrade.ts';
import { mtprotoOf } from '../helpers/app.ts';
import { labelled } from '../../src/cli/args.ts';


test('mtproto.enabled: the app starts the MTProto server with the key file, serves /apiws, and reports port and fingerprint', async () => {
  const tree = makeConfigTree('http: { port: 0 }\nmtproto:\n  enabled: true\n  port: 0\n  rsaKeyFile: ./keys/server.pem\n', { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}, {mtproto: 1001}]\n' });
  try {
    tree.write('keys/.keep', '');
    const fingerprint = writeServerKey(join(tree.dir, 'keys', 'server.pem'));
    const app = await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger });
    try {
      const listening = mtprotoOf(app)?.listeningOn;
      assert.ok(listening, 'mtproto is reported');
      assert.equal(listening.fingerprint, fingerprint);
      assert.ok(listening.port > 0);
      assert.ok(app.listings().some((l) => l.value.includes(fingerprint)), 'the banner names the fingerprint');
      // The banner's lines as `start` prints them: every label followed by at least one space
      // ("MTProto key:" is exactly the 12 columns the labels were once padded to).
      const lines = labelled(app.listings());
      assert.ok(lines.every((l) => /^[A-Za-z ]+: +\S/.test(l)), lines.join('\n'));
      const signed = BigInt.asIntN(64, BigInt(`0x${fingerprint}`)).toString();
      assert.ok(lines.includes(`MTProto key: RSA key fingerprint ${fingerprint} (signed decimal ${signed}; modulus and PEM: switchboard mtproto-key)`), lines.join('\n'));
      assert.match(lines.find((l) => l.startsWith('MTProto:')) ?? '', /^MTProto: {5}127\.0\.0\.1:\d+ \(TCP\)/, 'values in one column');
      await new Promise<void>((resolve, reject) => {
        const s = connect(listening.port, '127.0.0.1', () => { s.destroy(); resolve(); });
        s.on('error', reject);
      });
      assert.match(await upgradeStatus(app.httpPort, '/apiws'), /^HTTP\/1\.1 101/);
      assert.match(await (await fetch(`${app.httpUrl}/metrics`)).text(), /^switchboard_mtproto_/m);
    } finally {
      await app.close();
    }
  } finally {
    tree.cleanup();
  }
});

test('mtproto.enabled without a key file: startApp fails with the config line, and nothing keeps running', async () => {
  const tree = makeConfigTree('http: { port: 0 }\nmtproto:\n  enabled: true\n  port: 0\n', { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
  try {
    await assert.rejects(startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger }), /mtproto\.rsaKeyFile: cannot read/);
  } finally {
    tree.cleanup();
  }
});

test('banner rows: values in one column, at least one space after the longest label', () => {
  assert.deepEqual(labelled([{ label: 'Health', value: 'h' }, { label: 'Rooms', value: 'r' }]), ['Health:     h', 'Rooms:      r']);
  assert.deepEqual(labelled([{ label: 'MTProto key', value: 'k' }, { label: 'Health', value: 'h' }]), ['MTProto key: k', 'Health:      h']);
  assert.deepEqual(labelled([{ label: 'a much longer label here', value: 'v' }]), ['a much longer label here: v']);
});
