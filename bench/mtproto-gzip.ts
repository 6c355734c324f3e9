/**
 * What packing a large MTProto API result costs (session/gzip-results.ts, `mtproto.gzipResultsFrom`):
 * µs per result and the packed size, at the level it uses (1) beside zlib's default (6) in the same
 * run. The body is TL-shaped: per message a constructor id, 12 bytes of ids and a short text, as in
 * a history or difference. Below 64 KiB the packing runs on the event loop, above in the thread pool.
 *
 * Alone: `node --import tsx bench/mtproto-gzip.ts`.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { packResult } from '../src/connectors/mtproto/session/gzip-results.ts';
import type { BenchResult } from './result.ts';

function tlShaped(size: number): Uint8Array {
  const parts: Buffer[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const part = Buffer.concat([Buffer.from([0x8c, 0x71, 0x8b, 0x76]), randomBytes(12), Buffer.from(`message ${i}: the quick brown fox ${i * 7919}`)]);
    parts.push(part);
    length += part.length;
  }
  return new Uint8Array(Buffer.concat(parts).subarray(0, size));
}

/** Mean µs per call over at least `minMs` (and at least 5 calls). */
async function timed(fn: () => unknown, minMs: number): Promise<number> {
  const start = performance.now();
  let calls = 0;
  while (calls < 5 || performance.now() - start < minMs) {
    await fn();
    calls++;
  }
  return ((performance.now() - start) * 1000) / calls;
}

export async function runMtprotoGzipBench(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const size of [10 * 1024, 100 * 1024, 1024 * 1024]) {
    const bodies = Array.from({ length: 4 }, () => tlShaped(size));
    let k = 0;
    const used = await timed(() => packResult(bodies[k++ & 3]!), 400);
    const level6 = await timed(() => gzipSync(bodies[k++ & 3]!, { level: 6 }), 400);
    const packed = (await packResult(bodies[0]!)).length;
    const packed6 = gzipSync(bodies[0]!, { level: 6 }).length;
    const kib = Math.round(size / 1024);
    out.push({
      name: `mtproto: gzip_packed result of ${kib} KiB (level 1${size >= 64 * 1024 ? ', thread pool' : ', event loop'})`,
      value: Math.round(used), unit: 'µs',
      baseline: { name: 'zlib level 6 (its default), same input', value: Math.round(level6) },
      ratio: Math.round((used / level6) * 100) / 100,
      note: `packed to ${Math.round((packed / size) * 100)}% of the size (level 6: ${Math.round((packed6 / size) * 100)}%)`,
    });
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runMtprotoGzipBench().then((rs) => {
    for (const r of rs) console.log(`${r.name}: ${r.value} ${r.unit} (${r.ratio}x ${r.baseline?.name}: ${r.baseline?.value}) - ${r.note}`);
  }, (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
