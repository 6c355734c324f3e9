// Private chats on their own (chat/direct-chats.ts): which `dm:` rooms are an account's, who the
// peer is for each side, the per-account set the writer opens before a chat's first entry (kept
// in the state, bounded), and what other instances learn. The end-to-end behaviour with stock
// clients is in chat-direct.test.ts and chat-instances.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import type { RoutingView } from '../../src/core/endpoint.ts';
import { directRoom } from '../../src/core/direct.ts';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { silentLogger, type Logger } from '../../src/core/logger.ts';
import { DirectChats } from '../../src/connectors/mtproto/chat/direct-chats.ts';
import { Directory } from '../../src/connectors/mtproto/chat/directory.ts';
import { People, puppetIdOf } from '../../src/connectors/mtproto/chat/people.ts';
import type { Identity } from '../../src/config/mappings-schema.ts';
import type { StateStore } from '../../src/bus/types.ts';

const NO_ROUTES: RoutingView = { roomOf: () => undefined, endpointsOf: () => [], rooms: [], route: () => [], directionOf: () => 'both' };
const BOT = 5001n;
const BOB = 6001n;

function setup(opts: { max?: number; state?: StateStore; identities?: Identity[]; logger?: Logger } = {}) {
  const state = opts.state ?? new LocalState().store('mtproto');
  const directory = new Directory([
    { id: Number(BOT), bot: true, firstName: 'Bot', tokenHash: `sha256:${'0'.repeat(64)}`, rooms: ['*'] },
    { id: Number(BOB), bot: false, firstName: 'Bob', phone: '+15550100', rooms: ['*'] },
  ], [], NO_ROUTES);
  const people = new People(directory, opts.identities ?? [], state, silentLogger);
  return { state, directory, people, directs: new DirectChats(state, directory, people, opts.logger ?? silentLogger, opts.max) };
}

const key = (a: { network: string; id: string }, b: { network: string; id: string }) => directRoom(a, b)!;
const withCarol = (account: bigint) => key({ network: 'mtproto', id: String(account) }, { network: 'websocket', id: 'carol' });
const botAndBob = key({ network: 'mtproto', id: String(BOT) }, { network: 'mtproto', id: String(BOB) });

test('a dm room is a private chat of the accounts among its parties; each side sees the other as its peer', async () => {
  const { directs, directory, people } = setup();
  const carolChat = directs.chatOf(withCarol(BOB))!;
  assert.deepEqual(directs.accountsOf(carolChat).map((a) => a.id), [BOB]);
  assert.equal(directs.peerOf(carolChat, BOB), puppetIdOf('websocket:carol'));
  const pair = directs.chatOf(botAndBob)!;
  assert.deepEqual(directs.accountsOf(pair).map((a) => a.id).sort(), [BOT, BOB]);
  assert.equal(directs.peerOf(pair, BOT), BOB);
  assert.equal(directs.peerOf(pair, BOB), BOT);
  // An id that is no account here counts for nobody; a key not in canonical form is no chat at all.
  assert.deepEqual(directs.accountsOf(directs.chatOf(key({ network: 'mtproto', id: '42' }, { network: 'websocket', id: 'carol' }))!), []);
  assert.equal(directs.chatOf('dm:websocket:carol|mtproto:6001'), undefined, 'parties out of order');
  assert.equal(directs.chatOf('dm:mtproto:6001'), undefined);
  assert.equal(directs.chatOf('lobby'), undefined);

  // From the account's side: the chat with another account, or with a person it was shown.
  assert.equal((await directs.with(directory.account(BOB)!, BOT))?.address, botAndBob);
  assert.equal(await directs.with(directory.account(BOB)!, puppetIdOf('websocket:carol')), undefined, 'carol was never shown to anyone');
  const carol = await people.senderIdOf({ network: 'websocket', id: 'carol', name: 'Carol' });
  assert.equal((await directs.with(directory.account(BOB)!, carol))?.address, withCarol(BOB));
  // With oneself: a person's Saved Messages, one account that is its own peer; a bot has none.
  const saved = (await directs.with(directory.account(BOB)!, BOB))!;
  assert.equal(saved.address, key({ network: 'mtproto', id: String(BOB) }, { network: 'mtproto', id: String(BOB) }));
  assert.deepEqual([directs.isSaved(saved), directs.accountsOf(saved).map((a) => a.id), directs.peerOf(saved, BOB)], [true, [BOB], BOB]);
  assert.deepEqual([directs.isSaved(carolChat), directs.isSaved(pair)], [false, false]);
  assert.equal(await directs.with(directory.account(BOT)!, BOT), undefined, 'a bot has no Saved Messages');
});

test('a person linked to an account (identities.yaml) is that account as a peer', () => {
  const identities: Identity[] = [{ canonical: 'carol', websocket: 'carol', mtproto: String(BOT) }];
  const { directs } = setup({ identities });
  assert.equal(directs.peerOf(directs.chatOf(withCarol(BOB))!, BOB), BOT);
});

test('the set of an account\'s private chats: opened before a first entry, bounded, kept in the state, learned by other instances', async () => {
  const state = new LocalState().store('mtproto');
  const { directs } = setup({ state, max: 2 });
  const chats = ['carol', 'dave', 'erin'].map((name) => directs.chatOf(key({ network: 'mtproto', id: String(BOB) }, { network: 'websocket', id: name }))!);
  assert.equal(await directs.open(chats[0]!), true);
  assert.equal(await directs.open(chats[0]!), true, 'opening again changes nothing');
  assert.equal(await directs.open(chats[1]!), true);
  assert.equal(await directs.refuses(chats[2]!), true);
  assert.equal(await directs.open(chats[2]!), false, 'one too many');
  assert.equal(await directs.refuses(chats[1]!), false, 'a chat it has already is never refused');
  assert.deepEqual(await directs.keysOf(BOB), [chats[0]!.address, chats[1]!.address]);
  assert.deepEqual(await directs.keysOf(BOT), []);
  // Two accounts: both get it (here the bot's set has room, bob's does not: refused for both).
  assert.equal(await directs.open(directs.chatOf(botAndBob)!), false);
  assert.deepEqual(await directs.keysOf(BOT), []);

  // Another process reads the same sets from the state.
  const other = setup({ state, max: 2 }).directs;
  assert.deepEqual(await other.keysOf(BOB), [chats[0]!.address, chats[1]!.address]);
  // What it learns from the writer's fan-out is in memory only; forgetting reads the state again.
  const third = setup({ state: new LocalState().store('mtproto') }).directs;
  await third.learn(chats[2]!);
  assert.deepEqual(await third.keysOf(BOB), [chats[2]!.address]);
  third.forget();
  assert.deepEqual(await third.keysOf(BOB), []);
});

test('a malformed stored set is taken as empty and said loudly', async () => {
  const state = new LocalState().store('mtproto');
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, new Writable({ write(chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done(); } }));
  await state.set(`dms:${BOB}`, JSON.stringify(['dm:not-a-room']));
  assert.deepEqual(await setup({ state, logger }).directs.keysOf(BOB), []);
  await state.set(`dms:${BOB}`, '{oops');
  assert.deepEqual(await setup({ state, logger }).directs.keysOf(BOB), []);
  assert.equal(lines.filter((l) => l.includes('malformed')).length, 2, lines.join('\n'));
});

test('a person of another network named past 64 units is shown with the name cut before a character that would not fit whole', async () => {
  const { people } = setup();
  const id = await people.senderIdOf({ network: 'websocket', id: 'long', name: `${'a'.repeat(63)}😀 and more` });
  assert.equal((await people.puppet(id))?.name, 'a'.repeat(63));
});
