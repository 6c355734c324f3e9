import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { main } from '../../src/cli.ts';
import type { Io } from '../../src/cli/args.ts';
import { loadConfig } from '../../src/config/load.ts';
import { startApp, type App } from '../../src/app.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { busKeys } from '../../src/bus/redis/keys.ts';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { RELOAD_ANSWERS, RELOAD_REQUESTS, answerOf, answerReloadRequests } from '../../src/app/cluster-reload.ts';
import type { ConfigReloadOutcome } from '../../src/app/reload.ts';
import { MAX_NOTE_BYTES, type Notes } from '../../src/bus/types.ts';
import { makeConfigTree, type ConfigTree } from '../config/fixture.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { startRedis } from '../helpers/redis.ts';
import { wsUrlOf } from '../helpers/app.ts';
import { metricValue } from '../websocket/harness.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * `switchboard reload`: one command reloads every instance on a Redis bus, each from its own files,
 * and prints each one's answer (README "Operations"). Two real instances on a real redis-server.
 */

const ALICE = 'sb_test_alice_cluster_reload';
const BOB = 'sb_test_bob_cluster_reload';
const PREFIX = 'creload';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (l) => { out += `${l}\n`; }, err: (l) => { err += `${l}\n`; } };
  const code = await main(args, io);
  return { code, out, err };
}

const reloads = (app: App, result: 'ok' | 'refused') => metricValue(app.registry, 'switchboard_config_reloads_total', { what: 'all', result });

