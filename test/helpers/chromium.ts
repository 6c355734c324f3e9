import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (apt package `chromium`), or SWITCHBOARD_CHROMIUM. */
export const CHROMIUM = process.env['SWITCHBOARD_CHROMIUM'] ?? '/usr/bin/chromium';

/**
 * Starts headless Chromium through playwright-core. Fails (never skips) when it is not installed,
 * with the one line that fixes it. As root (this sandbox, CI containers) Chromium refuses to start
 * without --no-sandbox, so the flag is passed then; as a normal user its sandbox stays on.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) assert.fail(`Chromium not found at ${CHROMIUM}: install it with \`sudo apt-get install chromium\` (npm test does that as root)`);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [...(isRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'],
    timeout: 30_000,
  });
}

/**
 * Serves a test page from its own origin (a free 127.0.0.1 port): what a web client on another
 * origin than the bridge is. `handle` answers each request.
 */
export async function servePageOrigin(handle: RequestListener): Promise<{ server: Server; origin: string }> {
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
