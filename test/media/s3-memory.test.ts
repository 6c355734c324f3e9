import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { S3MediaStore } from '../../src/media/s3-store.ts';
import { startS3Server } from '../helpers/s3.ts';
import { patternBytes, tempDir } from './helpers.ts';

/**
 * The S3 driver streams: a 200 MiB generated file put into the bucket (source -> spool file ->
 * PutObject) and read back (GetObject -> hash) must not grow this process's resident set by
 * more than RSS_BOUND over the baseline. The S3 server is another process: only our memory is
 * measured. Buffering the file whole anywhere on our side would add at least its size.
 */
const FILE_BYTES = 200 * 1024 * 1024;
const RSS_BOUND = 64 * 1024 * 1024;

function rssSampler(): { readonly peak: () => number; stop(): void } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10);
  return { peak: () => Math.max(peak, process.memoryUsage.rss()), stop: () => clearInterval(timer) };
}

test(`s3: a ${FILE_BYTES / 2 ** 20} MiB file into the bucket and back keeps RSS within ${RSS_BOUND / 2 ** 20} MiB of the baseline`, { timeout: 300_000 }, async (t) => {
  const server = await startS3Server();
  t.after(() => server.stop());
  const spool = await tempDir('sb-s3-spool-');
  t.after(() => spool.remove());
  const store = await S3MediaStore.open({
    s3: { endpoint: server.endpoint, region: 'us-east-1', bucket: server.bucket, forcePathStyle: true, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey, timeoutMs: 60_000 },
    prefix: 'big/', spoolDir: spool.path, maxBytes: 1024 * 1024 * 1024,
  });
  t.after(() => store.close());
  const roundTrip = async (data: ReturnType<typeof patternBytes>) => {
    const ref = await store.put(data.stream(), { mime: 'application/octet-stream' });
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of (await store.open(ref.id))!) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    return { ref, bytes, sha256: hash.digest('hex') };
  };

  // Warm up every code path with a small file, then take the baseline.
  await roundTrip(patternBytes(4 * 1024 * 1024, 5));
  await new Promise((r) => setTimeout(r, 100));
  const baseline = process.memoryUsage.rss();

  const big = patternBytes(FILE_BYTES, 42);
  const expected = big.sha256();
  const sampler = rssSampler();
  let result: Awaited<ReturnType<typeof roundTrip>>;
  try {
    result = await roundTrip(big);
  } finally {
    sampler.stop();
  }
  assert.equal(result.ref.size, FILE_BYTES);
  assert.equal(result.ref.id, expected);
  assert.equal(result.bytes, FILE_BYTES);
  assert.equal(result.sha256, expected);
  const growth = sampler.peak() - baseline;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log(`baseline ${mib(baseline)}, peak growth during put and get of ${mib(FILE_BYTES)}: +${mib(growth)}`);
  assert.ok(growth < RSS_BOUND, `RSS grew by ${mib(growth)} while ${mib(FILE_BYTES)} passed (bound ${mib(RSS_BOUND)})`);
});
