import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { killAllBridges, spawnBridge } from '../e2e/bridge-process.ts';
import { freePort } from '../helpers/ports.ts';
import { startProsody } from '../helpers/prosody.ts';
import { startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectClient, type EventFrame, type ServerFrame } from '../helpers/ws-client.ts';
import { connectUser, type TestUser } from '../helpers/xmpp-client.ts';
import { holdsOnline } from './bridge-harness.ts';

const CAROL = 'sb_test_carol_xmpp_takeover';

after(async () => { await killAllBridges(); });

const isText = (f: ServerFrame, text: string): boolean => f.type === 'event' && (f as EventFrame).event['text'] === text;

/** Redis, Prosody with alice in the MUC, and two bridge config trees (instances A and B) on them; everything stopped by `t.after`. */
async function twoInstanceRig(t: { after(fn: () => unknown): void }, prefix: string) {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const room = `lobby@${prosody.mucDomain}`;
  const alice: TestUser = await connectUser(prosody, 'alice');
  t.after(() => alice.stop());
  await alice.joinMuc(room, 'Alice');
  const configFor = (port: number): string => [
    `http: { port: ${port} }\n`,
    `bus:\n  driver: redis\n  redis: { url: "${redis.url}", prefix: ${prefix} }\n  delivery: { maxAttempts: 1000, backoffMs: 50, maxBackoffMs: 1000 }\n`,
    'shutdown: { drainTimeoutMs: 3000 }\n',
    `websocket:\n  tokens:\n    - { name: carol, hash: "${hashToken(CAROL)}", displayName: Carol }\n`,
    `xmpp:\n  enabled: true\n  port: ${prosody.componentPort}\n  domain: ${prosody.componentDomain}\n  secret: "${prosody.componentSecret}"\n  reconnectMaxMs: 1000\n  reflectionTimeoutMs: 3000\n`,
  ].join('');
  const bridgeFile = { 'bridges/lobby.yaml': `endpoints:\n  - websocket: lobby\n  - xmpp: ${room}\n` };
  const treeA = makeConfigTree(configFor(await freePort()), bridgeFile);
  const treeB = makeConfigTree(configFor(await freePort()), bridgeFile);
  t.after(() => { treeA.cleanup(); treeB.cleanup(); });
  return { redis, prosody, room, alice, treeA, treeB };
}

test('the component holder is killed -9: another instance takes the component over, and nothing is lost or doubled', { timeout: 120_000 }, async (t) => {
  const { room, alice, treeA, treeB } = await twoInstanceRig(t, 'sbx');

  const a = await spawnBridge(treeA.configFile, 30_000);
  await waitFor(() => holdsOnline(a), { what: 'instance A holding the component', timeoutMs: 20_000 });
  const b = await spawnBridge(treeB.configFile, 30_000);
  assert.equal(await holdsOnline(b), false, 'B stands by while A holds the component');

  // carol talks through B (any instance serves WS); the component is on A.
  const carol = await connectClient(b.wsUrl, CAROL);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  const carolSays = async (text: string): Promise<void> => {
    const ack = await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
    assert.equal(ack.type, 'ack');
  };
  const aliceSays = (text: string): Promise<void> => alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, text)));

  await carolSays('C1');
  await alice.waitFor((el) => el.getChildText('body') === 'C1', 'C1 at alice', { timeoutMs: 20_000 });
  await aliceSays('A1');
  await carol.next((f) => isText(f, 'A1'), 20_000);

  a.signal('SIGKILL');
  await a.exited;
  // Both sides keep talking while nobody holds the component.
  await carolSays('C2');
  await aliceSays('A2');
  await carolSays('C3');
  await aliceSays('A3');
  await waitFor(() => holdsOnline(b), { what: 'instance B taking the component over', timeoutMs: 40_000 });
  await carolSays('C4');
  await alice.waitFor((el) => el.getChildText('body') === 'C4', 'C4 at alice', { timeoutMs: 30_000 });
  await aliceSays('A4');
  await carol.next((f) => isText(f, 'A4'), 30_000);

  assert.deepEqual(carol.events.filter((e) => e.event.kind === 'message').map((e) => e.event['text']), ['A1', 'A2', 'A3', 'A4']);
  const carolsAtAlice = alice.stanzas.filter((el) => el.name === 'message' && el.attrs['from'] === `${room}/Carol`).map((el) => el.getChildText('body'));
  assert.deepEqual(carolsAtAlice, ['C1', 'C2', 'C3', 'C4'], 'each of carol\'s messages reached the room once, in order');
});

test('Redis unreachable for longer than the component lease: the holder lets the stream go, exactly one instance holds the component afterwards, and both directions flow again', { timeout: 150_000 }, async (t) => {
  const { redis, room, alice, treeA, treeB } = await twoInstanceRig(t, 'sbo');
  const a = await spawnBridge(treeA.configFile, 30_000);
  await waitFor(() => holdsOnline(a), { what: 'instance A holding the component', timeoutMs: 20_000 });
  const b = await spawnBridge(treeB.configFile, 30_000);

  // Redis goes away (killed, refusing connections) for longer than the lease's 10 s, and comes back with its data.
  await redis.crashAndRestart(15_000);

  // Exactly one holder with its stream online, and it stays so (no instance shut out by a lingering stream).
  const holders = async (): Promise<number> => (await Promise.all([a, b].map(holdsOnline))).filter(Boolean).length;
  await waitFor(async () => await holders() === 1, { what: 'one instance holding the component again', timeoutMs: 60_000, intervalMs: 250 });
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(await holders(), 1, 'one holder, still');

  const carol = await connectClient(b.wsUrl, CAROL);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'lobby' });
  const since = alice.mark();
  assert.equal((await carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'after the outage' } })).type, 'ack');
  await alice.waitFor((el) => el.getChildText('body') === 'after the outage', 'carol\'s message at alice', { since, timeoutMs: 30_000 });
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'alice after the outage')));
  await carol.next((f) => isText(f, 'alice after the outage'), 30_000);
});
