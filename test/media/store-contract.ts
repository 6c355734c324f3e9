import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isMediaError, MediaErrorCode } from '../../src/media/errors.ts';
import type { MediaStore } from '../../src/media/store.ts';
import { patternBytes, readAll, sha256Hex } from './helpers.ts';

export interface StoreUnderTest {
  readonly store: MediaStore;
  /** The local directory the store spools puts to (its temp files). */
  readonly spoolDir: string;
  /** Every trace the store has left anywhere (files, objects), as names; [] when it holds nothing. */
  traces(): Promise<string[]>;
  /** Temp files only (what a finished put must not leave). */
  debris(): Promise<string[]>;
  dispose(): Promise<void>;
}

export interface StoreOpenOptions {
  readonly maxBytes?: number;
  readonly allow?: string[];
  readonly deny?: string[];
  readonly now?: () => number;
}

/** How one driver makes a fresh, empty store for a test. */
export interface StoreDriver {
  readonly name: string;
  open(options?: StoreOpenOptions): Promise<StoreUnderTest>;
}

export const rejectsWith = (code: string) => (err: unknown) => {
  assert.ok(isMediaError(err), `expected a MediaError, got ${String(err)}`);
  assert.equal(err.code, code);
  return true;
};

/**
 * The MediaStore contract (src/media/store.ts), as tests every driver must pass unchanged: the
 * local directory and the S3-compatible driver run exactly these.
 */
