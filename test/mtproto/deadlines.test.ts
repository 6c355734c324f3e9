import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { SpecConnection, SpecSession } from './spec-client.ts';
import { readySession, startServer, type Running } from './harness.ts';

// Long enough for a whole handshake (both sides in this process) on a loaded 2-core machine.
const TIMEOUT_MS = 1_000;
let srv: Running;
before(async () => { srv = await startServer({ handshakeTimeoutMs: TIMEOUT_MS }); });
after(async () => { await srv.stop(); });

/** A raw TCP socket that writes `bytes` (maybe nothing); resolves with ms until the server closed it, or null. */
async function closedAfter(bytes: Uint8Array, waitMs = 3000): Promise<number | null> {
  const socket = new Socket();
  await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.connect(srv.port, '127.0.0.1', () => { socket.off('error', reject); resolve(); }); });
  socket.on('error', () => { /* surfaced as close */ });
  socket.resume(); // read (and drop) what the server sends, or 'end' never fires
  const t0 = Date.now();
  if (bytes.length > 0) socket.write(bytes);
  const closed = new Promise<number>((resolve) => { socket.once('close', () => resolve(Date.now() - t0)); socket.once('end', () => resolve(Date.now() - t0)); });
  const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), waitMs).unref());
  const r = await Promise.race([closed, timeout]);
  socket.destroy();
  return r;
}

test('a socket that sends nothing is closed after handshakeTimeoutMs', async () => {
  const ms = await closedAfter(new Uint8Array(0));
  assert.notEqual(ms, null, 'server closed the silent socket');
  assert.ok(ms! >= TIMEOUT_MS - 50, `not before the deadline (${ms} ms)`);
});

test('a socket that sends half a transport header is closed after handshakeTimeoutMs', async () => {
  const ms = await closedAfter(Uint8Array.of(0xee, 0xee));
  assert.notEqual(ms, null, 'server closed the half-header socket');
  // And a tag followed by half a frame length.
  assert.notEqual(await closedAfter(Uint8Array.of(0xee, 0xee, 0xee, 0xee, 0x40, 0x00)), null);
});

test('a completed handshake, or an authenticated frame on a new connection, lifts the deadline', async () => {
  const s = await readySession(srv);
  const again = new SpecSession(await SpecConnection.connect(srv.port, 'intermediate'), s.auth);
  try {
    assert.equal(await again.ping(), true);
    await new Promise((r) => setTimeout(r, TIMEOUT_MS * 2));
    assert.equal(s.conn.closed, false);
    assert.equal(await s.ping(), true, 'handshaken connection still served');
    assert.equal(again.conn.closed, false);
    assert.equal(await again.ping(), true, 'connection with an existing key still served');
  } finally {
    s.conn.close();
    again.conn.close();
  }
});
