// Sealing of stored MTProto secrets (store/key-ring.ts): AES-256-GCM under a key-encryption key,
// bound to purpose and id; what a wrong, missing, old or tampered key gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { generateKek, KeyRing, parseKek, SealError, type SealErrorReason } from '../../src/connectors/mtproto/store/key-ring.ts';

const kek = () => parseKek(generateKek());

function sealErrorOf(fn: () => unknown): SealErrorReason {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SealError, `a SealError, got ${String(err)}`);
    return err.reason;
  }
  assert.fail('opened; expected a SealError');
}

test('parseKek: base64, unpadded base64url and hex of 32 bytes; anything else is refused without echoing it', () => {
  const raw = randomBytes(32);
  for (const text of [raw.toString('base64'), raw.toString('base64url'), raw.toString('hex'), ` ${raw.toString('base64')}\n`]) {
    assert.deepEqual(Buffer.from(parseKek(text).key), raw, text);
  }
  assert.equal(parseKek(raw.toString('hex')).id, parseKek(raw.toString('base64')).id, 'the id names the key, not its spelling');
  assert.match(parseKek(raw.toString('hex')).id, /^[0-9a-f]{8}$/);
  const secret = randomBytes(31).toString('base64');
  assert.throws(() => parseKek(secret), (err: Error) => /32 bytes/.test(err.message) && !err.message.includes(secret));
  assert.throws(() => parseKek('not a key at all!'), /base64 or hex/);
  assert.throws(() => parseKek(''), /base64 or hex/);
});

test('seal/open round-trips any value; the sealed text holds neither the value nor the key', () => {
  const k = kek();
  const ring = new KeyRing(k);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex')), (plain, id) => {
    const sealed = ring.seal('auth key', id, plain);
    assert.match(sealed, new RegExp(`^enc1:${k.id}:`));
    const opened = ring.open('auth key', id, sealed);
    assert.deepEqual(opened.plain, plain);
    assert.equal(opened.stale, false);
    if (plain.length >= 16) assert.ok(!sealed.includes(Buffer.from(plain).toString('base64').slice(0, 20)));
    assert.ok(!sealed.includes(Buffer.from(k.key).toString('base64')));
  }), { numRuns: 200 });
  // Same value twice: different nonces, different texts.
  const v = new Uint8Array(256).fill(9);
  assert.notEqual(ring.seal('auth key', 'aa', v), ring.seal('auth key', 'aa', v));
});

test('a sealed value opens only for its own id and purpose, under its own key, unaltered', () => {
  const ring = new KeyRing(kek());
  const sealed = ring.seal('auth key', '0011223344556677', new Uint8Array(256).fill(1));
  assert.equal(sealErrorOf(() => ring.open('auth key', '0011223344556678', sealed)), 'tampered', 'moved to another auth key id');
  assert.equal(sealErrorOf(() => ring.open('salt secret', '0011223344556677', sealed)), 'tampered', 'read as another purpose');
  const [p, id, body] = sealed.split(':') as [string, string, string];
  const bytes = Buffer.from(body, 'base64');
  for (const at of [0, 12, bytes.length - 1]) {
    const flipped = Buffer.from(bytes);
    flipped[at]! ^= 1;
    assert.equal(sealErrorOf(() => ring.open('auth key', '0011223344556677', `${p}:${id}:${flipped.toString('base64')}`)), 'tampered', `byte ${at} changed`);
  }
  assert.equal(sealErrorOf(() => ring.open('auth key', '0011223344556677', `${p}:${id}:${bytes.subarray(0, 20).toString('base64')}`)), 'malformed');
  assert.equal(sealErrorOf(() => ring.open('auth key', '0011223344556677', 'garbage')), 'malformed');
  assert.equal(sealErrorOf(() => new KeyRing(kek()).open('auth key', '0011223344556677', sealed)), 'unknown-key', 'a wrong key');
  assert.equal(sealErrorOf(() => KeyRing.plaintext().open('auth key', '0011223344556677', sealed)), 'not-configured', 'no key at all');
});

test('rotation: a previous key opens (stale, to be re-sealed), seals nothing; plaintext records open stale once a key is set', () => {
  const oldKey = kek();
  const newKey = kek();
  const before = new KeyRing(oldKey);
  const sealedOld = before.seal('auth key', 'ab', Uint8Array.of(1, 2, 3));
  const rotating = new KeyRing(newKey, [oldKey]);
  assert.deepEqual(rotating.ids, [newKey.id, oldKey.id]);
  const opened = rotating.open('auth key', 'ab', sealedOld);
  assert.deepEqual(opened.plain, Uint8Array.of(1, 2, 3));
  assert.equal(opened.stale, true);
  assert.equal(opened.keyId, oldKey.id);
  assert.match(rotating.seal('auth key', 'ab', Uint8Array.of(1)), new RegExp(`^enc1:${newKey.id}:`), 'new values use the current key');

  const plain = KeyRing.plaintext();
  const stored = plain.seal('auth key', 'ab', Uint8Array.of(7));
  assert.match(stored, /^plain1:/);
  assert.deepEqual(plain.open('auth key', 'ab', stored), { plain: Uint8Array.of(7), stale: false, keyId: 'plain' });
  assert.equal(new KeyRing(newKey).open('auth key', 'ab', stored).stale, true, 'encryption turned on: plaintext records get sealed');
});