export function storeContract(driver: StoreDriver): void {
  const withStore = async (fn: (s: StoreUnderTest) => Promise<void>, options: StoreOpenOptions = {}): Promise<void> => {
    const s = await driver.open({ maxBytes: 1024 * 1024, ...options });
    try {
      await fn(s);
    } finally {
      await s.dispose();
    }
  };
  const name = (what: string) => `${driver.name}: ${what}`;

  test(name('put stores content under its SHA-256 and gives it back whole, by range, and by stat'), () => withStore(async (s) => {
    const body = Buffer.from('hello, media store\n');
    const ref = await s.store.put(Readable.from([body]), { mime: 'text/plain; charset=utf-8', declaredSize: body.length });
    assert.equal(ref.id, sha256Hex(body));
    assert.equal(ref.sha256, ref.id);
    assert.equal(ref.size, body.length);
    assert.equal(ref.mime, 'text/plain');
    const st = await s.store.stat(ref.id);
    assert.deepEqual({ ...st, touchedAt: 0 }, { ...ref, touchedAt: 0 });
    assert.deepEqual(await readAll((await s.store.open(ref.id))!), body);
    assert.equal(String(await readAll((await s.store.open(ref.id, { start: 7, end: 11 }))!)), 'media');
    assert.equal(String(await readAll((await s.store.open(ref.id, { start: 18, end: 18 }))!)), '\n', 'the last byte alone');
    assert.deepEqual(await s.debris(), [], 'no temp file left');
  }));

  test(name('the same content put twice, and ten times concurrently, is stored once and every put gets the same reference'), () => withStore(async (s) => {
    const data = patternBytes(300_000, 7);
    const first = await s.store.put(data.stream(), { mime: 'application/x-thing' });
    const refs = await Promise.all(Array.from({ length: 10 }, () => s.store.put(data.stream(), { mime: 'application/other' })));
    for (const r of refs) assert.deepEqual(r, first, 'the first put fixed the stored type');
    assert.equal(first.id, data.sha256());
    const listed = [];
    for await (const m of s.store.list()) listed.push(m.id);
    assert.deepEqual(listed, [first.id]);
    assert.deepEqual(await s.debris(), []);
  }));

  test(name('ten different files put concurrently are all stored intact'), () => withStore(async (s) => {
    const files = Array.from({ length: 10 }, (_, i) => patternBytes(50_000 + i * 1000, 100 + i));
    const refs = await Promise.all(files.map((f) => s.store.put(f.stream())));
    for (const [i, f] of files.entries()) {
      assert.equal(refs[i]!.id, f.sha256());
      assert.equal(sha256Hex(await readAll((await s.store.open(refs[i]!.id))!)), f.sha256());
    }
    assert.deepEqual(await s.debris(), []);
  }));

  test(name('a stream over the limit is cut off while streaming and leaves nothing behind'), () => withStore(async (s) => {
    const data = patternBytes(20 * 1024 * 1024, 3);
    await assert.rejects(s.store.put(data.stream()), rejectsWith(MediaErrorCode.TooLarge));
    assert.ok(data.pulled() < 4 * 1024 * 1024, `read ${data.pulled()} bytes of a 20 MiB source for a 1 MiB limit`);
    assert.deepEqual(await s.traces(), []);
  }));

  test(name('a declared size over the limit is refused before a byte is read'), () => withStore(async (s) => {
    const data = patternBytes(2 * 1024 * 1024, 3);
    await assert.rejects(s.store.put(data.stream(), { declaredSize: 2 * 1024 * 1024 }), rejectsWith(MediaErrorCode.TooLarge));
    assert.equal(data.pulled(), 0);
    assert.deepEqual(await s.traces(), []);
  }));

  test(name('a per-put limit lowers the store limit (and cannot raise it)'), () => withStore(async (s) => {
    await assert.rejects(s.store.put(patternBytes(2000).stream(), { maxBytes: 1000 }), rejectsWith(MediaErrorCode.TooLarge));
    await assert.rejects(s.store.put(patternBytes(2 * 1024 * 1024).stream(), { maxBytes: 10 * 1024 * 1024 }), rejectsWith(MediaErrorCode.TooLarge));
    const ok = await s.store.put(patternBytes(1000).stream(), { maxBytes: 1000 });
    assert.equal(ok.size, 1000);
  }));

  test(name('a size different from the declared one is refused and leaves nothing'), () => withStore(async (s) => {
    await assert.rejects(s.store.put(Readable.from([Buffer.from('12345')]), { declaredSize: 6 }), rejectsWith(MediaErrorCode.SizeMismatch));
    await assert.rejects(s.store.put(Readable.from([Buffer.from('1234567')]), { declaredSize: 6 }), rejectsWith(MediaErrorCode.SizeMismatch));
    assert.deepEqual(await s.traces(), []);
  }));

  test(name('a source that fails half way is "aborted" and leaves nothing'), () => withStore(async (s) => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(100_000, 1);
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    }
    await assert.rejects(s.store.put(failing()), rejectsWith(MediaErrorCode.Aborted));
    assert.deepEqual(await s.traces(), []);
  }));

  test(name('declared types cannot hide HTML or SVG: the bytes decide, and the deny list applies to what they are'), async () => {
    const html = Buffer.from('\n  <!DOCTYPE html><html><script>alert(1)</script></html>');
    const svg = Buffer.from('<?xml version="1.0"?>\n<!-- x -->\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    await withStore(async (s) => {
      assert.equal((await s.store.put(Readable.from([html]), { mime: 'image/png' })).mime, 'text/html');
      assert.equal((await s.store.put(Readable.from([svg]), { mime: 'text/plain' })).mime, 'image/svg+xml');
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100)]);
      const pngRef = await s.store.put(Readable.from([png]), { mime: 'text/html' });
      assert.equal(pngRef.mime, 'image/png', 'media bytes beat a declared scriptable type');
      assert.equal((await s.store.stat(pngRef.id))?.mime, 'image/png', 'the stored type is what stat reports');
      assert.equal((await s.store.put(Readable.from([Buffer.from('just words')]), { mime: 'application/json' })).mime, 'application/json');
      assert.equal((await s.store.put(Readable.from([Buffer.from('other words')]))).mime, 'text/plain');
      assert.equal((await s.store.put(Readable.from([Buffer.from([0, 1, 2, 3])]))).mime, 'application/octet-stream');
    });
    await withStore(async (s) => {
      await assert.rejects(s.store.put(Readable.from([html]), { mime: 'image/png' }), rejectsWith(MediaErrorCode.UnsupportedType));
      await assert.rejects(s.store.put(Readable.from([svg]), { mime: 'image/png' }), rejectsWith(MediaErrorCode.UnsupportedType));
      assert.deepEqual(await s.traces(), []);
    }, { deny: ['text/html', 'image/svg+xml'] });
    await withStore(async (s) => {
      const big = patternBytes(500_000, 9); // binary, no signature
      await assert.rejects(s.store.put(big.stream(), { mime: 'application/zip' }), rejectsWith(MediaErrorCode.UnsupportedType));
      assert.ok(big.pulled() < 200_000, 'refused after the head, not at the end');
      assert.deepEqual(await s.traces(), []);
      const gif = await s.store.put(Readable.from([Buffer.from('GIF89a\x01\x00\x01\x00')]), { mime: 'application/octet-stream' });
      assert.equal(gif.mime, 'image/gif');
    }, { allow: ['image/*'] });
  });

  test(name('empty content is a valid file'), () => withStore(async (s) => {
    const ref = await s.store.put(Readable.from([]), { mime: 'text/plain', declaredSize: 0 });
    assert.equal(ref.size, 0);
    assert.equal(ref.id, sha256Hex(''));
    assert.equal((await s.store.stat(ref.id))?.size, 0);
    assert.deepEqual(await readAll((await s.store.open(ref.id))!), Buffer.alloc(0));
  }));

  test(name('delete removes content; notTouchedSince keeps content put or touched since; bad ids find nothing'), async () => {
    let now = 1_000_000;
    await withStore(async (s) => {
      const ref = await s.store.put(Readable.from([Buffer.from('abc')]));
      assert.equal((await s.store.stat(ref.id))?.touchedAt, 1_000_000);
      now = 2_000_000;
      await s.store.put(Readable.from([Buffer.from('abc')]));
      assert.equal((await s.store.stat(ref.id))?.touchedAt, 2_000_000, 'a put of stored content is a fresh reference');
      assert.equal(await s.store.delete(ref.id, { notTouchedSince: 1_500_000 }), false, 'touched at 2,000,000: kept');
      assert.ok(await s.store.stat(ref.id));
      now = 3_000_000;
      assert.equal(await s.store.touch(ref.id), true);
      assert.equal((await s.store.stat(ref.id))?.touchedAt, 3_000_000);
      assert.equal(await s.store.delete(ref.id, { notTouchedSince: 2_500_000 }), false, 'touched at 3,000,000: kept');
      assert.equal(await s.store.delete(ref.id, { notTouchedSince: 3_000_001 }), true);
      assert.equal(await s.store.stat(ref.id), undefined);
      assert.equal(await s.store.open(ref.id), undefined);
      assert.equal(await s.store.delete(ref.id), false);
      assert.equal(await s.store.touch(ref.id), false);
      assert.deepEqual(await s.traces(), []);
      for (const bad of ['../../etc/passwd', 'A'.repeat(64), '', `${'a'.repeat(64)}/..`]) {
        assert.equal(await s.store.stat(bad as never), undefined);
        assert.equal(await s.store.open(bad as never), undefined);
        assert.equal(await s.store.delete(bad as never), false);
        assert.equal(await s.store.touch(bad as never), false);
      }
    }, { maxBytes: 1000, now: () => now });
  });

  test(name('list yields exactly the stored content; removeDebris removes old temp files only'), () => withStore(async (s) => {
    const a = await s.store.put(Readable.from([Buffer.from('a')]));
    const b = await s.store.put(Readable.from([Buffer.from('b')]));
    const seen = [];
    for await (const m of s.store.list()) seen.push(m.id);
    assert.deepEqual(seen.sort(), [a.id, b.id].sort());

    const old = new Date(Date.now() - 3_600_000);
    const strayTmp = join(s.spoolDir, 'crashed.part');
    const freshTmp = join(s.spoolDir, 'in-progress.part');
    await writeFile(strayTmp, 'x');
    await utimes(strayTmp, old, old);
    await writeFile(freshTmp, 'y');
    assert.equal(await s.store.removeDebris(60_000), 1);
    assert.deepEqual((await s.debris()).map((p) => p.split('/').pop()), ['in-progress.part']);
    assert.ok(await s.store.stat(a.id));
    assert.ok(await s.store.stat(b.id));
  }));
}
