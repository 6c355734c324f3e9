// The chat layer's small parts on their own: login codes (expiry, attempts, resend), flood
// buckets, bot tokens, upload staging limits, file keys and URLs, image sizes, the file store.
import { test } from 'node:test';
import { createHmac } from 'node:crypto';
import assert from 'node:assert/strict';
import { LocalState } from '../../src/bus/memory/state-store.ts';
import { RpcError } from '../../src/connectors/mtproto/session/rpc.ts';
import { LoginCodes, codeKey } from '../../src/connectors/mtproto/chat/login-codes.ts';
import { FloodControl } from '../../src/connectors/mtproto/chat/flood.ts';
import { findBot, generateBotToken, hashBotToken } from '../../src/connectors/mtproto/chat/bot-tokens.ts';
import { FileKeys, Uploads, fileIdOfUrl, fileUrl, imageSize, MAX_PART_BYTES } from '../../src/connectors/mtproto/chat/files.ts';
import { MemoryFileStore, documentIdOf } from '../../src/connectors/mtproto/chat/file-store.ts';
import type { Account } from '../../src/connectors/mtproto/chat/directory.ts';

function rpcError(fn: () => unknown): Promise<string> {
  return Promise.resolve().then(fn).then(() => assert.fail('expected an rpc_error'), (err: unknown) => {
    assert.ok(err instanceof RpcError, String(err));
    return `${err.code} ${err.errorMessage}`;
  });
}

test('login codes: valid for their time, void after maxAttempts, resend limited, single use, bound to their hash', async () => {
  let now = 1_000_000;
  const state = new LocalState(undefined, () => now).store('mtproto');
  const codes = new LoginCodes(state, { codeTtlSeconds: 60, maxAttempts: 2, resendSeconds: 20 }, () => now);
  const first = await codes.issue('15550100');
  assert.match(first.code, /^\d{5}$/);
  assert.equal(await rpcError(() => codes.issue('15550100')), '420 FLOOD_WAIT_20');
  now += 15_000;
  assert.equal(await rpcError(() => codes.issue('15550100')), '420 FLOOD_WAIT_5');
  now += 50_000; // past the ttl: gone from the state too
  assert.equal(await state.get(codeKey('15550100')), undefined);
  assert.equal(await rpcError(() => codes.verify('15550100', first.hash, first.code)), '400 PHONE_CODE_EXPIRED');
  const second = await codes.issue('15550100');
  assert.equal(await rpcError(() => codes.verify('15550100', second.hash, '')), '400 PHONE_CODE_EMPTY');
  assert.equal(await rpcError(() => codes.verify('15550100', '', second.code)), '400 PHONE_CODE_HASH_EMPTY');
  assert.equal(await rpcError(() => codes.verify('15550100', first.hash, second.code)), '400 PHONE_CODE_EXPIRED');
  await codes.verify('15550100', second.hash, ` ${second.code} `);
  assert.equal(await rpcError(() => codes.verify('15550100', second.hash, second.code)), '400 PHONE_CODE_EXPIRED', 'used up');
  now += 30_000;
  const third = await codes.issue('15550100');
  const wrong = third.code === '00000' ? '11111' : '00000';
  assert.equal(await rpcError(() => codes.verify('15550100', third.hash, wrong)), '400 PHONE_CODE_INVALID');
  assert.equal(await rpcError(() => codes.verify('15550100', third.hash, wrong)), '400 PHONE_CODE_INVALID');
  assert.equal(await rpcError(() => codes.verify('15550100', third.hash, third.code)), '400 PHONE_CODE_EXPIRED', 'void after maxAttempts');
});

