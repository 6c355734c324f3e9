// People of other networks show their avatar as their profile photo: fetched through the media
// store from the URL their network gives, offered as userProfilePhoto, and downloaded by a stock
// gramjs client with its own downloadProfilePhoto (upload.getFile on inputPeerPhotoFileLocation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { newEventId } from '../../src/core/ids.ts';
import { parseAvatar } from '../../src/connectors/mtproto/chat/account-avatars.ts';
import { chatState, STATE_NAMESPACE } from '../../src/connectors/mtproto/chat/state-namespace.ts';
import { connectClient, type TestClient } from '../helpers/ws-client.ts';
import { Api, CHAT_ID, CustomFile, PERSON_ID, WS_TOKEN, bigInt, chatClient, loginBot, rpcError, shutdown, startChatBridge, until, updateRecorder, withPersonAndBot, wsEvent, type GramMessage, type GramUpdate } from './chat-harness.ts';

// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

interface GramUserObject { className: string; id: { toString(): string }; accessHash: unknown; firstName?: string; photo?: { className: string; photoId?: { toString(): string }; dcId?: number } }

/** The InputUser a stock client names a user it was shown with (the access hash from its entity cache). */
async function inputUser(client: ReturnType<typeof chatClient>, userId: string): Promise<unknown> {
  const peer = await (client as unknown as { getInputEntity(id: unknown): Promise<{ userId: unknown; accessHash: unknown }> }).getInputEntity(bigInt(userId));
  return new Api.InputUser({ userId: peer.userId, accessHash: peer.accessHash });
}

/** The user as the client asks for it, again until it has a photo (the fetch writes to disk: a busy machine gets up to 15 s). */
async function userOnceWithPhoto(client: ReturnType<typeof chatClient>, userId: string): Promise<GramUserObject | undefined> {
  let user: GramUserObject | undefined;
  const input = await inputUser(client, userId);
  for (let i = 0; i < 300 && !user?.photo; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 50));
    [user] = await client.invoke(new Api.users.GetUsers({ id: [input] })) as GramUserObject[];
  }
  return user;
}

async function origin(files: Record<string, { type: string; body: Buffer }>): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const file = files[req.url ?? ''];
    if (file === undefined) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': file.type, 'content-length': file.body.length }).end(file.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests };
}

