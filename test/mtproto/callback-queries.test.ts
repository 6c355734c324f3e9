// Presses of bots' callback buttons and their answers (chat/callback-queries.ts): the state holds
// both, so an answer given on another instance reaches the waiting press even when no note
// carries it; each query is answered once, by its own bot; an unanswered press times out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { CallbackQueries, type CallbackQuery } from '../../src/connectors/mtproto/chat/callback-queries.ts';

const press = { bot: '5001', user: '777', chat: '1001', msg: 7, data: 'eWVz' };

test('a press answered by its bot: the answer comes back; a second answer, another bot and an unknown id are refused', async () => {
  const state = new LocalState().store('mtproto');
  const queries = new CallbackQueries(state, undefined, silentLogger, 2_000);
  const delivered: CallbackQuery[] = [];
  queries.deliverWith(async (q) => { delivered.push(q); return true; });
  const asked = queries.ask(press);
  await new Promise((r) => setTimeout(r, 10));
  const id = delivered[0]!.id;
  assert.deepEqual({ ...delivered[0], id: undefined }, { ...press, id: undefined });
  assert.equal(await queries.answer(5002n, id, { cacheTime: 0 }), 'unknown', 'another bot');
  assert.equal(await queries.answer(5001n, id, { message: 'ok', alert: true, cacheTime: 5 }), 'ok');
  assert.deepEqual((await asked).answer, { message: 'ok', alert: true, cacheTime: 5 });
  assert.equal(await queries.answer(5001n, id, { cacheTime: 0 }), 'unknown', 'answered once');
  assert.equal(await queries.answer(5001n, '12345', { cacheTime: 0 }), 'unknown');
  assert.equal(await queries.answer(5001n, 'not a number', { cacheTime: 0 }), 'unknown');
});

test('no bot session to deliver to (one instance): no answer at once; delivered but unanswered: no answer after the timeout', async () => {
  const state = new LocalState().store('mtproto');
  const nobody = new CallbackQueries(state, undefined, silentLogger, 5_000);
  const started = Date.now();
  assert.equal((await nobody.ask(press)).answer, undefined);
  assert.ok(Date.now() - started < 1_000, 'at once');
  const slow = new CallbackQueries(state, undefined, silentLogger, 300);
  slow.deliverWith(async () => true);
  const t = Date.now();
  assert.equal((await slow.ask(press)).answer, undefined);
  assert.ok(Date.now() - t >= 290, 'after the timeout');
});

test('an answer given by another instance (the same state, no note) reaches the waiting press from the state', async () => {
  const state = new LocalState().store('mtproto');
  const asker = new CallbackQueries(state, undefined, silentLogger, 3_000);
  let id = '';
  asker.deliverWith(async (q) => { id = q.id; return true; });
  const asked = asker.ask(press);
  await new Promise((r) => setTimeout(r, 10));
  const other = new CallbackQueries(state, undefined, silentLogger, 3_000);
  assert.equal(await other.answer(5001n, id, { message: 'from B', cacheTime: 0 }), 'ok');
  assert.equal((await asked).answer?.message, 'from B');
});
