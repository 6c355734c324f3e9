// Puppet nicks against a real Prosody: whatever a display name holds, the nick made of it is one
// Prosody's MUC accepts as it is (it refuses anything a strict resourceprep would change or refuse:
// emoji, private use, bidi controls, mixed directions), and the tables are RFC 3454's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { xml } from '@xmpp/client';
import { acceptedNick, asciiNick } from '../../src/connectors/xmpp/nick-prep.ts';
import { MAX_NICK_CHARS, puppetNick } from '../../src/connectors/xmpp/puppets.ts';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';
import { connectClient } from '../helpers/ws-client.ts';
import { startRoomRig } from './bridge-harness.ts';

const MUC_USER = 'http://jabber.org/protocol/muc#user';

test('acceptedNick keeps what resourceprep accepts and the bidi rule allows', () => {
  assert.equal(acceptedNick('Anna 🌸', 64), 'Anna');
  assert.equal(acceptedNick('🇫🇷 Marie', 64), 'Marie');
  assert.equal(acceptedNick('Dana דנה', 64), 'Dana');
  assert.equal(acceptedNick('דנה Dana', 64), 'דנה');
  assert.equal(acceptedNick('(דנה)', 64), 'דנה', 'a right-to-left nick begins and ends with a right-to-left letter');
  assert.equal(acceptedNick('دانا', 64), 'دانا');
  assert.equal(acceptedNick('中文名字', 64), '中文名字');
  assert.equal(acceptedNick('x\u200by\ufeffz', 64), 'xyz', 'mapped to nothing');
  assert.equal(acceptedNick('a\u00a0\u3000b', 64), 'a b');
  assert.equal(acceptedNick('ﬁ Ⅻ ㈱', 64), 'fi XII (株)', 'NFKC');
  assert.equal(acceptedNick('😀', 64), '');
  assert.equal(acceptedNick('ab cd', 3), 'ab');
  assert.equal(asciiNick('Zoë ☕ Ω'), 'Zoe');
});

test('the stringprep tables are what scripts/gen-stringprep-tables.py makes from Unicode 3.2', () => {
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import stringprep'], { stdio: 'ignore' }).status === 0);
  assert.ok(python, 'python3 is needed to check the generated tables (apt-get install python3)');
  const r = spawnSync(python, ['scripts/gen-stringprep-tables.py', '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr || r.stdout);
});

test('property: a puppet nick made of any display name is one Prosody\'s MUC accepts unchanged', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const bob = await connectUser(prosody, 'bob');
  t.after(() => bob.stop());
  const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2_147_483_647);
  const piece = fc.oneof(
    { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }) },
    { weight: 3, arbitrary: fc.constantFrom('Anna', ' ', 'Zoë', 'דנה', 'دانا', '中文', '😀', '🌸', '👩‍👩‍👧', '🇫🇷', '\uf8ff', '\ufffd', '\u202e', '\u200d', '\u00a0', 'ℌ', 'ﬁ', '(', ')', '1', 'ʕ•ᴥ•ʔ', '\u0340', 'e\u0301', '\u{e0041}') },
  );
  const names = fc.sample(fc.array(piece, { minLength: 1, maxLength: 8 }).map((a) => a.join('')).filter((s) => !/\p{Cs}/u.test(s)), { numRuns: 60, seed });
  for (const [i, name] of names.entries()) {
    const nick = puppetNick({ network: 'websocket', id: `u${i}`, name });
    assert.ok(Array.from(nick).length <= MAX_NICK_CHARS && nick.trim() === nick && nick !== '');
    const room = `n${i}@${prosody.mucDomain}`;
    const since = bob.mark();
    await bob.send(xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: 'http://jabber.org/protocol/muc' })));
    const answer = await bob.waitFor((el) => el.name === 'presence' && (el.attrs['from'] ?? '').startsWith(`${room}/`)
      && (el.attrs['type'] === 'error' || el.getChild('x', MUC_USER)?.getChildren('status').some((s) => s.attrs['code'] === '110') === true), `the room's answer to ${JSON.stringify(nick)}`, { since });
    assert.notEqual(answer.attrs['type'], 'error', `seed ${seed} (FUZZ_SEED=${seed} replays it): name ${JSON.stringify(name)} -> nick ${JSON.stringify(nick)} refused: ${answer.getChild('error')?.toString()}`);
    assert.equal(answer.attrs['from'], `${room}/${nick}`, `seed ${seed}: the room kept the nick as it is (name ${JSON.stringify(name)})`);
  }
});

test('WS users named with an emoji or in two scripts speak in the MUC under the nick Prosody accepts', async (t) => {
  const { alice, room, bridge } = await startRoomRig(t, { displayNames: { carol: 'Carol 🌸', dave: 'Dana דנה', erin: '😀' } });
  for (const [who, nick] of [['carol', 'Carol'], ['dave', 'Dana'], ['erin', 'erin']] as const) {
    const client = await connectClient(bridge.wsUrl, bridge.tokens[who]);
    t.after(() => client.close());
    await client.request({ type: 'join', room: 'lobby' });
    const since = alice.mark();
    const ack = await client.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: `hi from ${who}` } });
    assert.equal(ack.type, 'ack');
    const got = await alice.waitFor((el) => el.name === 'message' && el.getChildText('body') === `hi from ${who}`, `${who}'s message`, { since });
    assert.equal(got.attrs['from'], `${room}/${nick}`);
  }
});
