import { fileURLToPath } from 'node:url';
import { Router } from '../src/router/router.ts';
import type { Bridge } from '../src/core/endpoint.ts';
import type { CanonicalEvent } from '../src/core/event.ts';
import { REMEMBERED_VERDICTS, type IgnoreRules } from '../src/core/ignore.ts';
import { newEventId } from '../src/core/ids.ts';
import type { BenchResult } from './result.ts';

/**
 * What a room's bridges/ `ignore:` rules cost the router (CPU in process, best of five passes):
 * route() of a message in a room with rules (two senders, three RE2 patterns, as an operator
 * keeping bot commands and spam phrases off the bridge would write) against the same room without
 * rules, for a chat-sized message and for one of 4 KiB (patterns see at most 4,096 characters).
 * Routing runs once per event in the bus's ingress: this is added to every message of such a room.
 * Replays and history pages ask the router again about events it routed: the room remembers its
 * newest verdicts (core/ignore.ts REMEMBERED_VERDICTS), measured as a second pass over the same events.
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

/**
 * µs of CPU per route(), best of five passes over `events`. `fresh` gives each pass new event ids
 * (the first time the router sees them); otherwise every pass asks about the same events again.
 */
function cost(router: () => Router, events: readonly CanonicalEvent[], fresh: boolean): number {
  let targets = 0;
  const warm = router();
  for (const e of events.slice(0, 500)) targets += warm.route(e).length;
  const passes: number[] = [];
  for (let pass = 0; pass < 5; pass++) {
    const r = router();
    const batch = fresh ? events.map((e) => ({ ...e, id: newEventId() })) : events;
    if (!fresh) for (const e of batch) targets += r.route(e).length; // routed live once; the pass measures the asking again
    const c0 = process.cpuUsage();
    for (const e of batch) targets += r.route(e).length;
    const c = process.cpuUsage(c0);
    passes.push((c.user + c.system) / batch.length);
  }
  if (targets === 0) throw new Error('nothing was routed: the bench measures an empty path');
  return Math.min(...passes);
}

export async function runRouterIgnoreBench(): Promise<BenchResult[]> {
  const plain = () => new Router(table(), { hostedConnectors: ['websocket', 'mtproto'] });
  const ruled = () => new Router(table(RULES), { hostedConnectors: ['websocket', 'mtproto'] });
  const results: BenchResult[] = [];
  for (const [label, n, text] of [
    ['a chat line', 2_000, (i: number) => `message ${i}: are we still on for the review at three?`],
    ['4 KiB', 2_000, (i: number) => `${i} ${'lorem ipsum dolor sit amet '.repeat(152)}`.slice(0, 4_096)],
  ] as const) {
    const events = messages(text, n);
    const without = cost(plain, events, true);
    const withRules = cost(ruled, events, true);
    const again = cost(ruled, events, false);
    results.push({
      name: `router CPU per message with ignore: rules (2 senders, 3 patterns), ${label}`, value: withRules, unit: 'µs',
      baseline: { name: 'the same room without rules', value: without }, ratio: withRules / without,
      note: `${n} messages, none matching (every pattern runs); extra ${(withRules - without).toFixed(2)} µs per message`,
    }, {
      name: `router CPU per message asked again (a replay, a history page), ignore: rules, ${label}`, value: again, unit: 'µs',
      baseline: { name: 'the first time (routed live)', value: withRules }, ratio: again / withRules,
      note: `the room's remembered verdicts (core/ignore.ts REMEMBERED_VERDICTS ${REMEMBERED_VERDICTS})`,
    });
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const r of await runRouterIgnoreBench()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit} (${r.baseline?.name}: ${r.baseline?.value.toFixed(2)}; ${r.note})`);
}
