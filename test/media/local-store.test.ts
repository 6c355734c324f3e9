import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { diskFull, LocalMediaStore } from '../../src/media/local-store.ts';
import { MediaErrorCode } from '../../src/media/errors.ts';
import { mediaIdOf } from '../../src/media/media-id.ts';
import { filesUnder, sha256Hex, tempDir } from './helpers.ts';
import { storeContract, type StoreOpenOptions } from './store-contract.ts';

async function openLocal(options: StoreOpenOptions = {}) {
  const dir = await tempDir();
  const store = await LocalMediaStore.open({
    dir: dir.path, maxBytes: options.maxBytes ?? 1024 * 1024,
    types: { ...(options.allow ? { allow: options.allow } : {}), ...(options.deny ? { deny: options.deny } : {}) },
    ...(options.now ? { now: options.now } : {}),
  });
  return {
    store, dir: dir.path, spoolDir: join(dir.path, 'tmp'),
    traces: () => filesUnder(dir.path),
    debris: () => filesUnder(join(dir.path, 'tmp')),
    dispose: () => dir.remove(),
  };
}

storeContract({ name: 'local', open: openLocal });

test('local: the layout is blobs/ab/cd/<sha256> plus its .json metadata, and no temp file', async () => {
  const s = await openLocal();
  try {
    const ref = await s.store.put(Readable.from([Buffer.from('hello, media store\n')]));
    const id = ref.id;
    assert.deepEqual(await filesUnder(join(s.dir, 'blobs')), [`${id.slice(0, 2)}/${id.slice(2, 4)}/${id}`, `${id.slice(0, 2)}/${id.slice(2, 4)}/${id}.json`]);
    assert.deepEqual(await s.debris(), []);
  } finally {
    await s.dispose();
  }
});

test('local: removeDebris also removes half-published content (a blob without metadata) once old', async () => {
  const s = await openLocal();
  try {
    const kept = await s.store.put(Readable.from([Buffer.from('kept')]));
    const old = new Date(Date.now() - 3_600_000);
    const orphanId = mediaIdOf(sha256Hex('orphan'));
    const shard = join(s.dir, 'blobs', orphanId.slice(0, 2), orphanId.slice(2, 4));
    await mkdir(shard, { recursive: true });
    await writeFile(join(shard, orphanId), 'orphan');
    await utimes(join(shard, orphanId), old, old);
    const freshOrphan = mediaIdOf(sha256Hex('fresh orphan'));
    const freshShard = join(s.dir, 'blobs', freshOrphan.slice(0, 2), freshOrphan.slice(2, 4));
    await mkdir(freshShard, { recursive: true });
    await writeFile(join(freshShard, `${freshOrphan}.json`), '{}');
    assert.equal(await s.store.removeDebris(60_000), 1);
    const left = await s.traces();
    assert.ok(!left.some((f) => f.endsWith(orphanId)));
    assert.ok(left.some((f) => f.endsWith(`${freshOrphan}.json`)), 'young leftovers may be a put in progress');
    assert.ok(await s.store.stat(kept.id));
  } finally {
    await s.dispose();
  }
});

test('local: a disk that takes no more (full, over quota, read-only) is the store being unavailable (503 and Retry-After for an upload), other failures are not', () => {
  // A put on a full tmpfs fails with exactly this (checked by hand: mount -t tmpfs -o size=64k).
  for (const code of ['ENOSPC', 'EDQUOT', 'EROFS']) {
    const err = Object.assign(new Error(`write failed: ${code}`), { code });
    assert.equal(diskFull(err)?.code, MediaErrorCode.StoreUnavailable, code);
    assert.equal(diskFull(err)?.cause, err);
  }
  assert.equal(diskFull(Object.assign(new Error('no such file'), { code: 'ENOENT' })), undefined);
  assert.equal(diskFull(new Error('no code')), undefined);
});