test('a person of another network shows their avatar as a profile photo the client downloads; no photo when it cannot be fetched; a wrong location is refused', { timeout: 120_000 }, async () => {
  const GIF = readFileSync(new URL('../fixtures/media/anim.gif', import.meta.url));
  const host = await origin({ '/gia.gif': { type: 'image/gif', body: GIF }, '/face.png': { type: 'image/png', body: PNG }, '/alice.png': { type: 'image/png', body: PNG }, '/bob.png': { type: 'image/png', body: PNG }, '/notes.txt': { type: 'text/plain', body: Buffer.from('not an image') } });
  // The WS user's avatar comes from mappings/identities.yaml.
  const bridge = await startChatBridge({
    extra: 'media: { fetch: { allow: ["127.0.0.1/32"] } }',
    files: { 'mappings/identities.yaml': `identities:\n  - canonical: alice\n    displayName: Alice\n    avatar: ${host.url}/alice.png\n    websocket: alice\n  - canonical: bob\n    avatar: ${host.url}/bob.png\n    mtproto: ${PERSON_ID}\n` },
  });
  const client = chatClient(bridge.mtprotoPort());
  let ws: TestClient | undefined;
  try {
    await loginBot(bridge, client);
    await client.getDialogs();
    const rec = updateRecorder(client);
    const people = [
      { network: 'xmpp', id: 'dana@example.org', name: 'Dana', avatar: `${host.url}/face.png` },
      { network: 'xmpp', id: 'eli@example.org', name: 'Eli', avatar: `${host.url}/missing.png` },
      { network: 'xmpp', id: 'fay@example.org', name: 'Fay', avatar: `${host.url}/notes.txt` },
      // A GIF avatar (an animation in messages) is a profile photo all the same.
      { network: 'xmpp', id: 'gia@example.org', name: 'Gia', avatar: `${host.url}/gia.gif` },
    ];
    const ids: string[] = [];
    for (const sender of people) {
      await bridge.app.bus.publish([{ v: 1, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'message', text: `hi from ${sender.name}`, sender, origin: { connector: 'websocket', endpoint: 'lobby', session: 's_test' } }]);
      const u = await rec.next((x: GramUpdate) => x.className === 'UpdateNewMessage' && (x['message'] as GramMessage).message === `hi from ${sender.name}`);
      ids.push((u['message'] as GramMessage).fromId?.userId?.toString() ?? '');
    }

    // The users as the client asks for them again: Dana's photo once fetched (rendering never waits
    // for it; the fetch writes to disk, so a busy machine gets up to 15 s).
    const inputs = await Promise.all(ids.map((id) => inputUser(client, id)));
    const usersNow = async () => await client.invoke(new Api.users.GetUsers({ id: inputs })) as GramUserObject[];
    let users = await usersNow();
    for (let i = 0; i < 300 && (!users[0]?.photo || !users[3]?.photo); i++) {
      await new Promise((r) => setTimeout(r, 50));
      users = await usersNow();
    }
    const [dana, eli, fay, gia] = users;
    assert.equal(gia?.photo?.className, 'UserProfilePhoto', 'a GIF avatar');
    assert.deepEqual(await client.downloadProfilePhoto(gia!), GIF);
    assert.equal(dana?.firstName, 'Dana (xmpp)'); // the mapper's display name
    assert.equal(dana?.photo?.className, 'UserProfilePhoto');
    assert.equal(dana?.photo?.dcId, 2);
    assert.ok(!eli?.photo, 'an avatar that cannot be fetched: no photo');
    assert.ok(!fay?.photo, 'an avatar that is not an image: no photo');

    // gramjs' own download of it: the same bytes.
    const bytes = await client.downloadProfilePhoto(dana);
    assert.ok(Buffer.isBuffer(bytes));
    assert.deepEqual(bytes, PNG);

    // Someone else's photo id, or a user access hash we did not give out: refused, the session goes on.
    const getPhoto = (peer: unknown, photoId: unknown) => client.invoke(new Api.upload.GetFile({ location: new Api.InputPeerPhotoFileLocation({ peer, photoId }), offset: bigInt(0), limit: 1024 * 1024 }));
    const danaPeer = new Api.InputPeerUser({ userId: dana!.id, accessHash: dana!.accessHash });
    await assert.rejects(getPhoto(danaPeer, bigInt('12345')), /LOCATION_INVALID/);
    await assert.rejects(getPhoto(new Api.InputPeerUser({ userId: dana!.id, accessHash: bigInt(42) }), dana!.photo!.photoId), /LOCATION_INVALID/);
    await assert.rejects(getPhoto(new Api.InputPeerUser({ userId: eli!.id, accessHash: eli!.accessHash }), dana!.photo!.photoId), /LOCATION_INVALID/);
    const file = await getPhoto(danaPeer, dana!.photo!.photoId) as { className: string; bytes: Buffer };
    assert.equal(file.className, 'upload.File');
    assert.deepEqual(Buffer.from(file.bytes), PNG);
    // The full user and the photo list show the same photo; it downloads by its own id too.
    const full = await client.invoke(new Api.users.GetFullUser({ id: new Api.InputUser({ userId: dana!.id, accessHash: dana!.accessHash }) })) as { fullUser: { profilePhoto?: { className: string; id: { toString(): string } } } };
    assert.equal(full.fullUser.profilePhoto?.className, 'Photo');
    assert.equal(full.fullUser.profilePhoto?.id.toString(), dana!.photo!.photoId!.toString());
    const list = await client.invoke(new Api.photos.GetUserPhotos({ userId: new Api.InputUser({ userId: dana!.id, accessHash: dana!.accessHash }), offset: 0, maxId: bigInt(0), limit: 10 })) as { photos: Array<{ id: unknown; accessHash: unknown; fileReference: Buffer }> };
    assert.equal(list.photos.length, 1);
    const byId = await client.invoke(new Api.upload.GetFile({ location: new Api.InputPhotoFileLocation({ id: list.photos[0]!.id, accessHash: list.photos[0]!.accessHash, fileReference: list.photos[0]!.fileReference, thumbSize: 'y' }), offset: bigInt(0), limit: 1024 * 1024 })) as { bytes: Buffer };
    assert.deepEqual(Buffer.from(byId.bytes), PNG);
    const none = await client.invoke(new Api.photos.GetUserPhotos({ userId: new Api.InputUser({ userId: eli!.id, accessHash: eli!.accessHash }), offset: 0, maxId: bigInt(0), limit: 10 })) as { photos: unknown[] };
    assert.deepEqual(none.photos, []);

    // A WS user whose avatar identities.yaml gives has it as a profile photo too.
    ws = await connectClient(bridge.wsUrl(), WS_TOKEN);
    await ws.request({ type: 'join', room: 'lobby' });
    await ws.request({ type: 'send', room: 'lobby', event: { kind: 'message', text: 'hi from alice' } });
    const fromAlice = await rec.next((x: GramUpdate) => x.className === 'UpdateNewMessage' && (x['message'] as GramMessage).message === 'hi from alice');
    const aliceId = (fromAlice['message'] as GramMessage).fromId?.userId?.toString() ?? '';
    const alice = await userOnceWithPhoto(client, aliceId);
    assert.equal(alice?.firstName, 'Alice (websocket)');
    assert.equal(alice?.photo?.className, 'UserProfilePhoto');
    assert.deepEqual(await client.downloadProfilePhoto(alice), PNG);

    // An MTProto account whose person identities.yaml gives an avatar shows it to other accounts; the bot (no avatar) shows none.
    let bob: GramUserObject | undefined;
    let bot: GramUserObject | undefined;
    // The bot is shown bob among the group's participants.
    await client.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) }));
    const bobInput = await inputUser(client, String(PERSON_ID));
    for (let i = 0; i < 300 && !bob?.photo; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      [bob, bot] = await client.invoke(new Api.users.GetUsers({ id: [bobInput, new Api.InputUserSelf()] })) as GramUserObject[];
    }
    assert.equal(bob?.photo?.className, 'UserProfilePhoto');
    assert.ok(!bot?.photo);
    assert.deepEqual(await client.downloadProfilePhoto(bob), PNG);

    // Rendered many times (the pushed update, every getUsers), fetched once; the failed ones not again yet.
    assert.deepEqual(host.requests.filter((r) => r === '/face.png'), ['/face.png']);
    assert.deepEqual(host.requests.filter((r) => r === '/missing.png'), ['/missing.png']);
    assert.deepEqual(host.requests.filter((r) => r === '/alice.png'), ['/alice.png']);
    assert.deepEqual(host.requests.filter((r) => r === '/bob.png'), ['/bob.png']);
  } finally {
    await ws?.close();
    await shutdown(client);
    await bridge.close();
    host.server.close();
  }
});

