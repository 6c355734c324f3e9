import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimes, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalMediaStore } from '../../src/media/local-store.ts';
import { isMediaError, MediaErrorCode } from '../../src/media/errors.ts';
import { mediaIdOf } from '../../src/media/media-id.ts';
import { filesUnder, patternBytes, readAll, sha256Hex, tempDir } from './helpers.ts';

async function withStore(fn: (store: LocalMediaStore, dir: string) => Promise<void>, options: { maxBytes?: number; allow?: string[]; deny?: string[] } = {}): Promise<void> {
  const dir = await tempDir();
  try {
    const store = await LocalMediaStore.open({ dir: dir.path, maxBytes: options.maxBytes ?? 1024 * 1024, types: { ...(options.allow ? { allow: options.allow } : {}), ...(options.deny ? { deny: options.deny } : {}) } });
    await fn(store, dir.path);
  } finally {
    await dir.remove();
  }
}

const rejectsWith = (code: string) => (err: unknown) => {
  assert.ok(isMediaError(err), `expected a MediaError, got ${String(err)}`);
  assert.equal(err.code, code);
  return true;
};

test('put stores content under its SHA-256 and gives it back whole, by range, and by stat', () => withStore(async (store, dir) => {
  const body = Buffer.from('hello, media store\n');
  const ref = await store.put(Readable.from([body]), { mime: 'text/plain; charset=utf-8', declaredSize: body.length });
  assert.equal(ref.id, sha256Hex(body));
  assert.equal(ref.sha256, ref.id);
  assert.equal(ref.size, body.length);
  assert.equal(ref.mime, 'text/plain');
  const st = await store.stat(ref.id);
  assert.deepEqual({ ...st, touchedAt: 0 }, { ...ref, touchedAt: 0 });
  assert.deepEqual(await readAll((await store.open(ref.id))!), body);
  assert.equal(String(await readAll((await store.open(ref.id, { start: 7, end: 11 }))!)), 'media');
  assert.deepEqual(await filesUnder(join(dir, 'tmp')), [], 'no temp file left');
  const id = ref.id;
  assert.deepEqual(await filesUnder(join(dir, 'blobs')), [`${id.slice(0, 2)}/${id.slice(2, 4)}/${id}`, `${id.slice(0, 2)}/${id.slice(2, 4)}/${id}.json`]);
}));

test('the same content put twice, and ten times concurrently, is stored once and every put gets the same reference', () => withStore(async (store, dir) => {
  const data = patternBytes(300_000, 7);
  const first = await store.put(data.stream(), { mime: 'application/x-thing' });
  const refs = await Promise.all(Array.from({ length: 10 }, () => store.put(data.stream(), { mime: 'application/other' })));
  for (const r of refs) assert.deepEqual(r, first, 'the first put fixed the stored type');
  assert.equal(first.id, data.sha256());
  assert.equal((await filesUnder(join(dir, 'blobs'))).length, 2);
  assert.deepEqual(await filesUnder(join(dir, 'tmp')), []);
}));

test('a stream over the limit is cut off while streaming and leaves no file behind', () => withStore(async (store, dir) => {
  const data = patternBytes(20 * 1024 * 1024, 3);
  await assert.rejects(store.put(data.stream()), rejectsWith(MediaErrorCode.TooLarge));
  assert.ok(data.pulled() < 4 * 1024 * 1024, `read ${data.pulled()} bytes of a 20 MiB source for a 1 MiB limit`);
  assert.deepEqual(await filesUnder(dir), []);
}));

test('a declared size over the limit is refused before a byte is read', () => withStore(async (store, dir) => {
  const data = patternBytes(2 * 1024 * 1024, 3);
  await assert.rejects(store.put(data.stream(), { declaredSize: 2 * 1024 * 1024 }), rejectsWith(MediaErrorCode.TooLarge));
  assert.equal(data.pulled(), 0);
  assert.deepEqual(await filesUnder(dir), []);
}));

test('a per-put limit lowers the store limit (and cannot raise it)', () => withStore(async (store) => {
  await assert.rejects(store.put(patternBytes(2000).stream(), { maxBytes: 1000 }), rejectsWith(MediaErrorCode.TooLarge));
  await assert.rejects(store.put(patternBytes(2 * 1024 * 1024).stream(), { maxBytes: 10 * 1024 * 1024 }), rejectsWith(MediaErrorCode.TooLarge));
  const ok = await store.put(patternBytes(1000).stream(), { maxBytes: 1000 });
  assert.equal(ok.size, 1000);
}));

test('a size different from the declared one is refused and leaves nothing', () => withStore(async (store, dir) => {
  await assert.rejects(store.put(Readable.from([Buffer.from('12345')]), { declaredSize: 6 }), rejectsWith(MediaErrorCode.SizeMismatch));
  await assert.rejects(store.put(Readable.from([Buffer.from('1234567')]), { declaredSize: 6 }), rejectsWith(MediaErrorCode.SizeMismatch));
  assert.deepEqual(await filesUnder(dir), []);
}));

test('a source that fails half way is "aborted" and leaves nothing', () => withStore(async (store, dir) => {
  async function* failing(): AsyncGenerator<Buffer> {
    yield Buffer.alloc(100_000, 1);
    throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  }
  await assert.rejects(store.put(failing()), rejectsWith(MediaErrorCode.Aborted));
  assert.deepEqual(await filesUnder(dir), []);
}));

