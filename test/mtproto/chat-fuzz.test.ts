// Every method of the API with arbitrary, well-typed arguments, sent by a logged-in person (and a
// bot) the way any client library would (the raw wire; layer 198, 158 and 144 as older
// libraries speak them, and 228 as current ones do): each gets its answer at once (a result, or an
// rpc_error a client can act on: 4xx, FLOOD_WAIT), never a 500 (a handler that threw what it did
// not mean to) and never silence; the session goes on and the chat still works afterwards. The
// arguments are random but aimed: a group or message id often names the real group and its real
// messages, so handlers get past their first check. fast-check's seed is printed on failure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectClient } from '../helpers/ws-client.ts';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import type { TlCodec, TlObject, TlValue } from '../../src/connectors/mtproto/tl/codec.ts';
import type { TlConstructor, TlSchema } from '../../src/connectors/mtproto/tl/schema.ts';
import { connectAndAuth, type SpecSession } from './spec-client.ts';
import { CHAT_ID, PERSON_PHONE, WS_TOKEN, chatServerKey, startChatBridge, wsEvent } from './chat-harness.ts';
import { pinned } from './harness.ts';
import { tlArbitraries, Unbounded } from './tl-arbitrary.ts';

const lc = new LayeredCodec();

/** The layer a run speaks: its schema and codec. */
interface At { readonly layer: number; readonly schema: TlSchema; readonly codec: TlCodec }
const at = (layer: number): At => ({ layer, schema: lc.layers.schema(layer), codec: lc.forLayer(layer) });

/** Calls that would end the session under test (it must go on), or wrap other calls. */
const LEFT_OUT = new Set(['auth.logOut', 'auth.resetAuthorizations', 'account.resetAuthorization', 'auth.bindTempAuthKey', 'auth.dropTempAuthKeys', 'account.deleteAccount']);
const isWrapper = (name: string) => name.startsWith('invoke') || name === 'initConnection';

/** An rpc_result for msg_id `id`, waited for at most `ms`. */
async function answerTo(s: SpecSession, l: At, id: bigint, ms = 5_000): Promise<TlValue | undefined> {
  const r = await s.until((m) => m.obj._ === 'rpc_result' && m.obj['req_msg_id'] === id, ms);
  const result = r.found?.obj['result'] as TlObject | undefined;
  // API results stay raw in the service codec: read them in the layer's.
  return result?._ === 'raw' && result['bytes'] instanceof Uint8Array ? l.codec.decodeOrRaw(result['bytes']) : result;
}

async function call(s: SpecSession, l: At, query: TlObject, wrap = false): Promise<TlValue | undefined> {
  const obj = wrap ? { _: 'invokeWithLayer', layer: l.layer, query: { _: 'initConnection', api_id: 1, device_model: 'fuzz', system_version: 'node', app_version: '1', system_lang_code: 'en', lang_pack: '', lang_code: 'en', query } } : query;
  const id = s.build(l.codec.encode(obj));
  s.conn.send(id.payload);
  return answerTo(s, l, id.msgId);
}

const errorOf = (v: TlValue | undefined): { code: number; message: string } | undefined =>
  (typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && !Array.isArray(v) && (v as TlObject)._ === 'rpc_error'
    ? { code: Number((v as TlObject)['error_code']), message: String((v as TlObject)['error_message']) } : undefined);

/** Points some ids at what exists: the group, its messages, the person and the bot. */
function aimed(l: At, v: TlValue, known: { messages: number[] }, pick: () => number): TlValue {
  if (Array.isArray(v)) return v.map((x) => aimed(l, x, known, pick));
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return v;
  // Half the peers are the group, so a handler gets past "which chat?".
  if (l.schema.byName.get(v._)?.type === 'InputPeer' && pick() % 2 === 0) return { _: 'inputPeerChat', chat_id: BigInt(CHAT_ID) };
  const o: TlObject = { _: v._ };
  for (const [k, x] of Object.entries(v)) {
    if (k === '_') continue;
    // What takes a send another way (scheduling: queued, or refused when out of range) or refuses
    // it outright (sending as another), mostly left out to get further.
    const optional = l.schema.byName.get(v._)?.params.find((p) => p.name === k)?.flag !== undefined;
    if (optional && ['schedule_date', 'send_as', 'quick_reply_shortcut', 'effect'].includes(k) && pick() % 4 !== 0) continue;
    if (k === 'chat_id' && typeof x === 'bigint' && pick() % 2 === 0) o[k] = BigInt(CHAT_ID);
    else if (['id', 'msg_id', 'max_id', 'offset_id', 'reply_to_msg_id', 'top_msg_id'].includes(k) && typeof x === 'number' && pick() % 2 === 0) o[k] = known.messages[pick() % known.messages.length]!;
    else o[k] = aimed(l, x as TlValue, known, pick);
  }
  return o;
}

type Login = (s: SpecSession, l: At, bridge: Awaited<ReturnType<typeof startChatBridge>>) => Promise<void>;

