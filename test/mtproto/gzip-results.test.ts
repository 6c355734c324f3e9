import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { GZIP_PACKED_ID, packResult } from '../../src/connectors/mtproto/session/gzip-results.ts';
import { TlReader } from '../../src/connectors/mtproto/tl/reader.ts';

const compressible = (n: number) => new Uint8Array(Buffer.from('abcdefgh'.repeat(Math.ceil(n / 8)).slice(0, n)));

test('a result of at least fromBytes that packs smaller becomes gzip_packed holding exactly its bytes', () => {
  const body = compressible(4096);
  const out = packResult(body, 1024);
  assert.ok(out.length < body.length);
  const r = new TlReader(out);
  assert.equal(r.uint32(), GZIP_PACKED_ID);
  assert.deepEqual(new Uint8Array(gunzipSync(r.bytes())), body);
  assert.equal(r.remaining, 0, 'nothing after the packed bytes (TL bytes padding included)');
});

test('small results, results that do not pack smaller, and fromBytes 0 go as they are', () => {
  const small = compressible(1023);
  assert.equal(packResult(small, 1024), small);
  const noise = new Uint8Array(randomBytes(4096));
  assert.equal(packResult(noise, 1024), noise, 'random bytes only grow in gzip');
  const large = compressible(8192);
  assert.equal(packResult(large, 0), large);
  assert.equal(new TlReader(packResult(compressible(1024), 1024)).uint32(), GZIP_PACKED_ID, 'exactly fromBytes bytes is large enough');
});