test('declared types cannot hide HTML or SVG: the bytes decide, and the deny list applies to what they are', async () => {
  const html = Buffer.from('\n  <!DOCTYPE html><html><script>alert(1)</script></html>');
  const svg = Buffer.from('<?xml version="1.0"?>\n<!-- x -->\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
  await withStore(async (store) => {
    assert.equal((await store.put(Readable.from([html]), { mime: 'image/png' })).mime, 'text/html');
    assert.equal((await store.put(Readable.from([svg]), { mime: 'text/plain' })).mime, 'image/svg+xml');
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100)]);
    assert.equal((await store.put(Readable.from([png]), { mime: 'text/html' })).mime, 'image/png', 'media bytes beat a declared scriptable type');
    assert.equal((await store.put(Readable.from([Buffer.from('just words')]), { mime: 'application/json' })).mime, 'application/json');
    assert.equal((await store.put(Readable.from([Buffer.from('other words')]))).mime, 'text/plain');
    assert.equal((await store.put(Readable.from([Buffer.from([0, 1, 2, 3])]))).mime, 'application/octet-stream');
  });
  await withStore(async (store, dir) => {
    await assert.rejects(store.put(Readable.from([html]), { mime: 'image/png' }), rejectsWith(MediaErrorCode.UnsupportedType));
    await assert.rejects(store.put(Readable.from([svg]), { mime: 'image/png' }), rejectsWith(MediaErrorCode.UnsupportedType));
    assert.deepEqual(await filesUnder(dir), []);
  }, { deny: ['text/html', 'image/svg+xml'] });
  await withStore(async (store, dir) => {
    const big = patternBytes(500_000, 9); // binary, no signature
    await assert.rejects(store.put(big.stream(), { mime: 'application/zip' }), rejectsWith(MediaErrorCode.UnsupportedType));
    assert.ok(big.pulled() < 200_000, 'refused after the head, not at the end');
    assert.deepEqual(await filesUnder(dir), []);
    const gif = await store.put(Readable.from([Buffer.from('GIF89a\x01\x00\x01\x00')]), { mime: 'application/octet-stream' });
    assert.equal(gif.mime, 'image/gif');
  }, { allow: ['image/*'] });
});

test('empty content is a valid file', () => withStore(async (store) => {
  const ref = await store.put(Readable.from([]), { mime: 'text/plain', declaredSize: 0 });
  assert.equal(ref.size, 0);
  assert.equal(ref.id, sha256Hex(''));
  assert.deepEqual(await readAll((await store.open(ref.id))!), Buffer.alloc(0));
}));

test('delete removes content; notTouchedSince keeps content put again since; bad ids find nothing', () => withStore(async (store) => {
  let now = 1_000_000;
  const dir = await tempDir();
  try {
    const clocked = await LocalMediaStore.open({ dir: dir.path, maxBytes: 1000, now: () => now });
    const ref = await clocked.put(Readable.from([Buffer.from('abc')]));
    assert.equal((await clocked.stat(ref.id))?.touchedAt, 1_000_000);
    now = 2_000_000;
    await clocked.put(Readable.from([Buffer.from('abc')]));
    assert.equal(await clocked.delete(ref.id, { notTouchedSince: 1_500_000 }), false, 'touched at 2,000,000: kept');
    assert.ok(await clocked.stat(ref.id));
    assert.equal(await clocked.delete(ref.id, { notTouchedSince: 2_000_001 }), true);
    assert.equal(await clocked.stat(ref.id), undefined);
    assert.equal(await clocked.open(ref.id), undefined);
    assert.equal(await clocked.delete(ref.id), false);
    assert.equal(await clocked.touch(ref.id), false);
  } finally {
    await dir.remove();
  }
  for (const bad of ['../../etc/passwd', 'A'.repeat(64), '', `${'a'.repeat(64)}/..`]) {
    assert.equal(await store.stat(bad as never), undefined);
    assert.equal(await store.open(bad as never), undefined);
    assert.equal(await store.delete(bad as never), false);
  }
}));

test('list yields stored content; removeDebris removes old temp files and half-published content only', () => withStore(async (store, dir) => {
  const a = await store.put(Readable.from([Buffer.from('a')]));
  const b = await store.put(Readable.from([Buffer.from('b')]));
  const seen = [];
  for await (const m of store.list()) seen.push(m.id);
  assert.deepEqual(seen.sort(), [a.id, b.id].sort());

  const old = new Date(Date.now() - 3_600_000);
  const strayTmp = join(dir, 'tmp', 'crashed.part');
  const freshTmp = join(dir, 'tmp', 'in-progress.part');
  await writeFile(strayTmp, 'x');
  await utimes(strayTmp, old, old);
  await writeFile(freshTmp, 'y');
  const orphanId = mediaIdOf(sha256Hex('orphan'));
  const shard = join(dir, 'blobs', orphanId.slice(0, 2), orphanId.slice(2, 4));
  await mkdir(shard, { recursive: true });
  await writeFile(join(shard, orphanId), 'orphan');
  await utimes(join(shard, orphanId), old, old);

  assert.equal(await store.removeDebris(60_000), 2);
  const left = await filesUnder(dir);
  assert.ok(left.includes('tmp/in-progress.part'));
  assert.ok(!left.includes('tmp/crashed.part'));
  assert.ok(!left.some((f) => f.endsWith(orphanId)));
  assert.ok(await store.stat(a.id));
  assert.ok(await store.stat(b.id));
}));
