import { test } from 'node:test';
import assert from 'node:assert/strict';
import { xml } from '@xmpp/client';
import { startProsody } from '../helpers/prosody.ts';
import { connectUser } from '../helpers/xmpp-client.ts';

test('the throwaway Prosody serves registered users and a MUC with stanza-ids, and restarts on the same ports and data', async (t) => {
  const prosody = await startProsody();
  t.after(() => prosody.destroy());
  const alice = await connectUser(prosody, 'alice');
  const bob = await connectUser(prosody, 'bob');
  t.after(() => Promise.all([alice.stop(), bob.stop()]));
  const room = `lobby@${prosody.mucDomain}`;
  await alice.joinMuc(room, 'Alice');
  await bob.joinMuc(room, 'Bob');
  const since = bob.mark();
  await alice.send(xml('message', { to: room, type: 'groupchat' }, xml('body', {}, 'hello bob')));
  const got = await bob.waitFor((el) => el.name === 'message' && el.getChildText('body') === 'hello bob', 'alice\'s room message', { since });
  assert.equal(got.attrs['from'], `${room}/Alice`);
  // muc_mam is on: the room stamps a XEP-0359 stanza-id by the room itself.
  assert.equal(got.getChild('stanza-id', 'urn:xmpp:sid:0')?.attrs['by'], room);

  const firstPid = prosody.pid;
  await alice.stop();
  await bob.stop();
  await prosody.stop();
  assert.equal(prosody.running, false);
  assert.throws(() => process.kill(firstPid ?? -1, 0), 'the first prosody process is gone');
  await prosody.start();
  assert.notEqual(prosody.pid, firstPid);
  // Same port, same accounts (data dir kept).
  const again = await connectUser(prosody, 'alice', 'again');
  t.after(() => again.stop());
  assert.match(again.jid, /^alice@localhost\/again$/);
});

test('a wrong password is refused by the throwaway Prosody (the users really are registered, not open)', async (t) => {
  const prosody = await startProsody({ users: { carol: 'right' } });
  t.after(() => prosody.destroy());
  await assert.rejects(connectUser({ ...prosody, users: { carol: 'wrong' } }, 'carol'), /not-authorized/);
});
