// The generated API layers (tl/api-layers.json) and the layer-aware codec built on tl/codec.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { apiLayers, definitionSetDigest } from '../../src/connectors/mtproto/tl/api-layers.ts';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import { computeConstructorId, type TlConstructor } from '../../src/connectors/mtproto/tl/schema.ts';
import { TlDecodeError, TlEncodeError } from '../../src/connectors/mtproto/tl/errors.ts';
import { GZIP_PACKED_ID, type TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { TlWriter } from '../../src/connectors/mtproto/tl/writer.ts';
import { noStories } from '../../src/connectors/mtproto/chat/methods/no-stories.ts';
import { normalize, tlArbitraries, Unbounded } from './tl-arbitrary.ts';

const layers = apiLayers();
const lc = new LayeredCodec(layers, { maxInflatedBytes: 64 * 1024 });
const u32 = (b: Uint8Array, at = 0): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true);
const idOf = (layer: number, name: string): number => layers.schema(layer).byName.get(name)!.id;

const initConnection = (query: TlObject): TlObject => ({
  _: 'initConnection', api_id: 1, device_model: 'test', system_version: 'node', app_version: '1.0',
  system_lang_code: 'en', lang_pack: '', lang_code: 'en', query,
});

test('api-layers.json: 140..228 covered (the gaps Telegram Desktop fills too), each layer expands to exactly the definition set its source gave', () => {
  assert.ok(layers.layers.length >= 75, `${layers.layers.length} layers`);
  for (const want of [140, 143, 160, 181, 184, 191, 193, 197, 198, 199, 204, 210, 211, 213, 223, 227, 228]) assert.ok(layers.layers.includes(want), `layer ${want}`);
  assert.equal(layers.newest, 228);
  assert.ok(layers.oldest <= 140);
  for (const src of layers.sources) {
    assert.match(src.package, /^(telegram@2\.\d+\.\d+|github:(LonamiWebs\/Telethon|tdlib\/td|telegramdesktop\/tdesktop)@[0-9a-f]{40})$/);
    // gramjs releases up to 198, Telethon between them, TDLib after both, Telegram Desktop where none has one.
    if (src.layer > 198) assert.match(src.package, /^github:(tdlib\/td|telegramdesktop\/tdesktop)@/, `layer ${src.layer}`);
    const lines = layers.definitionLines(src.layer);
    assert.equal(lines.length, src.definitions, `layer ${src.layer} size`);
    assert.equal(definitionSetDigest(lines), src.definitionSetSha256, `layer ${src.layer} digest`);
    const schema = layers.schema(src.layer);
    assert.equal(schema.byId.size, src.definitions, `layer ${src.layer}: ids unique`);
    assert.equal(schema.byName.size, src.definitions, `layer ${src.layer}: names unique`);
  }
});

