// The media store's garbage collector and the MTProto chat layer: files the chat layer still shows
// (an account's profile photo, the files of messages its chats' logs keep) are kept, also when no
// retained stream refers to them (an account that never spoke since; the memory bus after a
// restart, whose streams are gone while the chat logs in the state file are not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Api, CHAT_ID, CustomFile, WS_TOKEN, withPersonAndBot, type GramMessage } from './chat-harness.ts';
import { MtprotoConnector } from '../../src/connectors/mtproto/connector.ts';
import type { LoadedConfig } from '../../src/config/load.ts';

// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

async function storedIds(app: { media: { store: { list(): AsyncIterable<{ id: string }> } } | undefined }): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of app.media!.store.list()) ids.push(item.id);
  return ids.sort();
}

test('the collector keeps what MTProto clients still see (a profile photo, a document in a chat\'s history) after a restart of the memory bus, and removes what nothing refers to', { timeout: 120_000 }, async () => {
  await withPersonAndBot(async (bridge, person) => {
    const Photos = (Api as unknown as { photos: Record<string, new (a: Record<string, unknown>) => object> }).photos;
    const upload = async (name: string, bytes: Buffer) => (person as unknown as { uploadFile(p: Record<string, unknown>): Promise<unknown> }).uploadFile({ file: new CustomFile(name, bytes.length, '', bytes), workers: 1 });
    // The profile photo: set, never used in a message.
    await person.invoke(new Photos['UploadProfilePhoto']!({ file: await upload('me.png', PNG) }));
    // A document in the group's history.
    await person.sendFile(-CHAT_ID, { file: new CustomFile('notes.txt', 11, '', Buffer.from('hello notes')), forceDocument: true, workers: 1 } as never) as unknown as GramMessage;
    // A file uploaded over HTTP and never sent: nothing refers to it.
    const orphan = await fetch(`${bridge.app.httpUrl}/media?name=orphan.txt`, { method: 'POST', body: 'nobody sent me', headers: { authorization: `Bearer ${WS_TOKEN}`, 'content-type': 'text/plain' } });
    assert.equal(orphan.status, 201);
    const before = await storedIds(bridge.app);
    assert.equal(before.length, 3);

    // On the memory bus a restart empties the streams; the chat logs, in the state file, stay.
    await bridge.restart();
    const report = await bridge.app.media!.gc!.runNow({ graceMs: 0 });
    assert.ok(report, 'the collector ran');
    assert.deepEqual([report.removed, report.kept.referenced], [1, 2], 'the orphan went, the photo and the document stayed');
    assert.equal((await storedIds(bridge.app)).length, 2);
  }, { keepPort: true });
});

test('an MTProto connector that is not running cannot say what it shows: listing throws, so a collection deletes nothing', () => {
  const connector = new MtprotoConnector({} as LoadedConfig);
  assert.throws(() => connector.mediaReferences(), /not running/);
});
