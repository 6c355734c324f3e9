/** Replay protection shared by instances through the bus state on Redis (StateReplayGuard), on a real redis-server. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { redisStateStore } from '../../src/bus/redis/services.ts';
import { StateReplayGuard } from '../../src/connectors/mtproto/store/state-replay-guard.ts';
import { buildContainer } from '../../src/connectors/mtproto/session/container.ts';
import { clientMsgId, codec, connectAndAuth, SpecConnection, SpecSession } from './spec-client.ts';
import { isBadMsg, metricValue, pinned, startServer, stateKeyStore, type Running } from './harness.ts';

let redisServer: RedisServer;
const clients: Redis[] = [];
let a: Running;
let b: Running;

/** One Redis connection per server, as two processes would have. */
function instance(saltSecret: Uint8Array): Promise<Running> {
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  clients.push(redis);
  const state = redisStateStore(redis, 'sbtest', 'mtproto');
  return startServer({ keyStore: stateKeyStore(state), replayGuard: new StateReplayGuard(state), saltSecret });
}

before(async () => {
  redisServer = await startRedis();
  const saltSecret = randomBytes(32);
  a = await instance(saltSecret);
  b = await instance(saltSecret);
});

after(async () => {
  await a?.stop();
  await b?.stop();
  for (const c of clients) c.disconnect();
  await redisServer?.stop();
});

/** A key made on A, whose session already answers pings there (so it holds the shared salt). */
async function sessionOnA(): Promise<SpecSession> {
  const s = await connectAndAuth(a.port, pinned(a.rsaKey), 'intermediate');
  assert.equal(await s.ping(), true, 'ping on A');
  return s;
}

/** The same key and session_id on a fresh connection to B. */
async function sameSessionOnB(s: SpecSession): Promise<SpecSession> {
  const onB = new SpecSession(await SpecConnection.connect(b.port, 'intermediate'), s.auth);
  onB.salt = s.salt;
  onB.sessionId = s.sessionId;
  return onB;
}

test('a frame answered by A and replayed to B gets no answer; a fresh ping from the same key on B works', async () => {
  const s = await sessionOnA();
  const onB = await sameSessionOnB(s);
  try {
    const { payload, msgId } = s.build(codec.encode({ _: 'ping', ping_id: 4242n }));
    s.conn.send(payload);
    assert.ok((await s.until((m) => m.obj._ === 'pong' && m.obj['msg_id'] === msgId)).found, 'pong from A');

    const droppedBefore = await metricValue(b.registry, 'switchboard_mtproto_dropped_total', { reason: 'duplicate-msg-id' });
    onB.conn.send(payload);
    const replay = await onB.until(() => true, 700);
    assert.deepEqual(replay.seen, [], 'nothing at all comes back for the replay (not even new_session_created)');
    assert.equal(await metricValue(b.registry, 'switchboard_mtproto_dropped_total', { reason: 'duplicate-msg-id' }), droppedBefore + 1);

    assert.equal(await onB.ping(), true, 'a fresh ping on B is answered');
    assert.equal(await metricValue(b.registry, 'switchboard_mtproto_handshakes_ok_total'), 0, 'B made no key');
  } finally {
    s.conn.close();
    onB.conn.close();
  }
});

test('a container answered by A and replayed to B gets bad_msg_notification 19 and its ping is not answered', async () => {
  const s = await sessionOnA();
  const onB = await sameSessionOnB(s);
  try {
    const inner = clientMsgId();
    const body = buildContainer([{ msgId: inner, seqNo: s.seqNo(true), body: codec.encode({ _: 'ping', ping_id: 99n }) }]);
    const { payload, msgId } = s.build(body, false, { msgId: inner + 4n });
    s.conn.send(payload);
    assert.ok((await s.until((m) => m.obj._ === 'pong' && m.obj['msg_id'] === inner)).found, 'pong from A');

    onB.conn.send(payload);
    const replay = await onB.until(isBadMsg(19, msgId));
    assert.ok(replay.found, 'code 19 for the replayed container');
    assert.equal(replay.seen.some((m) => m.obj._ === 'pong'), false, 'no pong for the replayed member');
    assert.equal(await onB.ping(), true);
  } finally {
    s.conn.close();
    onB.conn.close();
  }
});

test('StateReplayGuard on Redis: first sighting per id, then seen; keys expire after 600 s; forget', async () => {
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  try {
    const guard = new StateReplayGuard(redisStateStore(redis, 'test', 'mtproto'));
    assert.deepEqual(await guard.firstSeen('00ff', -1n, [4n, 8n]), [true, true]);
    assert.deepEqual(await guard.firstSeen('00ff', -1n, [8n, 12n]), [false, true]);
    assert.deepEqual(await guard.firstSeen('00ff', 5n, [8n]), [true], 'another session is another space');
    const ttl = await redis.ttl('test:state:mtproto:seen:00ff:ffffffffffffffff:8');
    assert.ok(ttl > 590 && ttl <= 600, `ttl ${ttl}`);
    // A frame recorded but never processed (its connection closed first) is forgotten again.
    await guard.forget('00ff', -1n, [12n]);
    assert.deepEqual(await guard.firstSeen('00ff', -1n, [12n, 4n]), [true, false], 'forgotten: first again; the others stay');
  } finally {
    redis.disconnect();
  }
});

test('a guard that cannot answer: the frame is refused and the connection closed', async () => {
  const srv = await startServer({ replayGuard: { firstSeen: () => Promise.reject(new Error('redis down')) } });
  try {
    const s = await connectAndAuth(srv.port, pinned(srv.rsaKey), 'intermediate');
    s.send({ _: 'ping', ping_id: 1n });
    const r = await s.until((m) => m.obj._ === 'pong', 2000);
    assert.equal(r.found, undefined, 'not processed');
    assert.equal(r.end, 'closed');
    assert.equal(await metricValue(srv.registry, 'switchboard_mtproto_dropped_total', { reason: 'replay-guard-unavailable' }), 1);
  } finally {
    await srv.stop();
  }
});