test('every stored definition: its #id is the CRC32 of its line', () => {
  const seen = new Set<string>();
  for (const l of layers.layers) {
    for (const line of layers.definitionLines(l)) {
      if (seen.has(line)) continue;
      seen.add(line);
      const explicit = parseInt(/#([0-9a-f]+)/.exec(line)![1]!, 16);
      assert.equal(computeConstructorId(line), explicit, line.slice(0, 80));
    }
  }
  assert.ok(seen.size > 2000);
});

test('layer choice: the newest known layer not newer than the announced one', () => {
  assert.equal(layers.pick(198), 198);
  assert.equal(layers.pick(250), 228);
  // Layers after gramjs' last release, from TDLib's history: mtcute 0.30 announces 227.
  assert.equal(layers.pick(227), 227);
  assert.equal(layers.pick(226), 225);
  // ... and where none of the others has a layer, from Telegram Desktop's history.
  assert.equal(layers.pick(210), 210);
  assert.equal(layers.pick(197), 197);
  assert.equal(layers.pick(199), 199);
  assert.equal(layers.pick(194), 193);
  assert.equal(layers.pick(141), 140);
  // Layers between the gramjs releases, from Telethon's history: what Telethon 1.25 (144) and
  // 1.26 (149) announce is served exactly, not by the layer before.
  assert.equal(layers.pick(144), 144);
  assert.equal(layers.pick(149), 149);
  assert.equal(layers.pick(191), 191);
  // The change that made Telethon 1.25 fail to read users.getFullUser: 144 has a userFull of its own.
  assert.equal(idOf(143, 'userFull'), 0x8c72ea81);
  assert.equal(idOf(144, 'userFull'), 0xc4b1fc3f);
  assert.equal(layers.pick(140), 140);
  assert.equal(layers.pick(1), layers.oldest);
  for (let l = 100; l < 260; l++) {
    const p = layers.pick(l);
    assert.ok(layers.layers.includes(p));
    assert.ok(p <= l || p === layers.oldest);
    assert.ok(!layers.layers.some((k) => k > p && k <= l), `${l} -> ${p}`);
  }
});

test('round trips in every layer: generated objects of a sample of constructors encode and decode back', () => {
  let checked = 0;
  let skipped = 0;
  for (const layer of layers.layers) {
    const schema = layers.schema(layer);
    const codec = lc.forLayer(layer);
    const arb = tlArbitraries(schema);
    const types = schema.constructors.filter((c) => !c.isFunction);
    // A spread sample (every 20th) plus constructors whose shape moves between layers.
    const sample = new Set<TlConstructor>(types.filter((_, i) => i % 20 === 0));
    // ...and ones with traps: the API's `message` (not the service message of the same name),
    // fields sharing a flag bit (stickerSet thumbs/thumb_version, user restricted/restriction_reason).
    for (const n of ['config', 'dcOption', 'nearestDc', 'user', 'userStatusOnline', 'peerUser', 'updates.state', 'message', 'stickerSet', 'channelFull']) sample.add(schema.byName.get(n)!);
    for (const c of sample) {
      let gen;
      try {
        gen = arb.ctor(c, 1);
      } catch (e) {
        if (e instanceof Unbounded) { skipped++; continue; }
        throw e;
      }
      checked++;
      fc.assert(fc.property(gen, (obj) => {
        const bytes = codec.encode(obj);
        assert.equal(u32(bytes), c.id, `${layer} ${c.name} id`);
        assert.deepEqual(normalize(codec.decode(bytes)), normalize(obj), `${layer} ${c.name}`);
        // What a client of this layer sends decodes with the any-layer request decoder too.
        assert.equal(lc.requests.decode(bytes)._, c.name);
      }), { numRuns: 8, seed: layer });
    }
  }
  assert.ok(checked >= layers.layers.length * 60 && skipped < checked / 10, `checked ${checked}, skipped ${skipped}`);
});

test('one object, two layers: config is encoded with each layer\'s id and fields', () => {
  const cfg: TlObject = {
    _: 'config', date: 100, expires: 200, test_mode: false, this_dc: 2,
    dc_options: [{ _: 'dcOption', id: 2, ip_address: '127.0.0.1', port: 4444 }],
    dc_txt_domain_name: '', saved_gifs_limit: 200, message_length_max: 4096, force_try_ipv6: true,
  };
  const at143 = lc.encode(143, cfg);
  const at158 = lc.encode(158, cfg);
  assert.equal(u32(at143), 0x330b4067);
  assert.equal(u32(at158), 0xcc1a241e);
  assert.notEqual(idOf(143, 'config'), idOf(158, 'config'));
  const back143 = lc.forLayer(143).decode(at143);
  const back158 = lc.forLayer(158).decode(at158);
  // saved_gifs_limit was dropped from config in 158: kept in 143, gone in 158.
  assert.equal(back143['saved_gifs_limit'], 200);
  assert.equal('saved_gifs_limit' in back158, false);
  assert.equal(at158.length < at143.length, true);
  for (const b of [back143, back158]) {
    assert.equal(b['message_length_max'], 4096);
    assert.deepEqual((b['dc_options'] as TlObject[])[0]!['port'], 4444);
    // Required fields the object lacks: neutral values.
    assert.equal(b['chat_size_max'], 0);
    assert.equal(b['me_url_prefix'], '');
  }
  // Same id in 140 and 143, but 143 added force_try_ipv6 (flags.14): the flags differ.
  const at140 = lc.encode(140, cfg);
  assert.equal(u32(at140), 0x330b4067);
  assert.equal(u32(at140, 4) & (1 << 14), 0);
  assert.equal(u32(at143, 4) & (1 << 14), 1 << 14);
  assert.equal('force_try_ipv6' in lc.forLayer(140).decode(at140), false);
  assert.equal(lc.forLayer(143).decode(at143)['force_try_ipv6'], true);
});

test('method results are typed by the layer: help.getAppConfig answers JSONValue up to 152, help.AppConfig from 158', () => {
  const json = { _: 'jsonObject', value: [] };
  assert.equal(u32(lc.encodeResult(152, 'help.getAppConfig', json)), idOf(152, 'jsonObject'));
  assert.throws(() => lc.encodeResult(152, 'help.getAppConfig', { _: 'help.appConfig', hash: 0, config: json }), TlEncodeError);
  const at158 = lc.encodeResult(158, 'help.getAppConfig', { _: 'help.appConfig', hash: 0, config: json });
  assert.equal(lc.forLayer(158).decode(at158)._, 'help.appConfig');
  // Vector results and Bool.
  // No stories in each layer's words: 160 (users' stories), 161–162 (a stealth mode), 164 on (any peer's).
  for (const layer of [160, 161, 162, 164, 198]) {
    const none = noStories(layers.schema(layer));
    assert.equal(u32(lc.encodeResult(layer, 'stories.getAllStories', none)), idOf(layer, 'stories.allStories'), `layer ${layer}`);
    assert.equal('peer_stories' in none, layer >= 164);
    assert.equal('stealth_mode' in none, layer >= 161);
  }
  // bots.getBotInfo: two strings before layer 158 (bot-info.ts answers so), an object from 158.
  const info154 = lc.encodeResult(154, 'bots.getBotInfo', ['about', 'description']);
  assert.equal(u32(info154), 0x1cb5c415, 'a vector');
  assert.equal(u32(lc.encodeResult(158, 'bots.getBotInfo', { _: 'bots.botInfo', name: 'n', about: 'a', description: 'd' })), idOf(158, 'bots.botInfo'));
  const users = lc.encodeResult(198, 'users.getUsers', []);
  assert.deepEqual([...users], [0x15, 0xc4, 0xb5, 0x1c, 0, 0, 0, 0]);
  assert.equal(u32(lc.encodeResult(198, 'account.updateStatus', true)), 0x997275b5);
  assert.throws(() => lc.encodeResult(198, 'no.suchMethod', true), TlEncodeError);
});

test('neutral defaults stop at object-typed fields; int and long take either number form', () => {
  // dialog.peer is a required Peer: no neutral value exists.
  assert.throws(() => lc.encode(198, { _: 'dialog', top_message: 1 }), (e: unknown) => e instanceof TlEncodeError && /dialog\.peer/.test(e.message));
  // A constructor the layer does not have at all.
  const newOnly = [...layers.schema(198).byName.values()].find((c) => !c.isFunction && !layers.schema(140).byName.has(c.name))!;
  assert.throws(() => lc.encode(140, { _: newOnly.name }), TlEncodeError);
  const peer = lc.forLayer(198).decode(lc.encode(198, { _: 'peerUser', user_id: 7 }));
  assert.deepEqual(peer, { _: 'peerUser', user_id: 7n });
  const dc = lc.forLayer(198).decode(lc.encode(198, { _: 'nearestDc', country: 'DE', this_dc: 2n, nearest_dc: 2 }));
  assert.deepEqual(dc, { _: 'nearestDc', country: 'DE', this_dc: 2, nearest_dc: 2 });
  assert.throws(() => lc.encode(198, { _: 'nearestDc', country: '', this_dc: 1n << 40n, nearest_dc: 2 }), TlEncodeError);
  // The strict codec (lc.requests) keeps a missing field an error.
  assert.throws(() => lc.requests.encode({ _: 'nearestDc', country: '' }), TlEncodeError);
  // Fields on one flag bit travel together: lenient fills the missing one, strict refuses.
  const set = { _: 'stickerSet', id: 1n, access_hash: 2n, title: 't', short_name: 's', count: 0, hash: 0, thumb_version: 3 };
  const back = lc.forLayer(198).decode(lc.encode(198, set));
  assert.deepEqual([back['thumbs'], back['thumb_dc_id'], back['thumb_version']], [[], 0, 3]);
  assert.throws(() => lc.requests.encode(set), (e: unknown) => e instanceof TlEncodeError && /shares flags\.4/.test(e.message));
});

test('requests from an old layer decode: wrappers, a method whose id changed, a method later removed', () => {
  const old = lc.forLayer(140);
  const call = old.encode({ _: 'invokeWithLayer', layer: 140, query: initConnection({ _: 'help.getAppConfig' }) });
  const decoded = lc.decodeRequest(call);
  assert.equal(decoded._, 'invokeWithLayer');
  const inner = (decoded['query'] as TlObject)['query'] as TlObject;
  assert.equal(inner._, 'help.getAppConfig');
  assert.equal(idOf(140, 'help.getAppConfig'), 0x98914110);
  assert.notEqual(idOf(198, 'help.getAppConfig'), 0x98914110);
  // A function of layer 140 that no longer exists in 198 (by name).
  const gone = [...layers.schema(140).byName.values()].find((c) => c.isFunction && !layers.schema(198).byName.has(c.name) && c.params.every((p) => p.type.kind === 'primitive' || p.flag))!;
  assert.ok(gone, 'some 140 method was removed by 198');
  const args: TlObject = { _: gone.name };
  for (const p of gone.params) if (!p.flag && p.type.kind === 'primitive') args[p.name] = p.type.name === 'long' ? 1n : p.type.name === 'string' ? 's' : p.type.name === 'bytes' ? new Uint8Array(1) : p.type.name === 'bool' ? true : 1;
  assert.equal(lc.decodeRequest(old.encode(args))._, gone.name);
});

test('an InputPeer of a user where an InputUser is asked for reads as that user (gramjs and Telethon send mentions so); any other InputPeer is refused', () => {
  const codec = lc.forLayer(198);
  const send = (user: TlObject): Uint8Array => codec.encode({
    _: 'messages.sendMessage', peer: { _: 'inputPeerChat', chat_id: 1001n }, message: 'hi bot', random_id: 7n,
    entities: [{ _: 'inputMessageEntityMentionName', offset: 3, length: 3, user_id: user }],
  });
  // The bytes a stock client sends: the InputUser's constructor id swapped for the InputPeer's (same fields).
  const swapped = (bytes: Uint8Array, from: string, to: string): Uint8Array => {
    const out = Uint8Array.from(bytes);
    const view = new DataView(out.buffer);
    const [a, b] = [idOf(198, from), idOf(198, to)];
    let hits = 0;
    for (let i = 0; i + 4 <= out.length; i += 4) if (view.getUint32(i, true) === a) { view.setUint32(i, b, true); hits++; }
    assert.equal(hits, 1, `${from} once in the request`);
    return out;
  };
  const mentioned = (bytes: Uint8Array): unknown => ((lc.decodeRequest(bytes)['entities'] as TlObject[])[0]!)['user_id'];
  assert.deepEqual(mentioned(swapped(send({ _: 'inputUser', user_id: 5001n, access_hash: 42n }), 'inputUser', 'inputPeerUser')), { _: 'inputUser', user_id: 5001n, access_hash: 42n });
  assert.deepEqual(mentioned(swapped(send({ _: 'inputUserSelf' }), 'inputUserSelf', 'inputPeerSelf')), { _: 'inputUserSelf' });
  const fromMessage = { peer: { _: 'inputPeerChat', chat_id: 1001n }, msg_id: 5, user_id: 5001n };
  assert.deepEqual(mentioned(swapped(send({ _: 'inputUserFromMessage', ...fromMessage }), 'inputUserFromMessage', 'inputPeerUserFromMessage')), { _: 'inputUserFromMessage', ...fromMessage });
  // No user in it: still the wrong type.
  assert.throws(() => lc.decodeRequest(swapped(send({ _: 'inputUserSelf' }), 'inputUserSelf', 'inputPeerEmpty')), (e: unknown) => e instanceof TlDecodeError && e.code === 'unexpected-constructor');
});

test('bad requests: only TlDecodeError, with limits on depth, vectors and gzip', () => {
  const ok = lc.forLayer(198).encode({ _: 'invokeWithLayer', layer: 198, query: initConnection({ _: 'help.getConfig' }) });
  const rejects = (bytes: Uint8Array, code?: string): void => {
    assert.throws(() => lc.decodeRequest(bytes), (e: unknown) => e instanceof TlDecodeError && (code === undefined || e.code === code), `expected ${code}`);
  };
  rejects(ok.subarray(0, ok.length >> 1), 'truncated');
  rejects(Uint8Array.of(0xde, 0xad, 0xbe, 0xef), 'unknown-constructor');
  rejects(new Uint8Array([...ok, 0, 0, 0, 0]), 'length-mismatch');
  // users.getUsers with a vector count far beyond the bytes left.
  const vec = new Uint8Array(12);
  new DataView(vec.buffer).setUint32(0, idOf(198, 'users.getUsers'), true);
  new DataView(vec.buffer).setUint32(4, 0x1cb5c415, true);
  new DataView(vec.buffer).setInt32(8, 1 << 28, true);
  rejects(vec, 'vector-length');
  // invokeWithoutUpdates nested past the depth limit.
  const wrapper = idOf(198, 'invokeWithoutUpdates');
  const deep = new Uint8Array(4 * 200 + 4);
  for (let i = 0; i < 200; i++) new DataView(deep.buffer).setUint32(i * 4, wrapper, true);
  new DataView(deep.buffer).setUint32(800, idOf(198, 'help.getConfig'), true);
  rejects(deep, 'too-deep');
  // A gzip bomb as the inner query.
  const bomb = gzipSync(new Uint8Array(1 << 20));
  const head = lc.forLayer(198).encode({ _: 'invokeWithLayer', layer: 198, query: { _: 'raw', bytes: new Uint8Array(0) } });
  const w = new TlWriter();
  w.uint32(GZIP_PACKED_ID);
  w.bytes(bomb);
  const gz = w.finish();
  rejects(new Uint8Array([...head, ...gz]), 'gzip-too-large');
  // Random mutations of a valid request: decoded or TlDecodeError, nothing else.
  fc.assert(fc.property(fc.integer({ min: 0, max: ok.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: ok.length }), (at, byte, cut) => {
    const m = ok.slice(0, cut);
    if (at < m.length) m[at] = byte;
    try {
      lc.decodeRequest(m);
    } catch (e) {
      assert.ok(e instanceof TlDecodeError, String(e));
    }
  }), { numRuns: 500 });
});