test('switchboard reload: every instance on the bus reloads its own files and answers; a refusal is named with its file and line and changes nothing there; a burst of requests costs at most two reloads; a note that is no request changes nothing', { timeout: 90_000 }, async () => {
  const redis = await startRedis();
  const trees: ConfigTree[] = [];
  const apps: App[] = [];
  const clients: TestClient[] = [];
  const raw = new Redis(redis.url);
  try {
    for (const name of ['one', 'two']) {
      const tree = makeConfigTree([
        `instance: { id: ${name} }\n`,
        `bus:\n  driver: redis\n  redis: { url: "${redis.url}", prefix: ${PREFIX} }\n`,
        `websocket:\n  tokens:\n    - { name: alice, hash: "${hashToken(ALICE)}" }\n    - { name: bob, hash: "${hashToken(BOB)}" }\n`,
      ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}]\n' });
      trees.push(tree);
      apps.push(await startApp(await loadConfig(tree.configFile, { env: {} }), { logger: silentLogger, httpPortOverride: 0 }));
    }
    const [one, two] = apps as [App, App];
    const [treeOne, treeTwo] = trees as [ConfigTree, ConfigTree];
    const alice = await connectClient(wsUrlOf(one), ALICE);
    const bob = await connectClient(wsUrlOf(two), BOB);
    clients.push(alice, bob);

    // A room linked in both instances' files: one command, both reload.
    for (const tree of trees) tree.write('bridges/side.yaml', 'endpoints: [{websocket: side}]\n');
    assert.equal((await bob.request({ type: 'join', room: 'side' }))['code'], 'unknown_room', 'not before the reload');
    let r = await cli(['reload', '--config', treeOne.configFile, '--wait-ms', '1500']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^${one.instanceId}: reloaded, 2 linked rooms$`, 'm'));
    assert.match(r.out, new RegExp(`^${two.instanceId}: reloaded, 2 linked rooms$`, 'm'));
    assert.match(r.out, /^2 instances answered: 2 reloaded, 0 refused$/m);
    assert.equal((await alice.request({ type: 'join', room: 'side' }))['type'], 'joined');
    assert.equal((await bob.request({ type: 'join', room: 'side' }))['type'], 'joined');
    assert.equal(await reloads(one, 'ok'), 1);
    assert.equal(await reloads(two, 'ok'), 1);

    // Instance two's bridges/ gets a broken file (and a new room): two refuses all of it, one reloads.
    treeTwo.write('bridges/broken.yaml', 'endpoints:\n  - websocket: news\n  - carrier-pigeon: coop\n');
    treeOne.write('bridges/news.yaml', 'endpoints: [{websocket: news}]\n');
    r = await cli(['reload', '--config', treeOne.configFile, '--wait-ms', '1500']);
    assert.equal(r.code, 1, 'an instance refused: exit 1');
    assert.match(r.out, new RegExp(`^${one.instanceId}: reloaded, 3 linked rooms$`, 'm'));
    assert.match(r.err, new RegExp(`^${two.instanceId}: refused \\(what is in force there stays\\):$`, 'm'));
    assert.match(r.err, /^ {2}\S*broken\.yaml:3: /m, 'the problem with its file and line');
    assert.match(r.out, /^2 instances answered: 1 reloaded, 1 refused$/m);
    assert.equal(await reloads(two, 'refused'), 1);
    assert.equal((await bob.request({ type: 'join', room: 'news' }))['code'], 'unknown_room', 'nothing of the refused reload is in force on two');
    assert.equal((await alice.request({ type: 'join', room: 'news' }))['type'], 'joined');

    // A burst of five requests: each instance answers all five, with at most two reloads.
    const answers: string[] = [];
    const sub = new Redis(redis.url);
    try {
      await sub.subscribe(busKeys(PREFIX).notes(RELOAD_ANSWERS));
      sub.on('message', (_key: string, message: string) => { answers.push(message); });
      const beforeOne = await reloads(one, 'ok');
      // In one write, so that they arrive together however slow the machine is.
      const burst = raw.pipeline();
      for (let i = 0; i < 5; i++) burst.publish(busKeys(PREFIX).notes(RELOAD_REQUESTS), JSON.stringify({ from: 'test', note: JSON.stringify({ id: `burst-${i}` }) }));
      await burst.exec();
      await waitFor(async () => answers.length === 10, { what: 'ten answers (five requests, two instances)', timeoutMs: 10_000 });
      const ids = answers.map((a) => (JSON.parse((JSON.parse(a) as { note: string }).note) as { id: string }).id).sort();
      assert.deepEqual(ids, ['burst-0', 'burst-0', 'burst-1', 'burst-1', 'burst-2', 'burst-2', 'burst-3', 'burst-3', 'burst-4', 'burst-4']);
      const ran = await reloads(one, 'ok') - beforeOne;
      assert.ok(ran >= 1 && ran <= 2, `five requests in a burst: ${ran} reloads (at most two)`);

      // Notes that are no request (not JSON, another shape): no reload, no answer.
      const okBefore = await reloads(one, 'ok');
      const answersBefore = answers.length;
      for (const note of ['not json', JSON.stringify({ id: 'x'.repeat(65) }), JSON.stringify({ id: 'a', extra: 1 })]) {
        await raw.publish(busKeys(PREFIX).notes(RELOAD_REQUESTS), JSON.stringify({ from: 'test', note }));
      }
      // A valid request after them: once its answers are in, the bad ones were seen before it.
      await raw.publish(busKeys(PREFIX).notes(RELOAD_REQUESTS), JSON.stringify({ from: 'test', note: JSON.stringify({ id: 'after' }) }));
      await waitFor(async () => answers.length === answersBefore + 2, { what: 'the answers to the valid request', timeoutMs: 10_000 });
      assert.equal(await reloads(one, 'ok'), okBefore + 1, 'only the valid request reloaded');
    } finally {
      sub.disconnect();
    }

    // Once closed, an instance no longer answers.
    await two.close();
    r = await cli(['reload', '--config', treeOne.configFile, '--wait-ms', '1000']);
    assert.match(r.out, /^1 instance answered: 1 reloaded, 0 refused$/m);
    assert.doesNotMatch(r.out + r.err, new RegExp(two.instanceId));
  } finally {
    raw.disconnect();
    for (const client of clients) await client.close().catch(() => {});
    for (const app of apps) await app.close();
    for (const tree of trees) tree.cleanup();
    await redis.stop();
  }
});

test('switchboard reload: no instance on the bus is exit 3 with what to check; the memory driver is exit 3 with the SIGHUP to send; a bad --wait-ms is a usage error', { timeout: 30_000 }, async () => {
  const redis = await startRedis();
  const trees: ConfigTree[] = [];
  try {
    const lone = makeConfigTree(`bus:\n  driver: redis\n  redis: { url: "${redis.url}", prefix: nobody }\n`);
    trees.push(lone);
    let r = await cli(['reload', '--config', lone.configFile, '--wait-ms', '300']);
    assert.equal(r.code, 3);
    assert.match(r.err, /no instance answered within 300 ms: none runs on redis:\/\/127\.0\.0\.1:\d+ with prefix "nobody"/);

    const memory = makeConfigTree('bus: { driver: memory }\n');
    trees.push(memory);
    r = await cli(['reload', '--config', memory.configFile]);
    assert.equal(r.code, 3);
    assert.match(r.err, /bus\.driver is memory .*send it SIGHUP \(kill -HUP <pid>/);

    r = await cli(['reload', '--config', lone.configFile, '--wait-ms', 'soon']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--wait-ms: a whole number of milliseconds/);
  } finally {
    for (const tree of trees) tree.cleanup();
    await redis.stop();
  }
});

test('a reload answer always fits one bus note: refusals with many or long problems are cut, the rest counted', () => {
  const issues = Array.from({ length: 500 }, (_, i) => ({ file: `/etc/switchboard/bridges/room-${i}.yaml`, line: i + 1, path: 'endpoints.0', message: 'x'.repeat(1_000) }));
  const answer = answerOf('req', 'instance-1', { ok: false, issues });
  assert.ok(Buffer.byteLength(JSON.stringify(answer)) <= MAX_NOTE_BYTES);
  assert.ok((answer.issues?.length ?? 0) >= 1);
  assert.equal((answer.issues?.length ?? 0) + (answer.moreIssues ?? 0), 500, 'every problem shown or counted');
  assert.ok(answer.issues!.every((line) => line.length <= 400));
  const ok = answerOf('req', 'instance-1', { ok: true, rooms: 3, changes: [], identities: 0, applied: [], needsRestart: Array.from({ length: 200 }, (_, i) => `setting.number${i}.${'y'.repeat(150)}`) });
  assert.ok(Buffer.byteLength(JSON.stringify(ok)) <= MAX_NOTE_BYTES);
  assert.equal(ok.rooms, 3);
});

test('reload requests are bounded: while a reload runs, at most 64 wait (the rest dropped, logged) and one reload answers them all', async () => {
  const published: string[] = [];
  let deliver: (note: string) => void = () => {};
  const notes: Notes = {
    publish: async (_channel, note) => { published.push(note); },
    subscribe: (_channel, onNote) => { deliver = onNote; return { close: async () => {} }; },
  };
  let reloads = 0;
  let release: () => void = () => {};
  const reload = async (): Promise<ConfigReloadOutcome> => {
    reloads++;
    if (reloads === 1) await new Promise<void>((r) => { release = r; });
    return { ok: true, rooms: 1, changes: [], identities: 0, applied: [], needsRestart: [] };
  };
  const following = answerReloadRequests({ notes, instanceId: 'i-1', reload, logger: silentLogger });
  deliver(JSON.stringify({ id: 'first' }));
  for (let i = 0; i < 100; i++) deliver(JSON.stringify({ id: `r${i}` }));
  release();
  await waitFor(async () => published.length === 65, { what: 'the answers' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(published.length, 65, 'the first and the 64 that waited');
  assert.equal(reloads, 2);
  assert.deepEqual(published.map((n) => (JSON.parse(n) as { id: string }).id), ['first', ...Array.from({ length: 64 }, (_, i) => `r${i}`)]);
  await following.close();
});
