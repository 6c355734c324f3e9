/**
 * docs/fidelity.md, rendered from a run of the matrix: an overview (kind x source -> target, one
 * symbol per cell), then one table per kind with what the target's client showed. The test
 * compares it with the file in the repository, so the doc cannot disagree with the code.
 */
import { NETWORKS, NETWORK_TITLE, COALESCE_MS, type Net } from './rig.ts';
import type { Cell, Row, Verdict } from './cells.ts';
import type { Kind } from './kinds.ts';

export interface MatrixEntry {
  readonly kind: Kind;
  readonly rows: Readonly<Record<Net, Row>>;
}

const SYMBOL: Readonly<Record<Verdict, string>> = {
  'native': '✅',
  'degraded': '🟡',
  'not carried': '⛔',
  'not sendable': '—',
  'not bridged': '↺',
  'FAILED': '❌',
};

/** A table cell: one line, pipes escaped. */
const cellText = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function describe(cell: Cell): string {
  return `${SYMBOL[cell.verdict]} **${cell.verdict}**: ${cellText(cell.how)}`;
}

const INTRO = `# Fidelity matrix

How an event sent natively on one network shows natively on each other network, through
Switchboard. **Generated** by \`test/fidelity/matrix.test.ts\` from a real run: one app
(\`src/app.ts\`, memory bus, media store on) links one room across a WebSocket room, a MUC on a real
Prosody and an MTProto basic group; a WS client (carol) sends and another (dave) receives; alice,
a stock \`@xmpp/client\` user, sends and receives in the MUC; a stock gramjs \`TelegramClient\`
logged in as a person (Bob) sends and one logged in as the bot receives. The senders are their
networks' moderators too: carol's token (\`moderator: true\`), alice (the MUC's owner, on a Prosody
with mod_muc_moderation, who has made the bridge's address the room's admin) and Bob (the
group's admin, \`moderator: true\`); they also set the room's topic (an XMPP room's subject, set
for the other networks by the bridge's relay as the room's admin; an MTProto group's
description). Every cell is an
assertion on what the target's client really got (the stanza and the ids it points at, the
gramjs update and its message ids, the WS event), not a label. The test compares its result with
this file and fails when they differ; after a change of behaviour, regenerate it:

\`\`\`sh
UPDATE_FIDELITY=1 node --import tsx --test test/fidelity/matrix.test.ts
\`\`\`

Legend: ✅ **native** (the target's own way of showing it) · 🟡 **degraded** (a readable fallback;
how is said) · ⛔ **not carried** (with the reason; proven by a later message of the same sender
arriving with nothing of it before) · — **not sendable** from that network · ↺ **not bridged**
(XMPP → XMPP: the MUC delivers to its own occupants; the bridge must echo nothing back, which the
test checks, as it checks that a WS sender gets none of its own events back). Where the mapper
degraded something, its counter \`switchboard_mapper_degraded_total{target,kind,how}\` is named
(\`mapper: how\`); native cells are checked to have none.

**Id map across every pair.** A reply and a read receipt from network S point at the plain
message of next(S) (WS → XMPP's, XMPP → MTProto's, MTProto → WS's), a reaction at that of
prev(S) (WS → MTProto's, XMPP → WS's, MTProto → XMPP's): every (acting network, original's
network) pair is checked on every target against the id that target's client knows the
original by (a canonical id on WS, the room's stanza-id or the id attribute on XMPP, the message
id on MTProto). Edits and retractions change the sender's own message; one of someone else's is
not applied on MTProto, not sent to XMPP (a puppet changes only its own messages), and WS
clients are asked to ignore it ([websocket-protocol.md](websocket-protocol.md#events)); a
moderator's removal is the one exception, applied whoever sent the message ([the last
row](#moderation); [xmpp.md](xmpp.md#moderation); \`test/xmpp/moderation.test.ts\`,
\`test/mtproto/chat-moderation.test.ts\`). The mapper's coalescing
window is ${COALESCE_MS} ms in this run (default 2 s): it changes when presence and typing leave,
not what arrives.

Formatting round trips between the converters (XEP-0393 styling, MTProto entities) are checked
separately with random text: \`test/fidelity/formatting-roundtrip.property.test.ts\`.
`;

export function renderMatrix(entries: readonly MatrixEntry[]): string {
  const out: string[] = [INTRO];
  out.push('## Overview', '');
  const pairs = NETWORKS.flatMap((s) => NETWORKS.map((t) => [s, t] as const));
  const short: Readonly<Record<Net, string>> = { websocket: 'WS', xmpp: 'XMPP', mtproto: 'MT' };
  out.push(`| kind | ${pairs.map(([s, t]) => `${short[s]}→${short[t]}`).join(' | ')} |`);
  out.push(`|---|${pairs.map(() => ':-:').join('|')}|`);
  for (const { kind, rows } of entries) {
    out.push(`| [${kind.key}](#${kind.key}) | ${pairs.map(([s, t]) => SYMBOL[rows[s][t].verdict]).join(' | ')} |`);
  }
  out.push('', '(WS: WebSocket, MT: MTProto; rows are the source, as in the tables below.)', '');
  for (const { kind, rows } of entries) {
    out.push(`<a id="${kind.key}"></a>`, `## ${kind.title}`, '');
    out.push(`Sent as: ${NETWORKS.map((n) => `${NETWORK_TITLE[n]}: ${kind.sends[n]}`).join('; ')}.`, '');
    out.push(`| from ↓ to → | ${NETWORKS.map((n) => NETWORK_TITLE[n]).join(' | ')} |`, '|---|---|---|---|');
    for (const source of NETWORKS) {
      out.push(`| **${NETWORK_TITLE[source]}** | ${NETWORKS.map((t) => describe(rows[source][t])).join(' | ')} |`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