test('an avatar the bridge stored itself (an XMPP user\'s vCard photo: one of its own signed links) shows as a profile photo, read from the store, although the fetch policy refuses loopback', { timeout: 120_000 }, async () => {
  // The media store's default fetch policy: loopback is refused, so a fetch over HTTP of the
  // bridge's own link could not work; only reading it from the store can.
  const bridge = await startChatBridge();
  const client = chatClient(bridge.mtprotoPort());
  try {
    const upload = await fetch(`${bridge.wsUrl().replace(/^ws/, 'http').replace(/\/ws$/, '')}/media?name=avatar.png`, {
      method: 'POST', headers: { authorization: `Bearer ${WS_TOKEN}`, 'content-type': 'image/png' }, body: PNG,
    });
    assert.equal(upload.status, 201, await upload.clone().text());
    const stored = await upload.json() as { url: string };
    assert.match(stored.url, /^http:\/\/127\.0\.0\.1:\d+\/media\/[0-9a-f]{64}\/avatar\.png\?exp=\d+&sig=/);
    await loginBot(bridge, client);
    await client.getDialogs();
    const rec = updateRecorder(client);
    const sender = { network: 'xmpp', id: 'gus@example.org', name: 'Gus', avatar: stored.url };
    await bridge.app.bus.publish([{ v: 1, id: newEventId(), ts: Date.now(), room: 'lobby', kind: 'message', text: 'hi from Gus', sender, origin: { connector: 'websocket', endpoint: 'lobby', session: 's_test' } }]);
    const u = await rec.next((x: GramUpdate) => x.className === 'UpdateNewMessage' && (x['message'] as GramMessage).message === 'hi from Gus');
    const gusId = (u['message'] as GramMessage).fromId?.userId?.toString() ?? '';
    const gus = await userOnceWithPhoto(client, gusId);
    assert.equal(gus?.photo?.className, 'UserProfilePhoto');
    assert.deepEqual(await client.downloadProfilePhoto(gus), PNG);
  } finally {
    await shutdown(client);
    await bridge.close();
  }
});

