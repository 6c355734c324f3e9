import { fileURLToPath } from 'node:url';
import { Router } from '../src/router/router.ts';
import type { Bridge } from '../src/core/endpoint.ts';
import type { CanonicalEvent } from '../src/core/event.ts';
import type { IgnoreRules } from '../src/core/ignore.ts';
import { newEventId } from '../src/core/ids.ts';
import type { BenchResult } from './result.ts';

/**
 * What a room's bridges/ `ignore:` rules cost the router (CPU in process, best of five passes):
 * route() of a message in a room with rules (two senders, three RE2 patterns, as an operator
 * keeping bot commands and spam phrases off the bridge would write) against the same room without
 * rules, for a chat-sized message and for one of 4 KiB (patterns see at most 4,096 characters).
 * Routing runs once per event in the bus's ingress: this is added to every message of such a room.
 */
const RULES: IgnoreRules = {
  senders: [{ network: 'xmpp', id: 'helpbot@example.org' }, { network: 'websocket', id: 'ci' }],
  messages: ['^!', '(?i)\\bbuy now\\b', 'https?://bit\\.ly/'],
};

function table(ignore?: IgnoreRules): Bridge[] {
  return [{
    room: 'lobby', source: 'bench', ...(ignore === undefined ? {} : { ignore }),
    endpoints: [{ connector: 'websocket', address: 'lobby' }, { connector: 'xmpp', address: 'lobby@conference.example.org' }, { connector: 'mtproto', address: '1001' }],
  }];
}

function messages(text: (i: number) => string, n: number): CanonicalEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    v: 1 as const, id: newEventId(), ts: 0, room: 'lobby', kind: 'message' as const, text: text(i),
    sender: { network: 'xmpp', id: `person${i % 7}@example.org` }, origin: { connector: 'xmpp', endpoint: 'lobby@conference.example.org' },
  }));
}

/** µs of CPU per route(), best of five passes over `events`. */
function cost(router: Router, events: readonly CanonicalEvent[]): number {
  let targets = 0;
  for (const e of events.slice(0, 500)) targets += router.route(e).length; // warm-up
  const passes: number[] = [];
  for (let pass = 0; pass < 5; pass++) {
    const c0 = process.cpuUsage();
    for (const e of events) targets += router.route(e).length;
    const c = process.cpuUsage(c0);
    passes.push((c.user + c.system) / events.length);
  }
  if (targets === 0) throw new Error('nothing was routed: the bench measures an empty path');
  return Math.min(...passes);
}

export async function runRouterIgnoreBench(): Promise<BenchResult[]> {
  const plain = new Router(table(), { hostedConnectors: ['websocket', 'mtproto'] });
  const ruled = new Router(table(RULES), { hostedConnectors: ['websocket', 'mtproto'] });
  const results: BenchResult[] = [];
  for (const [label, n, text] of [
    ['a chat line', 20_000, (i: number) => `message ${i}: are we still on for the review at three?`],
    ['4 KiB', 2_000, (i: number) => `${i} ${'lorem ipsum dolor sit amet '.repeat(152)}`.slice(0, 4_096)],
  ] as const) {
    const events = messages(text, n);
    const without = cost(plain, events);
    const withRules = cost(ruled, events);
    results.push({
      name: `router CPU per message with ignore: rules (2 senders, 3 patterns), ${label}`, value: withRules, unit: 'µs',
      baseline: { name: 'the same room without rules', value: without }, ratio: withRules / without,
      note: `${n} messages, none matching (every pattern runs); extra ${(withRules - without).toFixed(2)} µs per message`,
    });
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await runRouterIgnoreBench()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit} (without: ${r.baseline?.value.toFixed(2)}; ${r.note})`);
}
