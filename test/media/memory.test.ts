import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { AttachmentSchema } from '../../src/core/event.ts';
import { LocalMediaStore } from '../../src/media/local-store.ts';
import { createMediaRoutes, type RouteHandler } from '../../src/media/routes.ts';
import { UrlSigner } from '../../src/media/url-signer.ts';
import { patternBytes, tempDir } from './helpers.ts';
import { startRouteServer } from './http-harness.ts';

/**
 * Files stream through: a 256 MiB upload and its download through the real routes (one process:
 * server, store and client) must not grow the resident set by more than RSS_BOUND over the
 * baseline. Buffering a file whole would add at least its size.
 */
const FILE_BYTES = 256 * 1024 * 1024;
const RSS_BOUND = 64 * 1024 * 1024;

function rssSampler(): { readonly peak: () => number; stop(): void } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 10);
  return { peak: () => Math.max(peak, process.memoryUsage.rss()), stop: () => clearInterval(timer) };
}

test(`a ${FILE_BYTES / 2 ** 20} MiB upload and download through the routes keep RSS within ${RSS_BOUND / 2 ** 20} MiB of the baseline`, { timeout: 240_000 }, async () => {
  const dir = await tempDir();
  let handler: RouteHandler = () => false;
  const server = await startRouteServer((req, res) => handler(req, res));
  try {
    const store = await LocalMediaStore.open({ dir: dir.path, maxBytes: 1024 * 1024 * 1024 });
    handler = createMediaRoutes({ store, signer: new UrlSigner('m'.repeat(32)) }, {
      authorize: () => ({ id: 'tester' }), publicBaseUrl: server.url, urlTtlSeconds: 600,
    });
    const uploadFile = async (data: ReturnType<typeof patternBytes>, size: number) => await new Promise<unknown>((resolve, reject) => {
      const req = request(`${server.url}/media?name=big.bin`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': size } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => (res.statusCode === 201 ? resolve(JSON.parse(Buffer.concat(parts).toString())) : reject(new Error(`upload answered ${res.statusCode}: ${Buffer.concat(parts)}`))));
      });
      req.on('error', reject);
      pipeline(data.stream(), req).catch(reject);
    });
    const downloadHash = async (url: string) => await new Promise<{ sha256: string; bytes: number }>((resolve, reject) => {
      request(url, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        pipeline(res, new Writable({ write(chunk: Buffer, _e, cb) { hash.update(chunk); bytes += chunk.length; cb(); } }))
          .then(() => resolve({ sha256: hash.digest('hex'), bytes }), reject);
      }).on('error', reject).end();
    });

    // Warm up every code path with a small file, then take the baseline.
    const small = patternBytes(4 * 1024 * 1024, 5);
    const warm = AttachmentSchema.parse(await uploadFile(small, 4 * 1024 * 1024));
    await downloadHash(warm.url);
    await new Promise((r) => setTimeout(r, 100));
    const baseline = process.memoryUsage.rss();

    const big = patternBytes(FILE_BYTES, 42);
    const expected = big.sha256();
    const sampler = rssSampler();
    let uploadPeak: number;
    let downloadPeak: number;
    try {
      const att = AttachmentSchema.parse(await uploadFile(big, FILE_BYTES));
      uploadPeak = sampler.peak();
      assert.equal(att.size, FILE_BYTES);
      assert.equal(att.sha256, expected);
      const got = await downloadHash(att.url);
      downloadPeak = sampler.peak();
      assert.equal(got.bytes, FILE_BYTES);
      assert.equal(got.sha256, expected);
    } finally {
      sampler.stop();
    }
    const growth = downloadPeak - baseline;
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
    console.log(`baseline ${mib(baseline)}, peak during upload +${mib(uploadPeak - baseline)}, during download +${mib(downloadPeak - baseline)}`);
    assert.ok(growth < RSS_BOUND, `RSS grew by ${mib(growth)} while ${mib(FILE_BYTES)} passed (bound ${mib(RSS_BOUND)})`);
  } finally {
    await server.close();
    await dir.remove();
  }
});