test('an account sets its profile photo from its client (photos.uploadProfilePhoto): other accounts see it and download it, other networks get it as its avatar; it can be set to one sent before, and removed', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person, bot, ws) => {
    const Photos = (Api as unknown as { photos: Record<string, new (a: Record<string, unknown>) => object> }).photos;
    const upload = async (name: string, bytes: Buffer) => (person as unknown as { uploadFile(p: Record<string, unknown>): Promise<unknown> }).uploadFile({ file: new CustomFile(name, bytes.length, '', bytes), workers: 1 });
    const botUpdates = updateRecorder(bot);
    const set = await person.invoke(new Photos['UploadProfilePhoto']!({ file: await upload('me.png', PNG) })) as { photo: { className: string; id: { toString(): string } }; users: GramUserObject[] };
    assert.equal(set.photo.className, 'Photo');
    assert.equal(set.users[0]?.photo?.className, 'UserProfilePhoto', 'the answer shows it');
    // The bot, in a group with bob, is told (updateUser in its layer, with bob's user object).
    await botUpdates.next((u) => u.className === 'UpdateUser' && String(u['userId']) === String(PERSON_ID));

    // The bot sees bob's photo and downloads it.
    await bot.invoke(new Api.messages.GetFullChat({ chatId: bigInt(CHAT_ID) }));
    const [bob] = await bot.invoke(new Api.users.GetUsers({ id: [await inputUser(bot as unknown as ReturnType<typeof chatClient>, String(PERSON_ID))] })) as GramUserObject[];
    assert.equal(bob?.photo?.photoId?.toString(), set.photo.id.toString());
    assert.deepEqual(await bot.downloadProfilePhoto(bob), PNG);

    // WS: what bob sends carries his avatar, a link of the media store with the same bytes.
    await person.sendMessage(-CHAT_ID, { message: 'with my face' });
    const withFace = await wsEvent(ws, 'message', (e) => e['text'] === 'with my face');
    const avatar = (withFace['sender'] as { avatar?: string }).avatar;
    assert.ok(avatar?.startsWith(`${bridge.app.httpUrl}/media/`), `a link of our store: ${avatar}`);
    assert.deepEqual(Buffer.from(await (await fetch(avatar!)).arrayBuffer()), PNG);

    // Not an image: refused, the photo stays.
    assert.equal(await rpcError(person.invoke(new Photos['UploadProfilePhoto']!({ file: await upload('notes.txt', Buffer.from('not an image')) }))), 'IMAGE_PROCESS_FAILED');
    assert.equal(await rpcError(person.invoke(new Photos['UpdateProfilePhoto']!({ id: new (Api as unknown as Record<string, new (a: Record<string, unknown>) => object>)['InputPhoto']!({ id: bigInt(123), accessHash: bigInt(456), fileReference: Buffer.alloc(0) }) }))), 'PHOTO_ID_INVALID');

    // Removed (deletePhotos with the current one): nobody sees a photo, and the next message has no avatar.
    const InputPhoto = (Api as unknown as Record<string, new (a: Record<string, unknown>) => object>)['InputPhoto']!;
    const photo = set.photo as unknown as { id: unknown; accessHash: unknown; fileReference: Buffer };
    const deleted = await person.invoke(new Photos['DeletePhotos']!({ id: [new InputPhoto({ id: photo.id, accessHash: photo.accessHash, fileReference: photo.fileReference })] })) as Array<{ toString(): string }>;
    assert.deepEqual(deleted.map(String), [set.photo.id.toString()]);
    await until('the bot told of the removal too', () => botUpdates.all.filter((u) => u.className === 'UpdateUser').length === 2);
    const [bobAfter] = await bot.invoke(new Api.users.GetUsers({ id: [await inputUser(bot as unknown as ReturnType<typeof chatClient>, String(PERSON_ID))] })) as GramUserObject[];
    assert.ok(!bobAfter?.photo || bobAfter.photo.className === 'UserProfilePhotoEmpty', 'no photo any more');
    await person.sendMessage(-CHAT_ID, { message: 'faceless' });
    assert.equal(((await wsEvent(ws, 'message', (e) => e['text'] === 'faceless'))['sender'] as { avatar?: string }).avatar, undefined);

    // The same photo set again by its id (photos.updateProfilePhoto): it is back.
    const again = await person.invoke(new Photos['UpdateProfilePhoto']!({ id: new InputPhoto({ id: photo.id, accessHash: photo.accessHash, fileReference: photo.fileReference }) })) as { photo: { id: { toString(): string } } };
    assert.equal(again.photo.id.toString(), set.photo.id.toString());
    const [bobAgain] = await bot.invoke(new Api.users.GetUsers({ id: [await inputUser(bot as unknown as ReturnType<typeof chatClient>, String(PERSON_ID))] })) as GramUserObject[];
    assert.equal(bobAgain?.photo?.photoId?.toString(), set.photo.id.toString());

    // A GIF (an animation in messages) is still a profile photo, and stays one across a restart of the
    // stored value (account-avatars reads it back).
    const gif = readFileSync(new URL('../fixtures/media/anim.gif', import.meta.url));
    const gifSet = await person.invoke(new Photos['UploadProfilePhoto']!({ file: await upload('me.gif', gif) })) as { photo: { className: string; id: { toString(): string } } };
    assert.equal(gifSet.photo.className, 'Photo');
    const [bobGif] = await bot.invoke(new Api.users.GetUsers({ id: [await inputUser(bot as unknown as ReturnType<typeof chatClient>, String(PERSON_ID))] })) as GramUserObject[];
    assert.equal(bobGif?.photo?.photoId?.toString(), gifSet.photo.id.toString());
    assert.deepEqual(await bot.downloadProfilePhoto(bobGif), gif);
    const stored = await chatState(bridge.app.bus.state(STATE_NAMESPACE)).get(`avatar:${PERSON_ID}`);
    assert.ok(stored !== undefined && parseAvatar(stored)?.file === gifSet.photo.id.toString(), 'the stored avatar reads back');
  });
});
