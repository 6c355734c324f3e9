// Server keys and mtcute 0.30's key lookup: it files a key under its fingerprint as 16 hex digits
// but looks the server's up without leading zeros, so a key whose fingerprint begins with 0 (one
// in 16) is never found and its handshake is retried forever. `switchboard keygen` (and every key
// the tests make) draws another key then; a server started with such a key says so in its log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { fingerprintLosesLeadingZero, generateServerRsaKey, loadServerRsaKey } from '../../src/connectors/mtproto/crypto/rsa.ts';
import { startServer } from './harness.ts';

test('generated server keys never have a fingerprint beginning with 0 (24 keys: without the redraw, 4 runs in 5 would see one)', () => {
  for (let i = 0; i < 24; i++) {
    const fp = loadServerRsaKey(generateServerRsaKey().privateKeyPem).fingerprintHex;
    assert.equal(fp.length, 16);
    assert.equal(fingerprintLosesLeadingZero(fp), false, fp);
  }
  assert.equal(fingerprintLosesLeadingZero('0f35f0b786e031bf'), true);
  assert.equal(fingerprintLosesLeadingZero('f35f0b786e031bf0'), false);
});

test('a server started with a key whose fingerprint begins with 0 warns in its log (and one without such a fingerprint does not)', async () => {
  let pem: string | undefined;
  for (let i = 0; i < 400 && pem === undefined; i++) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    if (loadServerRsaKey(privateKey).fingerprintHex.startsWith('0')) pem = privateKey;
  }
  assert.ok(pem !== undefined, 'a key with such a fingerprint (one in 16)');
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as { level: number; msg: string }); done(); } });
  const srv = await startServer({ rsaKey: loadServerRsaKey(pem), logger: pino({ level: 'info' }, sink) });
  try {
    await new Promise((r) => setImmediate(r));
    const warn = lines.find((l) => l.level === 40 && /fingerprint begins with 0/.test(l.msg));
    assert.ok(warn, JSON.stringify(lines));
    assert.match(warn.msg, /mtcute/);
  } finally {
    await srv.stop();
  }
  // A key without one: no such line.
  lines.length = 0;
  const other = await startServer({ rsaKey: loadServerRsaKey(generateServerRsaKey().privateKeyPem), logger: pino({ level: 'info' }, sink) });
  try {
    await new Promise((r) => setImmediate(r));
    assert.ok(lines.some((l) => /listening/.test(l.msg)));
    assert.ok(!lines.some((l) => /fingerprint begins with 0/.test(l.msg)));
  } finally {
    await other.stop();
  }
});
