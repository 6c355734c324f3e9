// bridges/ reloaded on two instances sharing one Redis (each gets its own SIGHUP, as an operator
// sends it): only the holder of the component lease joins and leaves rooms; the standby follows in
// its own table, so when it takes the component over it serves the reloaded set, nothing else.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { xml } from '@xmpp/client';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { killAllBridges, spawnBridge, type BridgeProcess } from '../e2e/bridge-process.ts';
import { freePort } from '../helpers/ports.ts';
import { startRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { startAliceInLobby } from './bridge-harness.ts';
import { isText, presenceOf } from './reload-rig.ts';

const CAROL = 'sb_test_carol_xmpp_reload_takeover';

after(async () => { await killAllBridges(); });

/** Whether this bridge's /healthz says it holds the component and its stream is online. */
async function holdsOnline(b: BridgeProcess): Promise<boolean> {
  try {
    const body = await (await fetch(`${b.httpUrl}/healthz`)).text();
    return /"holder":true/.test(body) && /"stream":"online"/.test(body);
  } catch {
    return false;
  }
}

const reloads = (b: BridgeProcess): number => b.output().split('"msg":"bridges reloaded"').length - 1;

test('two instances, each reloaded by its own SIGHUP: the holder\'s relay joins the room linked and leaves the one unlinked, the standby joins nothing; killed, the holder\'s successor serves the reloaded set', { timeout: 120_000 }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const { prosody, alice } = await startAliceInLobby(t);
  const muc = (name: string): string => `${name}@${prosody.mucDomain}`;
  await alice.joinMuc(muc('dev'), 'Alice');
  await alice.joinMuc(muc('ops'), 'Alice');
  const file = (name: string): string => `endpoints:\n  - websocket: ${name}\n  - xmpp: ${muc(name)}\n`;
  const configFor = (port: number): string => [
    `http: { port: ${port} }\n`,
    `bus:\n  driver: redis\n  redis: { url: "${redis.url}", prefix: sbrl }\n  delivery: { maxAttempts: 1000, backoffMs: 50, maxBackoffMs: 1000 }\n`,
    'shutdown: { drainTimeoutMs: 3000 }\n',
    `websocket:\n  tokens:\n    - { name: carol, hash: "${hashToken(CAROL)}", displayName: Carol }\n`,
    `xmpp:\n  enabled: true\n  port: ${prosody.componentPort}\n  domain: ${prosody.componentDomain}\n  secret: "${prosody.componentSecret}"\n  reconnectMaxMs: 1000\n`,
  ].join('');
  const trees = [makeConfigTree(configFor(await freePort()), { 'bridges/lobby.yaml': file('lobby'), 'bridges/ops.yaml': file('ops') }),
    makeConfigTree(configFor(await freePort()), { 'bridges/lobby.yaml': file('lobby'), 'bridges/ops.yaml': file('ops') })];
  t.after(() => { for (const tree of trees) tree.cleanup(); });

  const since = alice.mark();
  const a = await spawnBridge(trees[0]!.configFile, 30_000);
  await waitFor(() => holdsOnline(a), { what: 'instance A holding the component', timeoutMs: 20_000 });
  await alice.waitFor(presenceOf(`${muc('ops')}/Switchboard`), 'A\'s relay in ops', { since });
  const b = await spawnBridge(trees[1]!.configFile, 30_000);

  // The operator links dev and unlinks ops on both, and sends each its SIGHUP.
  for (const [tree, instance] of [[trees[0]!, a], [trees[1]!, b]] as const) {
    tree.write('bridges/dev.yaml', file('dev'));
    rmSync(join(tree.dir, 'bridges', 'ops.yaml'));
    instance.signal('SIGHUP');
    await waitFor(() => reloads(instance) === 1, { what: `instance ${instance === a ? 'A' : 'B'} reloaded` });
  }
  await alice.waitFor(presenceOf(`${muc('dev')}/Switchboard`), 'the relay joining dev', { since });
  await alice.waitFor(presenceOf(`${muc('ops')}/Switchboard`, 'unavailable'), 'the relay leaving ops', { since });
  assert.equal(await holdsOnline(b), false, 'B stands by');

  const killed = alice.mark();
  a.signal('SIGKILL');
  await a.exited;
  await waitFor(() => holdsOnline(b), { what: 'instance B taking the component over', timeoutMs: 40_000 });
  await alice.waitFor(presenceOf(`${muc('dev')}/Switchboard`), 'B\'s relay in dev', { since: killed, timeoutMs: 20_000 });
  await alice.waitFor(presenceOf(`${muc('lobby')}/Switchboard`), 'B\'s relay in lobby', { since: killed, timeoutMs: 20_000 });

  const carol = await connectClient(b.wsUrl, CAROL);
  t.after(() => carol.close());
  await carol.request({ type: 'join', room: 'dev' });
  await alice.send(xml('message', { to: muc('ops'), type: 'groupchat' }, xml('body', {}, 'in ops')));
  await alice.send(xml('message', { to: muc('dev'), type: 'groupchat' }, xml('body', {}, 'in dev')));
  await carol.next(isText('in dev'), 20_000);
  await carol.request({ type: 'send', room: 'dev', event: { kind: 'message', text: 'from B' } });
  await alice.waitFor((el) => el.attrs['from'] === `${muc('dev')}/Carol` && el.getChildText('body') === 'from B', 'carol in dev through B', { since: killed });

  const relayIn = (name: string, from: number): number => alice.stanzas.slice(from).filter(presenceOf(`${muc(name)}/Switchboard`)).length;
  assert.equal(relayIn('ops', killed), 0, 'B never joined the unlinked room');
  assert.equal(relayIn('dev', since) - relayIn('dev', killed), 1, 'before the kill only the holder joined dev');
  assert.equal(carol.events.some((e) => e.event['text'] === 'in ops'), false);
});
