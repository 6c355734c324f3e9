import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

/** A fresh temp directory and its removal, for one test. */
export async function tempDir(prefix = 'sb-media-'): Promise<{ readonly path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Deterministic pseudo-random bytes (xorshift), generated chunk by chunk: big test files are
 * made on the fly and never exist in memory or in the repository as a whole.
 */
export function patternBytes(total: number, seed = 1, chunkSize = 64 * 1024): { stream: () => Readable; sha256: () => string; pulled: () => number } {
  let pulled = 0;
  function* chunks(): Generator<Buffer> {
    let x = seed >>> 0 || 1;
    for (let off = 0; off < total; off += chunkSize) {
      const n = Math.min(chunkSize, total - off);
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i + 4 <= n; i += 4) {
        x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        b.writeUInt32LE(x, i);
      }
      for (let i = n - (n % 4); i < n; i++) b[i] = i & 0xff;
      pulled += n;
      yield b;
    }
  }
  return {
    stream: () => Readable.from(chunks(), { objectMode: false }),
    sha256: () => {
      const h = createHash('sha256');
      for (const c of chunks()) h.update(c);
      pulled -= total;
      return h.digest('hex');
    },
    pulled: () => pulled,
  };
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** Every file under dir, relative paths, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1)).sort();
}
