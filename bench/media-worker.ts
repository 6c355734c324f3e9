/**
 * The server side of bench/media.ts, in its own process so that its resident set is the
 * servers' alone: the media routes over a LocalMediaStore (what the bridge runs) and, on the
 * same port, a plain `node:http` baseline that writes an upload to disk and serves a file with
 * fs.createReadStream. Prints `READY <json>` once listening; samples its own RSS every 5 ms and
 * answers GET /__rss (peak since the last ?reset=1, which first runs a full GC when started with
 * --expose-gc). Exits when stdin closes.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LocalMediaStore } from '../src/media/local-store.ts';
import { createMediaRoutes, type RouteHandler } from '../src/media/routes.ts';
import { UrlSigner } from '../src/media/url-signer.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: media-worker.ts <work dir>');
const plainFile = join(dir, 'plain-upload.bin');

let peak = process.memoryUsage.rss();
setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 5).unref();

const store = await LocalMediaStore.open({ dir: join(dir, 'store'), maxBytes: 2 * 1024 ** 3 });
let media: RouteHandler = () => false;

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/__rss')) {
    // A baseline after a full GC: what the heap holds from before is not counted as growth.
    if (url.includes('reset=1')) (globalThis as { gc?: () => void }).gc?.();
    const now = process.memoryUsage.rss();
    const body = JSON.stringify({ rss: now, peak: Math.max(peak, now) });
    if (url.includes('reset=1')) peak = now;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
    return;
  }
  if (url === '/plain/upload' && req.method === 'PUT') {
    pipeline(req, createWriteStream(plainFile)).then(() => { res.writeHead(201); res.end(); }, () => res.destroy());
    return;
  }
  if (url === '/plain/file' && req.method === 'GET') {
    stat(plainFile).then((st) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': st.size });
      return pipeline(createReadStream(plainFile), res);
    }).catch(() => res.destroy());
    return;
  }
  if (!media(req, res)) {
    res.writeHead(404);
    res.end();
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
media = createMediaRoutes({ store, signer: new UrlSigner('bench-secret-'.repeat(4)) }, {
  authorize: () => ({ id: 'bench' }), publicBaseUrl: base, urlTtlSeconds: 3600, maxConcurrentPerPrincipal: 4,
});
process.stdout.write(`READY ${JSON.stringify({ base })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
