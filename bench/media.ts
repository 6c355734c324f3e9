/**
 * Media benchmark (issue #10): a file through the bridge's media routes against plain node:http
 * in the same run, with the servers in a child process (bench/media-worker.ts) and this process
 * as the client.
 *
 * - download (the issue's target, >= 0.8x): GET of the signed URL of a file that was just
 *   uploaded and stored (signature check, stat, headers, file stream) vs Node serving the same
 *   bytes from disk with plain node:http (fs.createReadStream piped to the response);
 * - upload: POST /media (streamed into the LocalMediaStore: SHA-256, sniffing, limit count,
 *   temp file, fsync, link into place) vs a plain PUT piped to a file (no hash, no fsync);
 * - round trip: upload + download, MB/s over both, against the plain pair;
 * - memory: the server process's peak RSS over its baseline while a file goes up and down, for
 *   a 100 MiB and a 500 MiB file (target: flat, the 500 MiB figure no larger).
 * Throughput rounds (THROUGHPUT_MB files) alternate the two paths; the median round is
 * compared. Run alone: `node --import tsx bench/media.ts` (MEDIA_BENCH_MB sets the big file).
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './result.ts';

const MiB = 1024 * 1024;
const BIG = Number(process.env['MEDIA_BENCH_MB'] ?? 500) * MiB;
const SMALL = 100 * MiB;
/** Throughput is compared on this size: big enough to dwarf per-request costs, small enough to keep `npm run bench` within its time. */
const THROUGHPUT = 200 * MiB;
const ROUNDS = 5;

async function writeSource(path: string, size: number): Promise<void> {
  // Random bytes (nothing compresses or dedupes on the way); one 4 MiB block repeated.
  const block = randomFillSync(Buffer.allocUnsafe(4 * MiB));
  async function* blocks(): AsyncGenerator<Buffer> {
    for (let off = 0; off < size; off += block.length) yield off + block.length <= size ? block : block.subarray(0, size - off);
  }
  await pipeline(blocks(), createWriteStream(path));
}

interface Worker {
  readonly base: string;
  stop(): Promise<void>;
}

async function startWorker(dir: string): Promise<Worker> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./media-worker.ts', import.meta.url)), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => { if (line.startsWith('READY ')) resolve((JSON.parse(line.slice(6)) as { base: string }).base); });
    child.once('exit', (code) => reject(new Error(`media worker exited with ${code}`)));
    setTimeout(() => reject(new Error('media worker did not start in 30 s')), 30_000).unref();
  });
  return {
    base,
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function httpJson(url: string): Promise<{ rss: number; peak: number }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(parts).toString()) as { rss: number; peak: number }));
    }).on('error', reject).end();
  });
}

/** Streams the file up; resolves with seconds taken and the answer body. */
function upload(url: string, method: 'POST' | 'PUT', file: string, size: number): Promise<{ seconds: number; body: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { method, headers: { 'content-type': 'application/octet-stream', 'content-length': size } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`${method} ${url} answered ${res.statusCode}: ${Buffer.concat(parts)}`));
        else resolve({ seconds: (performance.now() - t0) / 1000, body: Buffer.concat(parts).toString() });
      });
    });
    req.on('error', reject);
    pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), req).catch(reject);
  });
}

/** Reads the whole body and drops it; resolves with seconds taken. */
function download(url: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    request(url, (res) => {
      let bytes = 0;
      pipeline(res, new Writable({ write(chunk: Buffer, _e, cb) { bytes += chunk.length; cb(); } })).then(() => {
        if (res.statusCode !== 200 || bytes !== size) reject(new Error(`GET ${url} gave ${res.statusCode} with ${bytes} of ${size} bytes`));
        else resolve((performance.now() - t0) / 1000);
      }, reject);
    }).on('error', reject).end();
  });
}

interface Round { oursUp: number; oursDown: number; plainUp: number; plainDown: number }

async function oursRoundTrip(base: string, file: string, size: number): Promise<{ up: number; down: number }> {
  const up = await upload(`${base}/media?name=bench.bin`, 'POST', file, size);
  const url = (JSON.parse(up.body) as { url: string }).url;
  return { up: up.seconds, down: await download(url, size) };
}

async function plainRoundTrip(base: string, file: string, size: number): Promise<{ up: number; down: number }> {
  const up = await upload(`${base}/plain/upload`, 'PUT', file, size);
  return { up: up.seconds, down: await download(`${base}/plain/file`, size) };
}