test('flood control: a burst, then FLOOD_WAIT_X with the seconds to the next token; classes and accounts apart', async () => {
  let now = 0;
  const flood = new FloodControl({ send: { perSecond: 0.25, burst: 2 }, read: { perSecond: 10, burst: 1 }, upload: { perSecond: 1, burst: 1 }, typing: { perSecond: 1, burst: 1 }, auth: { perSecond: 1, burst: 1 } }, () => now);
  flood.take('u1', 'send');
  flood.take('u1', 'send');
  assert.equal(await rpcError(() => flood.take('u1', 'send')), '420 FLOOD_WAIT_4');
  now += 3_000;
  assert.equal(await rpcError(() => flood.take('u1', 'send')), '420 FLOOD_WAIT_1');
  flood.take('u2', 'send');
  flood.take('u1', 'read');
  now += 1_000;
  flood.take('u1', 'send');
});

test('bot tokens: <id>:<secret>, found by hash in constant time, nothing for a near miss', () => {
  const token = generateBotToken(5001);
  assert.match(token, /^5001:sb_[\w-]{43}$/);
  const bots = [
    { id: 5001n, bot: true, tokenHash: hashBotToken(token) },
    { id: 5002n, bot: true, tokenHash: hashBotToken(generateBotToken(5002)) },
  ] as unknown as Account[];
  assert.equal(findBot(bots, token)?.id, 5001n);
  assert.equal(findBot(bots, `${token}x`), undefined);
  assert.equal(findBot(bots, ''), undefined);
  assert.equal(findBot(bots, 'x'.repeat(10_000)), undefined);
});

test('uploads: parts within limits, put together in order, a missing part named, per-owner bounds', async () => {
  const uploads = new Uploads<string>(2 * MAX_PART_BYTES);
  uploads.savePart('a', 1n, 1, Buffer.from('world'));
  uploads.savePart('a', 1n, 0, Buffer.from('hello '));
  assert.equal(Buffer.from(uploads.take('a', 1n, 2)).toString(), 'hello world');
  assert.equal(await rpcError(() => uploads.take('a', 1n, 2)), '400 FILE_PART_0_MISSING', 'taken once');
  uploads.savePart('a', 2n, 0, Buffer.from('x'));
  assert.equal(await rpcError(() => uploads.take('a', 2n, 3)), '400 FILE_PART_1_MISSING');
  assert.equal(await rpcError(() => uploads.savePart('a', 3n, 0, Buffer.alloc(MAX_PART_BYTES + 1))), '400 FILE_PART_TOO_BIG');
  assert.equal(await rpcError(() => uploads.savePart('a', 3n, 4000, Buffer.from('x'))), '400 FILE_PART_INVALID');
  assert.equal(await rpcError(() => uploads.savePart('a', 3n, 0, Buffer.alloc(0))), '400 FILE_PART_EMPTY');
  assert.equal(await rpcError(() => uploads.savePart('a', 3n, 2, Buffer.from('x'), 2)), '400 FILE_PARTS_INVALID');
  uploads.savePart('b', 4n, 0, Buffer.alloc(MAX_PART_BYTES));
  uploads.savePart('b', 4n, 1, Buffer.alloc(MAX_PART_BYTES));
  assert.equal(await rpcError(() => uploads.savePart('b', 4n, 2, Buffer.alloc(1))), '400 FILE_PARTS_INVALID', 'past the file limit');
  uploads.markDone('b', 4n, 'stored');
  assert.equal(uploads.doneOf('b', 4n), 'stored');
});

test('file keys and URLs: access hashes and URL signatures check, ours are recognised, others are not', () => {
  const keys = new FileKeys(new Uint8Array(32).fill(7));
  const other = new FileKeys(new Uint8Array(32).fill(8));
  assert.ok(keys.checkAccessHash('123', keys.accessHash('123')));
  assert.ok(!keys.checkAccessHash('123', other.accessHash('123')));
  assert.ok(!keys.checkAccessHash('124', keys.accessHash('123')));
  const url = fileUrl('http://127.0.0.1:8080', keys, { id: '123', name: 'a b/ü.txt' });
  assert.match(url, /^http:\/\/127\.0\.0\.1:8080\/mtproto\/files\/123\/[\w-]{24}\/a%20b%2F%C3%BC\.txt$/);
  assert.equal(fileIdOfUrl('http://127.0.0.1:8080', keys, url), '123');
  assert.equal(fileIdOfUrl('http://127.0.0.1:8080', other, url), undefined);
  assert.equal(fileIdOfUrl('http://elsewhere', keys, url), undefined);
  assert.equal(fileIdOfUrl('http://127.0.0.1:8080', keys, url.replace('/123/', '/124/')), undefined);
});