/** As a client logs in a person: the phone, then the code the admin passes on. */
const asPerson: Login = async (s, l, bridge) => {
  const sent = await call(s, l, { _: 'auth.sendCode', phone_number: PERSON_PHONE, api_id: 1, api_hash: 'fuzz', settings: { _: 'codeSettings' } }, true) as TlObject;
  assert.equal(errorOf(sent), undefined, JSON.stringify(errorOf(sent)));
  const code = await bridge.pendingCode(PERSON_PHONE);
  const signed = await call(s, l, { _: 'auth.signIn', phone_number: PERSON_PHONE, phone_code_hash: sent['phone_code_hash'] as string, phone_code: code! });
  assert.equal(errorOf(signed), undefined, JSON.stringify(errorOf(signed)));
};

/** As a bot logs in: its token. */
const asBot: Login = async (s, l, bridge) => {
  const r = await call(s, l, { _: 'auth.importBotAuthorization', flags: 0, api_id: 1, api_hash: 'fuzz', bot_auth_token: bridge.botToken }, true);
  assert.equal(errorOf(r), undefined, JSON.stringify(errorOf(r)));
};

// gramjs' layer as a person and as a bot, a person at layers older clients speak (other shapes of
// the same calls), and at the newest, which current clients speak (mtcute 0.30: 227; TDLib's copy).
for (const [who, login, layer] of [['a person', asPerson, 198], ['a bot', asBot, 198], ['a person', asPerson, 158], ['a person', asPerson, 144], ['a person', asPerson, 228]] as const) {
  test(`every API method of layer ${layer} with arbitrary arguments, called by ${who}, answers at once, never with a 500; the session and the chat go on`, { timeout: 300_000 }, async () => {
    // Limits as high as they go: the calls come back to back, and limits are tested elsewhere.
    const bridge = await startChatBridge({ mtprotoExtra: '  framesPerSecond: 1000000\n  frameBurst: 1000000\n  flood: { send: { perSecond: 10000, burst: 10000 }, read: { perSecond: 10000, burst: 10000 }, upload: { perSecond: 10000, burst: 10000 }, typing: { perSecond: 10000, burst: 10000 } }' });
    const ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    let s: SpecSession | undefined;
    try {
      await ws.request({ type: 'join', room: 'lobby' });
      s = await connectAndAuth(bridge.mtprotoPort(), pinned(chatServerKey()), 'intermediate');
      const l = at(layer);
      await login(s, l, bridge);
      await fuzz(s, l);
      // The session goes on, and the chat too.
      const last = await call(s, at(layer), { _: 'messages.sendMessage', peer: { _: 'inputPeerChat', chat_id: BigInt(CHAT_ID) }, message: `still here, ${who}`, random_id: 999_999n });
      assert.equal(errorOf(last), undefined, JSON.stringify(errorOf(last)));
      await wsEvent(ws, 'message', (e) => e['text'] === `still here, ${who}`);
    } finally {
      s?.conn.close();
      await ws.close();
      await bridge.close();
    }
  });
}

/** Calls every function of the layer with arbitrary arguments; fails listing each 5xx or unanswered call. */
async function fuzz(s: SpecSession, l: At): Promise<void> {
  const messages: number[] = [];
  const functions = l.schema.constructors.filter((c: TlConstructor) => c.isFunction && !LEFT_OUT.has(c.name) && !isWrapper(c.name));
  const arbs = tlArbitraries(l.schema);
  const failures: string[] = [];
  let calls = 0;
  const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2_147_483_647);
  let n = seed;
  // A small generator of its own, seeded like fast-check (its low bits repeat: the high ones are used).
  const pick = () => { n = Number((BigInt(n) * 1_103_515_245n + 12_345n) % 2_147_483_648n); return n >>> 16; };
  for (const fn of functions) {
    // A fresh message to aim at (earlier calls delete, clear and retract what they find).
    if (fn.name.startsWith('messages.') || messages.length === 0) {
      const r = await call(s, l, { _: 'messages.sendMessage', peer: { _: 'inputPeerChat', chat_id: BigInt(CHAT_ID) }, message: `before ${fn.name}`, random_id: BigInt(1_000 + calls) }) as TlObject;
      if (typeof r['id'] === 'number') messages.push(r['id']);
      messages.splice(0, Math.max(0, messages.length - 4));
    }
    let samples: TlObject[];
    try {
      samples = fc.sample(arbs.ctor(fn, 2), { numRuns: fn.name.startsWith('messages.') || fn.name.startsWith('contacts.') || fn.name.startsWith('account.') ? 4 : 2, seed: seed + calls });
    } catch (err) {
      if (err instanceof Unbounded) continue;
      throw err;
    }
    for (const sample of samples) {
      const query = aimed(l, sample, { messages }, pick) as TlObject;
      calls++;
      const answer = await call(s, l, query);
      const e = errorOf(answer);
      if (process.env['FUZZ_LOG']) console.log('FUZZ', l.layer, fn.name, answer === undefined ? 'NO ANSWER' : e ? `${e.code} ${e.message}` : 'ok');
      if (answer === undefined) failures.push(`${fn.name}: no answer`);
      else if (e !== undefined && e.code >= 500) failures.push(`${fn.name}: ${e.code} ${e.message} for ${JSON.stringify(query, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 300)}`);
    }
  }
  assert.ok(calls > 500, `${calls} calls`);
  assert.deepEqual(failures, [], `seed ${seed} (FUZZ_SEED=${seed} replays it), layer ${l.layer}`);
}
