import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TOKEN_HASH_PATTERN } from '../../src/config/schema.ts';
import { findToken, generateToken, hashToken } from '../../src/connectors/websocket/tokens.ts';
import { TokenBucket } from '../../src/core/token-bucket.ts';
import { parseClientFrame, type ServerFrame } from '../../src/connectors/websocket/frames.ts';
import WebSocket from 'ws';
import { Session } from '../../src/connectors/websocket/session.ts';
import { wsMetrics } from '../../src/connectors/websocket/metrics.ts';
import { createRegistry } from '../../src/core/metrics.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { ErrorCode } from '../../src/core/errors.ts';

describe('websocket tokens', () => {
  test('generateToken is sb_ + 32 random bytes in base64url; tokens differ', () => {
    const a = generateToken();
    const b = generateToken();
    assert.match(a, /^sb_[A-Za-z0-9_-]{43}$/);
    assert.equal(Buffer.from(a.slice(3), 'base64url').length, 32);
    assert.notEqual(a, b);
  });

  test('hashToken is sha256:<hex> as the config schema expects (known vector)', () => {
    assert.equal(hashToken('abc'), 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.match(hashToken(generateToken()), TOKEN_HASH_PATTERN);
  });

  test('findToken finds the entry of the presented token and nothing for others', () => {
    const t1 = generateToken();
    const t2 = generateToken();
    const tokens = [{ name: 'one', hash: hashToken(t1) }, { name: 'broken', hash: 'sha256:zz' }, { name: 'two', hash: hashToken(t2) }];
    assert.equal(findToken(tokens, t1)?.name, 'one');
    assert.equal(findToken(tokens, t2)?.name, 'two');
    assert.equal(findToken(tokens, generateToken()), undefined);
    assert.equal(findToken(tokens, ''), undefined);
    assert.equal(findToken(tokens, undefined), undefined);
    assert.equal(findToken(tokens, t1 + 'x'), undefined);
    assert.equal(findToken(tokens, 'x'.repeat(10_000)), undefined);
    assert.equal(findToken(tokens, hashToken(t1)), undefined, 'the hash itself is not a token');
  });
});

describe('websocket rate limit bucket', () => {
  test('allows a burst, then perSecond, refilling over time up to the burst', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    assert.deepEqual([1, 2, 3, 4].map(() => bucket.tryTake()), [true, true, true, false]);
    now += 100; // one token
    assert.deepEqual([bucket.tryTake(), bucket.tryTake()], [true, false]);
    now += 60_000; // refills to the burst, not beyond
    assert.deepEqual([1, 2, 3, 4].map(() => bucket.tryTake()), [true, true, true, false]);
  });
});

describe('websocket client frames', () => {
  test('valid frames parse (what is inside a send\'s event is the event\'s business: buildEvent)', () => {
    for (const frame of [
      { type: 'send', room: 'lobby', event: { text: 'no kind' } },
      { type: 'join', room: 'lobby' }, { type: 'join', room: 'lobby', since: '1-0', ref: 'r' },
      { type: 'leave', room: 'lobby' }, { type: 'send', room: 'lobby', event: { kind: 'message', text: 'x' } },
      { type: 'subscribe', room: 'lobby' }, { type: 'unsubscribe', room: 'lobby' }, { type: 'ping' },
    ]) {
      const r = parseClientFrame(JSON.stringify(frame));
      assert.ok(r.ok, JSON.stringify(r));
    }
  });

  test('each kind of bad frame gets its code, with the ref echoed when usable', () => {
    const cases: [string, string, string | undefined][] = [
      ['nope', 'bad_json', undefined],
      ['"text"', 'bad_frame', undefined],
      ['null', 'bad_frame', undefined],
      ['{"ref":"a"}', 'bad_frame', 'a'],
      ['{"type":"dance","ref":"b"}', 'unknown_type', 'b'],
      ['{"type":"join","ref":"c","room":""}', 'bad_frame', 'c'],
      ['{"type":"join","ref":"d","room":"x","extra":1}', 'bad_frame', 'd'],
      ['{"type":"send","ref":"e","room":"x"}', 'bad_frame', 'e'],
      ['{"type":"send","room":"x","event":"no object"}', 'bad_frame', undefined],
      ['{"type":"ping","ref":"f","__proto__":{}}', 'bad_frame', 'f'],
      [`{"type":"ping","ref":"${'r'.repeat(65)}"}`, 'bad_frame', undefined],
    ];
    for (const [text, code, ref] of cases) {
      const r = parseClientFrame(text);
      assert.equal(r.ok, false, text);
      if (!r.ok) {
        assert.equal(r.code, code, text);
        assert.equal(r.ref, ref, text);
      }
    }
  });
});

describe('websocket slow-consumer limit', () => {
  /** A socket stand-in whose unsent output the test sets: the rule under test is Session.overLimit's arithmetic. */
  function sessionWith(maxBufferedBytes: number) {
    const socket = { readyState: WebSocket.OPEN, bufferedAmount: 0, send: () => undefined };
    const token = { name: 'alice', hash: hashToken(generateToken()), scope: 'client' as const, rooms: [], moderator: false };
    const session = new Session(socket as unknown as WebSocket, token, { maxBufferedBytes, ratePerSecond: 10, rateBurst: 10, drainTimeoutMs: 1_000 },
      wsMetrics(createRegistry(false)), silentLogger, () => undefined);
    return { session, socket };
  }
  const frameOf = (chars: number): ServerFrame => ({ type: 'error', code: ErrorCode.BadFrame, message: 'x'.repeat(chars) });

  test('past maxBufferedBytes is over the limit; one frame larger than the limit raises it to that frame, so a reader that keeps up is not cut off', () => {
    const small = sessionWith(16 * 1024);
    small.session.send(frameOf(1_000));
    small.socket.bufferedAmount = 16 * 1024;
    assert.equal(small.session.overLimit(), false);
    small.socket.bufferedAmount = 16 * 1024 + 1;
    assert.equal(small.session.overLimit(), true, 'the plain limit holds with ordinary frames');

    const big = sessionWith(16 * 1024);
    big.session.send(frameOf(40_000));
    big.socket.bufferedAmount = 40_000; // that frame alone, not taken by the network yet
    assert.equal(big.session.overLimit(), false, 'one large frame queued is not a slow reader');
    big.socket.bufferedAmount = 40_100;
    assert.equal(big.session.overLimit(), true, 'beyond that frame it is');

    const wide = sessionWith(16 * 1024);
    wide.session.send({ type: 'error', code: ErrorCode.BadFrame, message: '€'.repeat(8_000) });
    wide.socket.bufferedAmount = 24_000; // 8,000 euro signs are 24,000 bytes: counted in bytes, not characters
    assert.equal(wide.session.overLimit(), false);
  });
});