/** Peak RSS growth of the worker over its baseline while `work` runs. */
async function rssGrowth(base: string, work: () => Promise<unknown>): Promise<number> {
  const before = await httpJson(`${base}/__rss?reset=1`);
  await work();
  const after = await httpJson(`${base}/__rss`);
  return after.peak - before.rss;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const mbps = (bytes: number, seconds: number): number => bytes / MiB / seconds;

export async function runMediaBench(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'sb-media-bench-'));
  // bench/run.ts's hard stop exits the process without running finally blocks: the ~1 GiB of
  // files must not stay behind then either.
  const removeOnExit = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', removeOnExit);
  let worker: Worker | undefined;
  try {
    const bigFile = join(dir, 'big.bin');
    const midFile = join(dir, 'mid.bin');
    const smallFile = join(dir, 'small.bin');
    await writeSource(bigFile, BIG);
    await writeSource(midFile, THROUGHPUT);
    await writeSource(smallFile, SMALL);
    worker = await startWorker(dir);
    const { base } = worker;
    // Warm-up: JIT, page cache of the sources, both code paths.
    await oursRoundTrip(base, smallFile, SMALL);
    await plainRoundTrip(base, smallFile, SMALL);

    // Memory first, on a quiet server: the same path with a 100 MiB and a BIG file.
    const rssSmall = await rssGrowth(base, () => oursRoundTrip(base, smallFile, SMALL));
    const rssBig = await rssGrowth(base, () => oursRoundTrip(base, bigFile, BIG));

    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const first = r % 2 === 0 ? 'ours' : 'plain';
      const a = first === 'ours' ? await oursRoundTrip(base, midFile, THROUGHPUT) : await plainRoundTrip(base, midFile, THROUGHPUT);
      const b = first === 'ours' ? await plainRoundTrip(base, midFile, THROUGHPUT) : await oursRoundTrip(base, midFile, THROUGHPUT);
      const ours = first === 'ours' ? a : b;
      const plain = first === 'ours' ? b : a;
      rounds.push({ oursUp: ours.up, oursDown: ours.down, plainUp: plain.up, plainDown: plain.down });
    }
    const m = {
      oursUp: mbps(THROUGHPUT, median(rounds.map((x) => x.oursUp))),
      oursDown: mbps(THROUGHPUT, median(rounds.map((x) => x.oursDown))),
      plainUp: mbps(THROUGHPUT, median(rounds.map((x) => x.plainUp))),
      plainDown: mbps(THROUGHPUT, median(rounds.map((x) => x.plainDown))),
      oursTrip: mbps(THROUGHPUT, median(rounds.map((x) => x.oursUp + x.oursDown))),
      plainTrip: mbps(THROUGHPUT, median(rounds.map((x) => x.plainUp + x.plainDown))),
    };
    const size = `${THROUGHPUT / MiB} MiB`;
    const perRound = rounds.map((x) => `${mbps(THROUGHPUT, x.oursUp).toFixed(0)}/${mbps(THROUGHPUT, x.oursDown).toFixed(0)} vs ${mbps(THROUGHPUT, x.plainUp).toFixed(0)}/${mbps(THROUGHPUT, x.plainDown).toFixed(0)}`).join('; ');
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const mibOf = (n: number) => Math.round((n / MiB) * 10) / 10;
    return [
      {
        name: `media: signed download of a just-stored file, ${size}`,
        value: Math.round(m.oursDown), unit: 'MiB/s',
        baseline: { name: 'node:http serving the same bytes with createReadStream', value: Math.round(m.plainDown) },
        ratio: ratio(m.oursDown, m.plainDown),
        note: `target >= 0.8x; median of ${ROUNDS} alternating rounds`,
      },
      {
        name: `media: upload -> store -> signed download, ${size}, over the round trip`,
        value: Math.round(m.oursTrip), unit: 'MiB/s',
        baseline: { name: 'plain PUT to a file + GET with createReadStream', value: Math.round(m.plainTrip) },
        ratio: ratio(m.oursTrip, m.plainTrip),
        note: `the plain PUT neither hashes nor fsyncs; rounds up/down MiB/s, ours vs plain: ${perRound}`,
      },
      {
        name: `media: upload into the store (SHA-256, sniff, limit, fsync, link), ${size}`,
        value: Math.round(m.oursUp), unit: 'MiB/s',
        baseline: { name: 'plain PUT piped to a file, no hash, no fsync', value: Math.round(m.plainUp) },
        ratio: ratio(m.oursUp, m.plainUp),
      },
      {
        name: `media: server peak RSS over its baseline while a ${BIG / MiB} MiB file goes up and down`,
        value: mibOf(rssBig), unit: 'MiB',
        baseline: { name: 'the same with a 100 MiB file', value: mibOf(rssSmall) },
        note: `target: flat; ${((rssBig / BIG) * 100).toFixed(1)}% of the file size (a server that buffered the file would add >= 100%)`,
      },
    ];
  } finally {
    await worker?.stop();
    await rm(dir, { recursive: true, force: true });
    process.off('exit', removeOnExit);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runMediaBench().then((results) => {
    for (const r of results) {
      const base = r.baseline ? ` | vs ${r.baseline.name}: ${r.baseline.value} ${r.unit}${r.ratio !== undefined ? ` | ratio ${r.ratio}` : ''}` : '';
      console.log(`${r.name}: ${r.value} ${r.unit}${base}${r.note ? ` (${r.note})` : ''}`);
    }
  }, (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
