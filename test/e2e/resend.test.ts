import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import WebSocket from 'ws';
import { hashToken } from '../../src/connectors/websocket/tokens.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { startRedis } from '../helpers/redis.ts';
import { makeConfigTree } from '../config/fixture.ts';
import { waitFor } from '../helpers/wait.ts';
import { killAllBridges, spawnBridge } from './bridge-process.ts';

/**
 * Issue #7 §2, end to end: a client's message was published but its ack never reached it (the
 * bridge was SIGKILLed first). The client resends with the same `txn`; the room's stream and the
 * receiver hold the message exactly once, and the resend is acknowledged with the first id.
 */

const SENDER = 'sb_test_sender_resend';
const RECEIVER = 'sb_test_receiver_resend';

after(async () => { await killAllBridges(); });

/**
 * A TCP proxy that forwards everything from the client and, from the server, only the HTTP
 * upgrade answer: every WebSocket frame after it (hello, acks) is swallowed, as if the network
 * died on the way back.
 */
async function ackSwallowingProxy(target: URL): Promise<{ url: string; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let head = Buffer.alloc(0);
    let upgraded = false;
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (upgraded) return;
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      upgraded = true;
      client.write(head.subarray(0, end + 4));
    });
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on('error', close); upstream.on('error', close);
    client.on('close', close); upstream.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy did not listen');
  return { url: `ws://127.0.0.1:${address.port}${target.pathname}`, server, sockets };
}

test('a sender whose acks were lost to a crash resends with its txns: each message is in the room exactly once', { timeout: 120_000 }, async () => {
  const redis = await startRedis();
  const tree = makeConfigTree([
    'http: { port: 0 }\n',
    `bus:\n  driver: redis\n  redis: { url: "${redis.url}", prefix: resend }\n`,
    'websocket:\n  tokens:\n',
    `    - { name: sender, hash: "${hashToken(SENDER)}" }\n`,
    `    - { name: receiver, hash: "${hashToken(RECEIVER)}" }\n`,
  ].join(''), { 'bridges/lobby.yaml': 'endpoints:\n  - websocket: lobby\n' });
  const count = 20;
  const texts = Array.from({ length: count }, (_, i) => `message ${i}`);
  let proxy: Awaited<ReturnType<typeof ackSwallowingProxy>> | undefined;
  try {
    const first = await spawnBridge(tree.configFile);
    const receiver = await connectClient(first.wsUrl, RECEIVER);
    await receiver.request({ type: 'join', room: 'lobby' });

    // The sender's frames reach the bridge; nothing the bridge answers reaches the sender.
    proxy = await ackSwallowingProxy(new URL(first.wsUrl));
    const sender = new WebSocket(proxy.url, { headers: { authorization: `Bearer ${SENDER}` } });
    const received: string[] = [];
    sender.on('message', (m) => received.push(String(m)));
    await new Promise<void>((resolve, reject) => { sender.once('open', () => resolve()); sender.once('error', reject); });
    sender.send(JSON.stringify({ type: 'join', room: 'lobby' }));
    texts.forEach((text, i) => sender.send(JSON.stringify({ type: 'send', ref: `r${i}`, txn: `t${i}`, room: 'lobby', event: { kind: 'message', text } })));

    // Published: the receiver has them all. Then the bridge dies before the sender saw one ack.
    await waitFor(() => receiver.events.length >= count, { timeoutMs: 30_000, what: () => `${count} events at the receiver (got ${receiver.events.length})` });
    first.signal('SIGKILL');
    await first.exited;
    assert.deepEqual(received, [], 'the sender saw no frame at all: no hello, no ack');
    const published = receiver.events.map((e) => e.event.id);
    const lastCursor = receiver.events[receiver.events.length - 1]?.cursor;
    assert.deepEqual(receiver.events.map((e) => e.event['text']), texts);
    sender.terminate();
    await receiver.close();

    // Restart; the sender resends everything it has no ack for, with the same txns, in order.
    const second = await spawnBridge(tree.configFile);
    const resender = await connectClient(second.wsUrl, SENDER);
    await resender.request({ type: 'join', room: 'lobby' });
    const acks = [];
    for (const [i, text] of texts.entries()) {
      acks.push(await resender.request({ type: 'send', txn: `t${i}`, room: 'lobby', event: { kind: 'message', text } }));
    }
    assert.deepEqual(acks.map((a) => [a.type, a['id'], a['duplicate']]), published.map((id) => ['ack', id, true]),
      'each resend is acknowledged with the id of the message that was published');
    const fresh = await resender.request({ type: 'send', txn: 'new', room: 'lobby', event: { kind: 'message', text: 'after the restart' } });
    assert.equal(fresh['duplicate'], undefined);

    // The receiver resumes: only the new message is new; everything retained holds each message once.
    const resumed = await connectClient(second.wsUrl, RECEIVER);
    await resumed.request({ type: 'join', room: 'lobby', since: lastCursor });
    // Routing resumes once the dead instance's router lease expires (about 10 s).
    const [next] = await resumed.collectEvents(1, 30_000);
    assert.equal(next?.event.id, fresh['id']);
    const everything = await connectClient(second.wsUrl, RECEIVER);
    await everything.request({ type: 'join', room: 'lobby', since: null });
    const all = await everything.collectEvents(count + 1, 30_000);
    assert.deepEqual(all.map((e) => e.event.id), [...published, fresh['id']]);
    await everything.request({ type: 'ping' }); // every replayed event is out before the pong
    assert.equal(everything.events.length, count + 1, 'no duplicate in the room\'s stream');
    await resumed.close();
    await everything.close();
    await resender.close();
    second.signal('SIGTERM');
    await second.exited;
  } finally {
    for (const s of proxy?.sockets ?? []) s.destroy();
    proxy?.server.close();
    await killAllBridges();
    await redis.stop();
    tree.cleanup();
  }
});
