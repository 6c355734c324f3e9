/**
 * XMPP benchmark (issue #8): an XMPP client sends to a MUC at a fixed rate; measured at the
 * receiving end, in the same run against the same throwaway Prosody:
 *   - baseline: Prosody's own path, client -> MUC -> another XMPP client;
 *   - subject:  client -> MUC -> Switchboard (component, memory bus) -> a WebSocket client.
 * Throughput = messages received / (last receipt - first send); latency per message from its
 * send to its receipt (same process, same clock). Targets: bridged throughput >= 0.8x Prosody's,
 * bridged p99 <= 2x Prosody's. Bounded in count and time; runnable alone:
 * `node --import tsx bench/xmpp.ts`.
 */
import { fileURLToPath } from 'node:url';
import { xml } from '@xmpp/client';
import type { Element } from '@xmpp/xml';
import { startProsody, type ProsodyServer } from '../test/helpers/prosody.ts';
import { connectUser, type TestUser } from '../test/helpers/xmpp-client.ts';
import { connectClient } from '../test/helpers/ws-client.ts';
import { startXmppBridge } from '../test/xmpp/bridge-harness.ts';
import { MemoryBus } from '../src/bus/memory/memory-bus.ts';
import { createRegistry } from '../src/core/metrics.ts';
import { busOptions } from '../test/websocket/harness.ts';
import type { BenchResult } from './result.ts';
import { summarize, type LatencySummary } from './stats.ts';

const RATE_PER_SECOND = 500;
const MESSAGES = 2_500; // 5 s at 500/s
const TICK_MS = 10;
const DRAIN_TIMEOUT_MS = 30_000;

interface Run { throughput: number; latency: LatencySummary; received: number }

/** Sends MESSAGES bodies `<seq>` from `sender` at RATE_PER_SECOND; `onSent` records each send time. */
async function pacedSend(sender: TestUser, room: string, sent: Float64Array): Promise<void> {
  const perTick = (RATE_PER_SECOND * TICK_MS) / 1000;
  const t0 = performance.now();
  let next = 0;
  while (next < MESSAGES) {
    const due = Math.min(MESSAGES, Math.floor(((performance.now() - t0) / TICK_MS + 1) * perTick));
    while (next < due) {
      sent[next] = performance.now();
      void sender.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, `bench ${next}`)));
      next++;
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
}

function finish(sent: Float64Array, received: Float64Array, count: number, what: string): Run {
  if (count < MESSAGES) throw new Error(`${what}: only ${count} of ${MESSAGES} messages arrived within ${DRAIN_TIMEOUT_MS} ms`);
  const latencies: number[] = [];
  let last = 0;
  for (let i = 0; i < MESSAGES; i++) {
    latencies.push((received[i] as number) - (sent[i] as number));
    last = Math.max(last, received[i] as number);
  }
  return { throughput: MESSAGES / ((last - (sent[0] as number)) / 1000), latency: summarize(latencies), received: count };
}

function waitForAll(count: () => number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    const check = (): void => {
      if (count() >= MESSAGES) resolve();
      else if (Date.now() > deadline) reject(new Error(`${what}: ${count()} of ${MESSAGES} arrived within the drain timeout`));
      else setTimeout(check, 20);
    };
    check();
  });
}

async function prosodyOwn(prosody: ProsodyServer): Promise<Run> {
  const room = `own@${prosody.mucDomain}`;
  const alice = await connectUser(prosody, 'alice', 'bench-own');
  const bob = await connectUser(prosody, 'bob', 'bench-own');
  try {
    await alice.joinMuc(room, 'Alice');
    await bob.joinMuc(room, 'Bob');
    const sent = new Float64Array(MESSAGES);
    const received = new Float64Array(MESSAGES);
    let count = 0;
    bob.client.on('stanza', (el: Element) => {
      const body = el.name === 'message' ? el.getChildText('body') : null;
      if (!body?.startsWith('bench ')) return;
      received[Number(body.slice(6))] = performance.now();
      count++;
    });
    await pacedSend(alice, room, sent);
    await waitForAll(() => count, 'prosody own path');
    return finish(sent, received, count, 'prosody own path');
  } finally {
    await alice.stop();
    await bob.stop();
  }
}

async function bridged(prosody: ProsodyServer): Promise<Run> {
  const room = `lobby@${prosody.mucDomain}`;
  const alice = await connectUser(prosody, 'alice', 'bench-bridged');
  await alice.joinMuc(room, 'Alice');
  // The production defaults of the bus (no batching timer), not the test harness's.
  const registry = createRegistry(false);
  const bus = new MemoryBus({ ...busOptions(registry), batch: { maxEvents: 256, maxWaitMs: 0 } });
  // One sender at 500 msg/s: the per-occupant flood limit (default 20/s) is not under test here.
  const bridge = await startXmppBridge(prosody, { bus, xmpp: { inboundPerSenderPerSecond: 100_000, inboundPerSenderBurst: 100_000 } });
  try {
    await alice.waitFor((el) => el.name === 'presence' && el.attrs['from'] === `${room}/Switchboard`, 'the relay joining');
    const carol = await connectClient(bridge.wsUrl, bridge.tokens.carol);
    try {
      await carol.request({ type: 'join', room: 'lobby' });
      const sent = new Float64Array(MESSAGES);
      const received = new Float64Array(MESSAGES);
      let count = 0;
      carol.ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as { type?: string; event?: { kind?: string; text?: string } };
        const text = frame.type === 'event' && frame.event?.kind === 'message' ? frame.event.text : undefined;
        if (!text?.startsWith('bench ')) return;
        received[Number(text.slice(6))] = performance.now();
        count++;
      });
      await pacedSend(alice, room, sent);
      await waitForAll(() => count, 'bridged path');
      return finish(sent, received, count, 'bridged path');
    } finally {
      await carol.close();
    }
  } finally {
    await bridge.stop();
    await bus.close();
    await alice.stop();
  }
}

export async function runXmppBench(): Promise<BenchResult[]> {
  const prosody = await startProsody();
  try {
    const own = await prosodyOwn(prosody);
    const sub = await bridged(prosody);
    const at = `at ${RATE_PER_SECOND} msg/s, ${MESSAGES} messages`;
    return [
      { name: 'xmpp: prosody client->MUC->client throughput', value: own.throughput, unit: 'msg/s', note: at },
      { name: 'xmpp: prosody client->MUC->client p99', value: own.latency.p99, unit: 'ms', note: `p50 ${own.latency.p50.toFixed(2)} ms` },
      {
        name: 'xmpp: client->MUC->bridge->WS throughput', value: sub.throughput, unit: 'msg/s',
        baseline: { name: 'prosody own', value: own.throughput }, ratio: sub.throughput / own.throughput,
        note: `target >= 0.8x; memory bus; ${at}`,
      },
      {
        name: 'xmpp: client->MUC->bridge->WS p99', value: sub.latency.p99, unit: 'ms',
        baseline: { name: 'prosody own', value: own.latency.p99 }, ratio: sub.latency.p99 / own.latency.p99,
        note: `target <= 2x; p50 ${sub.latency.p50.toFixed(2)} ms`,
      },
    ];
  } finally {
    await prosody.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = await runXmppBench();
  for (const r of results) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}${r.ratio !== undefined ? ` (${r.ratio.toFixed(2)}x)` : ''}${r.note ? `  ${r.note}` : ''}`);
  process.exit(0);
}