test('access hashes are the HMAC of their kind and id, the same from the cache as computed, also past the cache bound', () => {
  const secret = new Uint8Array(32).fill(7);
  const keys = new FileKeys(secret);
  const hmac = (label: string) => createHmac('sha256', secret).update(label, 'utf8').digest().readBigInt64BE(0);
  assert.equal(keys.peerHash('user', '5001'), hmac('peer:user:5001'));
  assert.equal(keys.peerHash('user', '5001'), hmac('peer:user:5001'), 'cached');
  assert.equal(keys.peerHash('chat', '5001'), hmac('peer:chat:5001'), 'kinds differ');
  assert.equal(keys.accessHash('5001'), hmac('access:5001'));
  for (let i = 0; i < 50_001; i++) keys.peerHash('user', String(i));
  assert.equal(keys.peerHash('user', '5001'), hmac('peer:user:5001'), 'evicted and computed again');
  assert.ok(keys.checkAccessHash('5001', hmac('access:5001')));
});

test('image sizes from PNG, GIF and JPEG headers; nothing for other bytes', () => {
  const png = Buffer.alloc(24);
  png.writeUInt32BE(0x89504e47, 0); png.write('IHDR', 12, 'latin1'); png.writeUInt32BE(640, 16); png.writeUInt32BE(480, 20);
  assert.deepEqual(imageSize(png), { w: 640, h: 480, mime: 'image/png' });
  const gif = Buffer.from('GIF89a\x10\x00\x20\x00', 'latin1');
  assert.deepEqual(imageSize(gif), { w: 16, h: 32, mime: 'image/gif' });
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01, 0x2c, 0x00, 0xc8, 0x03]);
  assert.deepEqual(imageSize(jpeg), { w: 200, h: 300, mime: 'image/jpeg' });
  assert.equal(imageSize(Buffer.from('%PDF-1.4')), undefined);
  assert.equal(imageSize(Buffer.from([0xff, 0xd8, 0x00])), undefined);
});

test('the memory file store keeps at most maxTotalBytes, least recently used out first; its attachments point at its route', async () => {
  const keys = new FileKeys(new Uint8Array(32).fill(7));
  const store = new MemoryFileStore(10, 'http://127.0.0.1:1', keys);
  const a = await store.put(Buffer.from('aaaa'), { name: 'a', mime: 'text/plain' });
  const b = await store.put(Buffer.from('bbbb'), { name: 'b', mime: 'text/plain' });
  assert.ok(await store.read(a));
  const c = await store.put(Buffer.from('cccc'), { name: 'c', mime: 'text/plain' });
  assert.equal(await store.read(b), undefined, 'b was least recently used');
  assert.ok(await store.read(a));
  assert.ok(await store.read(c));
  assert.equal(store.totalBytes, 8);
  assert.equal(a.sha256, '61be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b4');
  const attachment = store.attachment(a);
  assert.equal(fileIdOfUrl('http://127.0.0.1:1', keys, attachment.url), a.id);
  assert.deepEqual(await store.recognize(attachment), a);
  assert.equal(await store.recognize({ ...attachment, sha256: c.sha256 }), undefined, 'an id with other content is not ours');
});

test('document ids from content: positive, 63 bits, stable', () => {
  const id = documentIdOf('ff'.repeat(32));
  assert.equal(id, String((2n ** 64n - 1n) >> 1n));
  assert.equal(documentIdOf('00'.repeat(32)), '1');
  assert.equal(documentIdOf('61be55a8e2f6b4e172338bddf184d6dbee29c98853e0a0485ecee7f27b9af0b4'), documentIdOf('61be55a8e2f6b4e1ffffffffffffffffffffffffffffffffffffffffffffffff'));
});
