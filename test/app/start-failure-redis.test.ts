import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { freePort } from '../helpers/ports.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { runStart, type StartRun } from '../helpers/run-start.ts';

/**
 * A start on the redis bus that fails after the bus connected (here: the XMPP server refuses the
 * component secret) must close everything and exit 3 with one line, every time. It used to die
 * now and then of an uncaught "Connection is closed." instead (exit 1 and a stack trace): a
 * consumer that had just taken its lease closed its BullMQ worker while the worker's blocking
 * connection was still being opened (src/bus/redis/bullmq-adapter.ts, closeWorker).
 *
 * The start is run many times, half of them straight to Redis (the race as it comes, a few ms
 * wide: caught in about one run of four) and half through a proxy that widens the race: it holds
 * back BullMQ's own INFO on a worker's new connection (the last step of opening it) for 50 ms,
 * so every such start closes a worker in the middle of that.
 */

const RUNS = 16;
const AT_ONCE = 4;
const REFUSED = 'switchboard could not start: the XMPP server refused the component secret for bridge.localhost: check the secret, and that the server serves this domain as a component\n';

let redis: RedisServer;
let component: Server;
let componentPort: number;
let proxy: Server;
let slowed = 0;
const sockets = new Set<Socket>();

function remember(socket: Socket): void {
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
}

function listening(server: Server, port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Just enough of an XMPP server's component port (XEP-0114) to refuse the secret: the stream
 * header back, then not-authorized as soon as the handshake came.
 */
function refusingComponentPort(port: number): Promise<Server> {
  return listening(createServer((socket) => {
    remember(socket);
    socket.on('error', () => undefined);
    let text = '';
    let opened = false;
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (!opened && text.includes('<stream:stream')) {
        opened = true;
        socket.write("<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='refusing' from='bridge.localhost'>");
      }
      if (text.includes('</handshake>')) {
        text = '';
        socket.end("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
      }
    });
  }), port);
}

/**
 * A TCP proxy to Redis that, on the connections a BullMQ worker opens for its blocking fetches
 * (the only ones that name themselves, CLIENT SETNAME, first thing), holds back every command
 * from the second INFO on by `holdMs`: the first INFO is ioredis's ready check, the second
 * BullMQ's own, the last step before the connection counts as open. Everything else passes as is.
 */
function infoHoldingProxy(port: number, holdMs: number): Promise<Server> {
  return listening(createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      remember(s);
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    let named: boolean | undefined;
    let infos = 0;
    let last = 0;
    client.on('data', (d: Buffer) => {
      const text = d.toString('latin1');
      named ??= /setname/i.test(text);
      if (!named) { upstream.write(d); return; }
      if (/\binfo\b/i.test(text) && ++infos === 2) slowed++;
      // In order: nothing overtakes a held command.
      const at = Math.max(last, Date.now() + (infos >= 2 ? holdMs : 0));
      last = at;
      setTimeout(() => { if (!upstream.destroyed) upstream.write(d); }, at - Date.now());
    });
    client.on('end', () => setTimeout(() => upstream.end(), Math.max(0, last - Date.now())));
    upstream.pipe(client);
  }));
}

before(async () => {
  redis = await startRedis();
  componentPort = await freePort();
  component = await refusingComponentPort(componentPort);
  proxy = await infoHoldingProxy(redis.port, 50);
});

after(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => component.close(resolve));
  await new Promise((resolve) => proxy.close(resolve));
  await redis.stop();
});

/** `switchboard start` as a child, with its own Redis prefix (no run waits for another's leases). */
async function failingStart(i: number, redisUrl: string): Promise<StartRun> {
  const tree = makeConfigTree([
    'log: { level: silent }\n',
    'http: { port: 0 }\n',
    `bus:\n  driver: redis\n  redis: { url: "${redisUrl}", prefix: "sfr${i}" }\n`,
    `xmpp:\n  enabled: true\n  port: ${componentPort}\n  domain: bridge.localhost\n  secret: wrong\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints: [{websocket: lobby}, {xmpp: lobby@conference.localhost}]\n' });
  try {
    return await runStart(tree.configFile, { timeoutMs: 15_000 }).catch((err: Error) => { throw new Error(`run ${i}: ${err.message}`); });
  } finally {
    tree.cleanup();
  }
}

test(`a start that fails after the redis bus connected exits 3 with one line, ${RUNS} runs out of ${RUNS}`, { timeout: 60_000 }, async () => {
  const proxyUrl = `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  const runs: StartRun[] = [];
  for (let first = 0; first < RUNS; first += AT_ONCE) {
    runs.push(...await Promise.all(Array.from({ length: Math.min(AT_ONCE, RUNS - first) },
      (_, k) => failingStart(first + k, (first + k) % 2 === 0 ? redis.url : proxyUrl))));
  }
  const bad = runs.map((r, i) => ({ ...r, i })).filter((r) => r.code !== 3 || r.stderr !== REFUSED || r.stdout !== '');
  assert.deepEqual(bad.map((r) => `run ${r.i}: exit ${r.code ?? r.signal}`), [],
    `${bad.length} of ${RUNS} failed starts did not exit 3 with one line; the first:\n${bad[0]?.stdout ?? ''}${bad[0]?.stderr ?? ''}`);
  // The proxy widened the race only if it found the workers' connections (BullMQ names them).
  assert.ok(slowed >= RUNS / 2, `the proxy held back BullMQ's INFO on ${slowed} worker connections`);
});
