// The shared replay guard is asked about each frame as it arrives, not after the frames before it
// were processed: a connection is no longer held to one frame per round trip of the shared store.
// What must not change: a frame is processed only once its own answer is in, frames are processed
// in the order they came, a replay is still caught (also one inside the pipeline), and a frame
// that waited when its connection closed is neither processed nor left recorded as seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ReplayGuard } from '../../src/connectors/mtproto/session/replay-guard.ts';
import { MAX_FRAMES_WAITING } from '../../src/connectors/mtproto/session/encrypted-layer.ts';
import { MAX_QUEUED_FRAMES } from '../../src/connectors/mtproto/connection.ts';
import { codec } from './spec-client.ts';
import { metricValue, readySession, startServer } from './harness.ts';

interface Asked {
  readonly msgIds: readonly bigint[];
  release(): void;
}

/**
 * A guard with the semantics of the real one (first sighting per (key, session, id) wins), whose
 * answers the test releases by hand; `held` off answers at once.
 */
class HeldGuard implements ReplayGuard {
  readonly seen = new Set<string>();
  readonly asked: Asked[] = [];
  readonly forgotten: bigint[] = [];
  held = false;
  #onAsk: (() => void) | undefined;

  async firstSeen(keyHex: string, sessionId: bigint, msgIds: readonly bigint[]): Promise<boolean[]> {
    // Recorded when asked (as SET NX is, on arrival at Redis); answered when released.
    const first = msgIds.map((id) => {
      const k = `${keyHex}:${sessionId}:${id}`;
      if (this.seen.has(k)) return false;
      this.seen.add(k);
      return true;
    });
    if (!this.held) return first;
    await new Promise<void>((resolve) => {
      this.asked.push({ msgIds, release: resolve });
      this.#onAsk?.();
    });
    return first;
  }

  async forget(keyHex: string, sessionId: bigint, msgIds: readonly bigint[]): Promise<void> {
    for (const id of msgIds) {
      this.seen.delete(`${keyHex}:${sessionId}:${id}`);
      this.forgotten.push(id);
    }
  }

  /** Resolves once `n` calls wait for their answer. */
  async waitAsked(n: number, timeoutMs = 3000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.asked.length < n) {
      if (Date.now() > until) throw new Error(`the guard was asked ${this.asked.length} times, not ${n}`);
      await new Promise<void>((resolve) => { this.#onAsk = resolve; setTimeout(resolve, 20); });
    }
  }
}

const pingId = () => Buffer.from(randomBytes(8)).readBigInt64LE(0);

test('frames are checked against the guard without waiting for each other, and processed in order once their answers are in', async () => {
  const guard = new HeldGuard();
  const srv = await startServer({ replayGuard: guard });
  const s = await readySession(srv);
  try {
    guard.held = true;
    const n = 8;
    assert.ok(n <= MAX_FRAMES_WAITING);
    const ids = Array.from({ length: n }, pingId);
    const msgIds = ids.map((id) => s.send({ _: 'ping', ping_id: id }));
    // All eight frames reached the guard while none of them had its answer: nothing waits in sequence.
    await guard.waitAsked(n);
    assert.deepEqual(guard.asked.map((a) => a.msgIds[0]), msgIds, 'asked in the order the frames came');
    assert.deepEqual(await s.until(() => true, 300).then((r) => r.seen.map((m) => m.obj._)), [], 'nothing is processed before its answer');

    // Answers released last-first: frames are still processed (and answered) in their order.
    for (const a of [...guard.asked].reverse()) a.release();
    const pongs: bigint[] = [];
    while (pongs.length < n) {
      const r = await s.until((m) => m.obj._ === 'pong', 3000);
      assert.ok(r.found, `pong ${pongs.length + 1} of ${n}`);
      pongs.push(r.found.obj['ping_id'] as bigint);
    }
    assert.deepEqual(pongs, ids, 'pongs in the order of the pings');
  } finally {
    s.conn.close();
    await srv.stop();
  }
});

test('a frame sent twice back to back is processed once although both were asked about before either was processed', async () => {
  const guard = new HeldGuard();
  const srv = await startServer({ replayGuard: guard });
  const s = await readySession(srv);
  try {
    guard.held = true;
    const id = pingId();
    const { payload } = s.build(codec.encode({ _: 'ping', ping_id: id }));
    s.conn.send(payload);
    s.conn.send(payload);
    await guard.waitAsked(2);
    for (const a of guard.asked) a.release();
    const r = await s.until(() => false, 700);
    assert.equal(r.seen.filter((m) => m.obj._ === 'pong' && m.obj['ping_id'] === id).length, 1, 'one pong');
    guard.held = false;
    assert.equal(await s.ping(), true, 'the session goes on');
  } finally {
    s.conn.close();
    await srv.stop();
  }
});

test('frames waiting when their connection closes are not processed, and their ids are forgotten by the guard', async () => {
  const guard = new HeldGuard();
  const srv = await startServer({ replayGuard: guard });
  const s = await readySession(srv);
  guard.held = true;
  const msgIds = [0, 1, 2].map(() => s.send({ _: 'ping', ping_id: pingId() }));
  try {
    await guard.waitAsked(3);
    s.conn.close();
    // The server sees the close, then the answers come: the frames must go unprocessed.
    const until = Date.now() + 3000;
    while (srv.server.connections > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(srv.server.connections, 0, 'the server noticed the close');
    for (const a of guard.asked) a.release();
    const deadline = Date.now() + 3000;
    while (guard.forgotten.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual([...guard.forgotten].sort(), [...msgIds].sort(), 'every id of the unprocessed frames forgotten');
    assert.equal(guard.seen.size, 1, 'only the first ping (processed) stays recorded');
  } finally {
    s.conn.close();
    await srv.stop();
  }
});

test(`a peer whose frames queue up is not read from past ${MAX_QUEUED_FRAMES} queued frames, and once they are handled every frame is answered in order`, { timeout: 30_000 }, async () => {
  const guard = new HeldGuard();
  const srv = await startServer({ replayGuard: guard });
  const s = await readySession(srv);
  try {
    guard.held = true;
    const n = MAX_QUEUED_FRAMES * 3;
    const ids = Array.from({ length: n }, pingId);
    for (const id of ids) s.send({ _: 'ping', ping_id: id });
    // Nothing is answered while the guard holds its answers: the frames queue up, and reading stops.
    const until = Date.now() + 5_000;
    while (await metricValue(srv.registry, 'switchboard_mtproto_reads_paused_total') < 1) {
      if (Date.now() > until) assert.fail('the connection never stopped reading');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(guard.asked.length <= MAX_QUEUED_FRAMES + MAX_FRAMES_WAITING, `frames opened while paused stay bounded (${guard.asked.length})`);
    // Answers released as they are asked for: every ping is answered, in the order sent.
    const pongs: bigint[] = [];
    while (pongs.length < n) {
      for (const a of guard.asked.splice(0)) a.release();
      const r = await s.until((m) => m.obj._ === 'pong', 200);
      for (const m of r.seen) if (m.obj._ === 'pong') pongs.push(m.obj['ping_id'] as bigint);
      if (r.end === 'closed') assert.fail('the connection closed');
    }
    assert.deepEqual(pongs, ids);
    guard.held = false;
    assert.ok(await s.ping(), 'reading resumed: the session goes on');
  } finally {
    s.conn.close();
    await srv.stop();
  }
});
