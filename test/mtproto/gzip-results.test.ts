import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { packResult, worthPacking } from '../../src/connectors/mtproto/session/gzip-results.ts';
import { GZIP_PACKED_ID } from '../../src/connectors/mtproto/tl/codec.ts';
import { TlReader } from '../../src/connectors/mtproto/tl/reader.ts';

const compressible = (n: number) => new Uint8Array(Buffer.from('abcdefgh'.repeat(Math.ceil(n / 8)).slice(0, n)));

async function unpacked(out: Uint8Array): Promise<Uint8Array> {
  const r = new TlReader(out);
  assert.equal(r.uint32(), GZIP_PACKED_ID);
  const inner = new Uint8Array(gunzipSync(r.bytes()));
  assert.equal(r.remaining, 0, 'nothing after the packed bytes (TL bytes padding included)');
  return inner;
}

test('a result that packs smaller becomes gzip_packed holding exactly its bytes, packed inline or in the thread pool', async () => {
  for (const size of [4096, 200 * 1024]) {
    const body = compressible(size);
    const out = await packResult(body);
    assert.ok(out.length < body.length, `${size}: smaller`);
    assert.deepEqual(await unpacked(out), body, `${size}: the same bytes inside`);
  }
});

test('a result that does not pack smaller goes as it is', async () => {
  const noise = new Uint8Array(randomBytes(4096));
  assert.equal(await packResult(noise), noise, 'random bytes only grow in gzip');
});

test('worth packing: from fromBytes bytes on, never with fromBytes 0', () => {
  assert.equal(worthPacking(1023, 1024), false);
  assert.equal(worthPacking(1024, 1024), true);
  assert.equal(worthPacking(1 << 20, 0), false);
});
