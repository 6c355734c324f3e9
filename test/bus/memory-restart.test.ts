import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '../../src/bus/memory/memory-bus.ts';
import { compareCursors, START_CURSOR } from '../../src/core/endpoint.ts';
import { busOptions, lobbyRouter, message, ROOM } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The memory bus holds nothing from before it started: a cursor an earlier run handed out (on the
 * same state file) reads as truncated, so a client is told it missed events (cursor_expired),
 * also after a crash and with the clock set back before the new start.
 */

async function routedCursor(bus: MemoryBus, text: string): Promise<string> {
  await bus.publish([message(text)]);
  let cursor: string | undefined;
  await waitFor(async () => (cursor = (await bus.latestCursor(ROOM))) !== undefined, { what: `"${text}" in the stream` });
  return cursor as string;
}

test('memory bus: a cursor of an earlier run on the same state file is truncated, also with the clock set back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-memory-restart-'));
  const stateFile = join(dir, 'state.jsonl');
  const router = lobbyRouter();
  try {
    const first = new MemoryBus({ ...busOptions(), stateFile });
    const routing = first.startRouting((e) => router.route(e));
    const old = await routedCursor(first, 'before the crash');
    assert.equal((await first.readStream(ROOM, old, 10)).truncated, false, 'a cursor of this run is not truncated');
    // A crash: the routing stops, the bus is never closed.
    await routing.close();

    // The next start with the clock a minute behind the old cursor's time.
    const behind = Number(old.split('-')[0]) - 60_000;
    const clock = t.mock.method(Date, 'now', () => behind);
    const second = new MemoryBus({ ...busOptions(), stateFile });
    clock.mock.restore();
    try {
      assert.ok(compareCursors(old, second.origin) < 0, `origin ${second.origin} is after the old cursor ${old}`);
      assert.deepEqual(await second.readStream(ROOM, old, 10), { entries: [], truncated: true }, 'empty room: truncated');
      const routing2 = second.startRouting((e) => router.route(e));
      mock.method(Date, 'now', () => behind);
      const fresh = await routedCursor(second, 'after the restart');
      mock.restoreAll();
      await routing2.close();
      assert.ok(compareCursors(fresh, old) > 0, `a new cursor (${fresh}) is after the old one (${old})`);
      const read = await second.readStream(ROOM, old, 10);
      assert.equal(read.truncated, true, 'new events: still truncated');
      assert.deepEqual(read.entries.map((e) => e.event.kind === 'message' ? e.event.text : ''), ['after the restart']);
      assert.equal((await second.readStream(ROOM, fresh, 10)).truncated, false);
      assert.equal((await second.readStream(ROOM, START_CURSOR, 10)).truncated, false, 'since null names no position: no notice');
    } finally {
      await second.close();
    }
    await first.close();
  } finally {
    mock.restoreAll();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('memory bus without a state file: a cursor from before it started is truncated', async () => {
  const router = lobbyRouter();
  const first = new MemoryBus(busOptions());
  const routing = first.startRouting((e) => router.route(e));
  const old = await routedCursor(first, 'one');
  await routing.close();
  await first.close();
  await waitFor(() => Date.now() > Number(old.split('-')[0]), { what: 'the next millisecond' });
  const second = new MemoryBus(busOptions());
  try {
    assert.equal((await second.readStream(ROOM, old, 10)).truncated, true);
  } finally {
    await second.close();
  }
});
