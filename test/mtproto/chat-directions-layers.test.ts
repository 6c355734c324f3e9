// A read-only group's rights (chat/group-direction.ts) in every layer served: the chat object and
// the update that tells its members encode in each, and decode with writing taken and reading not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiLayers } from '../../src/connectors/mtproto/tl/api-layers.ts';
import { LayeredCodec } from '../../src/connectors/mtproto/tl/layered-codec.ts';
import type { TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { bannedRightsOf, CHAT_VERSION } from '../../src/connectors/mtproto/chat/group-direction.ts';
import type { ChatInfo } from '../../src/connectors/mtproto/chat/directory.ts';

const layers = apiLayers();
const lc = new LayeredCodec(layers, { maxInflatedBytes: 64 * 1024 });
const chat: ChatInfo = { id: 1001n, address: '1001', endpoint: { connector: 'mtproto', address: '1001' }, room: 'lobby', title: 'lobby' };

test('a read-only group\'s default_banned_rights encode in every layer from 140 (the flags each layer has), writing taken, reading not', () => {
  const rights = bannedRightsOf({ directionOf: () => 'receive-only' }, chat).default_banned_rights;
  assert.ok(rights !== undefined);
  assert.deepEqual(bannedRightsOf({ directionOf: () => 'send-only' }, chat), {}, 'only read-only groups carry rights');
  const served = layers.layers.filter((l) => l >= 140);
  assert.ok(served.length > 50 && served.at(-1) === layers.newest);
  for (const layer of served) {
    const codec = lc.forLayer(layer);
    const chatObject: TlObject = { _: 'chat', id: chat.id, title: chat.title, photo: { _: 'chatPhotoEmpty' }, participants_count: 2, date: 0, version: CHAT_VERSION, default_banned_rights: rights };
    const update: TlObject = { _: 'updateChatDefaultBannedRights', peer: { _: 'peerChat', chat_id: chat.id }, default_banned_rights: rights, version: CHAT_VERSION };
    for (const obj of [chatObject, update]) {
      const decoded = codec.decode(lc.encode(layer, obj)) as TlObject;
      const got = decoded['default_banned_rights'] as TlObject;
      assert.equal(got['send_messages'], true, `layer ${layer} ${obj._}`);
      assert.equal(got['send_media'], true, `layer ${layer} ${obj._}`);
      assert.notEqual(got['view_messages'], true, `layer ${layer} ${obj._}: reading stays`);
      assert.equal(got['until_date'], 0);
      // The newer kinds of writing, where the layer has them.
      if (layers.schema(layer).byName.get('chatBannedRights')!.params.some((p) => p.name === 'send_plain')) assert.equal(got['send_plain'], true, `layer ${layer}`);
    }
  }
});
