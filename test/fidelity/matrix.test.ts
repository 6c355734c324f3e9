// The fidelity matrix (issue 10): every source network x target network x event kind, sent
// natively from the source's own client and checked on each target's own client, through one
// app. Writes or checks docs/fidelity.md (UPDATE_FIDELITY=1 writes it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NETWORKS, type Net } from './rig.ts';
import { startRig } from './rig.ts';
import { KINDS, type Ctx } from './kinds.ts';
import { degradedBetween, degradedCounts, type Cell, type Row } from './cells.ts';
import { renderMatrix, type MatrixEntry } from './doc.ts';
import { fromPuppet, isNewMessage, marks, messageOf, mtprotoNext, wsNext, xmppNext } from './observe.ts';

const DOC = fileURLToPath(new URL('../../docs/fidelity.md', import.meta.url));

/** Adds the mapper's own account to a cell, and checks that a native cell was not degraded by it. */
function withMapper(cell: Cell, hows: readonly string[], where: string): Cell {
  if (cell.verdict === 'native' && hows.length > 0) return { verdict: 'FAILED', how: `${where}: native, but the mapper counted ${hows.join(', ')}` };
  if (hows.length === 0 || cell.verdict === 'FAILED') return cell;
  return { ...cell, how: `${cell.how} (mapper: ${hows.map((h) => `\`${h}\``).join(', ')})` };
}

/**
 * A WS message that every target must receive: each target's deliveries (mapping, connector,
 * the mapper's counting) run one batch after the other, so once it arrived everywhere, every
 * batch before it has been counted.
 */
async function barrier(ctx: Ctx): Promise<void> {
  const { rig } = ctx;
  const m = marks(rig);
  const text = `barrier ${++ctx.fences}`;
  await rig.carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text } });
  await Promise.all([
    wsNext(rig.dave, m.ws, (e) => e['text'] === text, text),
    xmppNext(rig.alice, m.xmpp, (el) => fromPuppet(el, rig.roomJid) && el.getChildText('body') === text, text),
    mtprotoNext(rig.botUpdates, m.mtproto, isNewMessage((msg) => msg.message === text), text),
  ]);
}

test('fidelity matrix: every kind from every network, as each network\'s own client shows it; docs/fidelity.md is this run', { timeout: 240_000 }, async (t) => {
  const rig = await startRig();
  t.after(() => rig.close());
  const ctx: Ctx = { rig, plain: {}, formatted: {}, puppetNick: {}, mtprotoUser: { mtproto: '777000123' }, aliceBodies: [], fences: 0 };
  const entries: MatrixEntry[] = [];
  const failures: string[] = [];
  for (const kind of KINDS) {
    const rows: Partial<Record<Net, Row>> = {};
    for (const source of NETWORKS) {
      const before = await degradedCounts(rig.app.registry);
      const got = await kind.run(source, ctx);
      // The mapper counts a batch once the connector handled it, which may be just after the
      // target's client saw the result; a later message reaching every target proves it counted.
      await barrier(ctx);
      const after = await degradedCounts(rig.app.registry);
      const checked = {} as Record<Net, Cell>;
      for (const target of NETWORKS) {
        const where = `${kind.key} ${source} -> ${target}`;
        const cell = withMapper(got[target], degradedBetween(before, after, target, kind.canonical), where);
        if (cell.verdict === 'FAILED') failures.push(`${where}: ${cell.how}`);
        checked[target] = cell;
      }
      rows[source] = checked;
    }
    entries.push({ kind, rows: rows as Record<Net, Row> });
  }

  // No echoes. A last WS message reaches the MUC after everything before it (one room, in order):
  // by then alice has had every puppet stanza the run caused, and none is from a puppet of her.
  const m = marks(rig);
  await rig.carol.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'last word' } });
  await xmppNext(rig.alice, m.xmpp, (el) => fromPuppet(el, rig.roomJid) && el.getChildText('body') === 'last word', 'the last word');
  const echoes = rig.alice.stanzas.filter((el) => fromPuppet(el, rig.roomJid) && (/\(xmpp\)$/.test(el.attrs['from'] ?? '')
    // (a retraction's fallback body is the same words for everyone)
    || (el.getChild('retract', 'urn:xmpp:message-retract:1') === undefined && ctx.aliceBodies.includes(el.getChildText('body') ?? '\u0000'))));
  assert.deepEqual(echoes.map(String), [], 'the bridge echoed alice\'s own stanzas back into the MUC');
  // Topics: the relay set the MUC's subject once for each other network, and never alice's back;
  // the WS receiver got each network's topic once.
  const relaySubjects = rig.alice.stanzas.filter((el) => el.name === 'message' && el.attrs['from'] === `${rig.roomJid}/Switchboard` && el.getChild('subject') !== undefined);
  assert.deepEqual(relaySubjects.map((el) => el.getChildText('subject')), ['topic from websocket: release day 🚀', 'topic from mtproto: release day 🚀']);
  await wsNext(rig.dave, m.ws, (e) => e['text'] === 'last word', 'the last word');
  assert.deepEqual(rig.dave.events.filter((e) => e.event.kind === 'topic').map((e) => (e.event['sender'] as { network: string }).network), ['websocket', 'xmpp', 'mtproto']);
  assert.deepEqual(rig.carol.events.filter((e) => (e.event['sender'] as { id: string }).id === 'carol').map((e) => e.event.kind), [], 'a WS sender gets none of its own events back');
  const ownAsOthers = rig.botUpdates.all.filter((u) => u.className === 'UpdateNewMessage' && messageOf(u).fromId?.userId?.toString() === '5001');
  assert.deepEqual(ownAsOthers.map((u) => messageOf(u).message), [], 'the bot (which sent nothing) got no message of its own');

  const doc = renderMatrix(entries);
  if (process.env['FIDELITY_PRINT']) process.stdout.write(doc);
  assert.deepEqual(failures, [], `cells that failed:\n${failures.join('\n')}`);
  if (process.env['UPDATE_FIDELITY'] === '1') {
    writeFileSync(DOC, doc);
    return;
  }
  assert.ok(existsSync(DOC), 'docs/fidelity.md is missing: run UPDATE_FIDELITY=1 node --import tsx --test test/fidelity/matrix.test.ts');
  assert.equal(readFileSync(DOC, 'utf8'), doc,
    'docs/fidelity.md disagrees with this run: if the change of behaviour is intended, regenerate it with UPDATE_FIDELITY=1 node --import tsx --test test/fidelity/matrix.test.ts');
});
