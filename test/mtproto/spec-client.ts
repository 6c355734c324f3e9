/**
 * An MTProto client written from core.telegram.org for the tests: its own framing (abridged,
 * intermediate, padded intermediate), the auth-key handshake (RSA_PAD or the legacy RSA scheme)
 * and encrypted messages built with the crypto primitives, with knobs to send broken input.
 */
import { Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { aesIgeDecrypt, aesIgeEncrypt } from '../../src/connectors/mtproto/crypto/aes-ige.ts';
import { bigIntToBytes, bytesToBigInt } from '../../src/connectors/mtproto/crypto/bigint.ts';
import { modPow } from '../../src/connectors/mtproto/crypto/modpow.ts';
import { authKeyId as deriveAuthKeyId, computeMsgKey, decryptPayload, deriveAesKeyIv, newNonceHash, tmpAesKeyIv } from '../../src/connectors/mtproto/crypto/mtproto2.ts';
import { rsaEncryptRaw } from '../../src/connectors/mtproto/crypto/rsa.ts';
import type { TlObject } from '../../src/connectors/mtproto/tl/codec.ts';
import { createServiceCodec } from '../../src/connectors/mtproto/session/service-codec.ts';
import { CONTAINER_ID } from '../../src/connectors/mtproto/session/container.ts';

export const codec = createServiceCodec();

export type Framing = 'abridged' | 'intermediate' | 'padded';

export interface PinnedKey {
  n: bigint;
  e: bigint;
  fingerprint: bigint;
}

const sha1 = (...p: Uint8Array[]): Uint8Array => { const h = createHash('sha1'); for (const x of p) h.update(x); return new Uint8Array(h.digest()); };
const sha256 = (...p: Uint8Array[]): Uint8Array => { const h = createHash('sha256'); for (const x of p) h.update(x); return new Uint8Array(h.digest()); };
export const concat = (...p: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(p));
const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** A received frame: a payload, or a 4-byte transport error (negative code). */
export type Frame = { kind: 'payload'; data: Uint8Array } | { kind: 'error'; code: number } | { kind: 'quickack'; token: number };

export class SpecConnection {
  readonly socket: Socket;
  readonly framing: Framing;
  #buf = Buffer.alloc(0);
  #frames: Frame[] = [];
  #waiters: Array<() => void> = [];
  closed = false;

  private constructor(socket: Socket, framing: Framing) {
    this.socket = socket;
    this.framing = framing;
    socket.on('data', (d: Buffer) => { this.#buf = Buffer.concat([this.#buf, d]); this.#parse(); this.#wake(); });
    socket.on('close', () => { this.closed = true; this.#wake(); });
    socket.on('error', () => { /* surfaced as close */ });
  }

  /** `localAddress`: the address to connect from (another loopback address is another peer to the server). */
  static async connect(port: number, framing: Framing, host = '127.0.0.1', localAddress?: string): Promise<SpecConnection> {
    const socket = new Socket();
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect({ port, host, ...(localAddress !== undefined ? { localAddress } : {}) }, () => { socket.off('error', reject); resolve(); });
    });
    const c = new SpecConnection(socket, framing);
    socket.write(framing === 'abridged' ? Uint8Array.of(0xef) : framing === 'intermediate' ? new Uint8Array(4).fill(0xee) : new Uint8Array(4).fill(0xdd));
    return c;
  }

  #wake(): void {
    const w = this.#waiters.splice(0);
    for (const f of w) f();
  }

  #parse(): void {
    for (;;) {
      let len: number;
      let head: number;
      if (this.framing === 'abridged') {
        if (this.#buf.length < 1) return;
        const b = this.#buf[0]!;
        if (b & 0x80) { // a quick ack: 4 bytes, big-endian, MSB set
          if (this.#buf.length < 4) return;
          this.#frames.push({ kind: 'quickack', token: this.#buf.readUInt32BE(0) });
          this.#buf = this.#buf.subarray(4);
          continue;
        }
        if (b < 0x7f) { len = b * 4; head = 1; } else {
          if (this.#buf.length < 4) return;
          len = (this.#buf[1]! | (this.#buf[2]! << 8) | (this.#buf[3]! << 16)) * 4; head = 4;
        }
      } else {
        if (this.#buf.length < 4) return;
        const v = this.#buf.readUInt32LE(0);
        if (v & 0x80000000) { // a quick ack: 4 bytes, little-endian, MSB set
          this.#frames.push({ kind: 'quickack', token: v });
          this.#buf = this.#buf.subarray(4);
          continue;
        }
        len = v; head = 4;
      }
      if (this.#buf.length < head + len) return;
      let data = new Uint8Array(this.#buf.subarray(head, head + len));
      this.#buf = this.#buf.subarray(head + len);
      if (this.framing === 'padded') {
        // Padded intermediate appends 0..15 random bytes; recover the MTProto length.
        if (data.length < 8) data = data.subarray(0, 4);
        else if (data.subarray(0, 8).every((x) => x === 0)) data = data.subarray(0, 20 + Buffer.from(data).readInt32LE(16));
        else data = data.subarray(0, 24 + Math.floor((data.length - 24) / 16) * 16);
      }
      if (data.length === 4) this.#frames.push({ kind: 'error', code: Buffer.from(data).readInt32LE(0) });
      else this.#frames.push({ kind: 'payload', data });
    }
  }

  /** Frames a payload; `quickAck` sets the length's MSB, asking the server for a quick ack. */
  frame(payload: Uint8Array, quickAck = false): Uint8Array {
    if (this.framing === 'abridged') {
      const n = payload.length / 4;
      const head = n < 0x7f ? Uint8Array.of(n) : Uint8Array.of(0x7f, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff);
      if (quickAck) head[0]! |= 0x80;
      return concat(head, payload);
    }
    const pad = this.framing === 'padded' ? rnd(Math.floor(Math.random() * 16)) : new Uint8Array(0);
    const head = Buffer.alloc(4);
    head.writeUInt32LE(((payload.length + pad.length) | (quickAck ? 0x80000000 : 0)) >>> 0, 0);
    return concat(head, payload, pad);
  }

  send(payload: Uint8Array, quickAck = false): void {
    this.socket.write(this.frame(payload, quickAck));
  }

  writeRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Next frame, or 'closed' / 'timeout'. */
  async next(timeoutMs = 3000): Promise<Frame | 'closed' | 'timeout'> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const f = this.#frames.shift();
      if (f) return f;
      if (this.closed) return 'closed';
      const left = until - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < until) {
      const left = until - Date.now();
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, left); this.#waiters.push(() => { clearTimeout(t); resolve(); }); });
      this.#frames.length = 0;
    }
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}

let lastMsgId = 0n;
/** Client msg_id: unixtime << 32 | fraction, divisible by 4, increasing. */
export function clientMsgId(offsetS = 0): bigint {
  const ms = Date.now() + offsetS * 1000;
  let id = (BigInt(Math.floor(ms / 1000)) << 32n) | ((BigInt(ms % 1000) * 4294967n) & ~3n);
  if (id <= lastMsgId) id = lastMsgId + 4n;
  lastMsgId = id;
  return id;
}

export function plainMessage(body: Uint8Array, msgId = clientMsgId()): Uint8Array {
  const head = Buffer.alloc(20);
  head.writeBigInt64LE(msgId, 8);
  head.writeInt32LE(body.length, 16);
  return concat(head, body);
}

export function parsePlain(data: Uint8Array): TlObject {
  const len = Buffer.from(data).readInt32LE(16);
  return codec.decode(data.subarray(20, 20 + len));
}

/** Pollard's rho for the ~62-bit pq of step 1. */
export function factor(pq: bigint): [bigint, bigint] {
  const gcd = (a: bigint, b: bigint): bigint => { while (b) [a, b] = [b, a % b]; return a; };
  for (let c = 1n; ; c++) {
    let x = 2n, y = 2n, d = 1n;
    const f = (v: bigint): bigint => (v * v + c) % pq;
    while (d === 1n) { x = f(x); y = f(f(y)); d = gcd(x > y ? x - y : y - x, pq); }
    if (d !== pq) { const o = pq / d; return d < o ? [d, o] : [o, d]; }
  }
}

export interface HandshakeTamper {
  nonce?: boolean;
  serverNonce?: boolean;
  fingerprint?: boolean;
  pq?: boolean;
  gB?: 'one' | 'p-minus-1' | 'small';
  dhHash?: boolean;
}

export interface HandshakeOptions {
  scheme?: 'rsa_pad' | 'rsa_legacy';
  inner?: 'p_q_inner_data' | 'p_q_inner_data_dc' | 'p_q_inner_data_temp' | 'p_q_inner_data_temp_dc';
  /** expires_in of a temporary key (default 3600). */
  expiresIn?: number;
  tamper?: HandshakeTamper;
}

export interface AuthResult {
  authKey: Uint8Array;
  authKeyId: Uint8Array;
  salt: bigint;
  serverTime: number;
}

export class HandshakeRejected extends Error {
  constructor(readonly frame: Frame | 'closed' | 'timeout') { super(`handshake rejected: ${JSON.stringify(frame)}`); }
}

async function plainRequest(conn: SpecConnection, req: TlObject): Promise<TlObject> {
  conn.send(plainMessage(codec.encode(req)));
  const f = await conn.next();
  if (f === 'closed' || f === 'timeout' || f.kind !== 'payload') throw new HandshakeRejected(f);
  return parsePlain(f.data);
}

function rsaPad(key: PinnedKey, data: Uint8Array): Uint8Array {
  const dataWithPadding = concat(data, rnd(192 - data.length));
  const reversed = dataWithPadding.slice().reverse();
  for (;;) {
    const tempKey = rnd(32);
    const dataWithHash = concat(reversed, sha256(tempKey, dataWithPadding));
    const aesEncrypted = aesIgeEncrypt(dataWithHash, tempKey, new Uint8Array(32));
    const mask = sha256(aesEncrypted);
    const tempKeyXor = tempKey.map((b, i) => b ^ mask[i]!);
    const keyAesEncrypted = concat(tempKeyXor, aesEncrypted);
    if (bytesToBigInt(keyAesEncrypted) >= key.n) continue;
    return rsaEncryptRaw(key.n, key.e, keyAesEncrypted);
  }
}

function rsaLegacy(key: PinnedKey, data: Uint8Array): Uint8Array {
  const block = concat(Uint8Array.of(0), sha1(data), data, rnd(255 - 20 - data.length));
  return rsaEncryptRaw(key.n, key.e, block);
}

/** The full auth-key creation of core.telegram.org/mtproto/auth_key, as a client. */
export async function specHandshake(conn: SpecConnection, key: PinnedKey, opts: HandshakeOptions = {}): Promise<AuthResult> {
  const t = opts.tamper ?? {};
  const nonce = rnd(16);
  const resPQ = await plainRequest(conn, { _: 'req_pq_multi', nonce });
  if (resPQ._ !== 'resPQ') throw new Error(`step 1 answer ${resPQ._}`);
  const serverNonce = resPQ['server_nonce'] as Uint8Array;
  const pqBytes = resPQ['pq'] as Uint8Array;
  const [p, q] = factor(bytesToBigInt(pqBytes));
  const newNonce = rnd(32);
  const innerType = opts.inner ?? 'p_q_inner_data_dc';
  const inner: TlObject = {
    _: innerType, pq: pqBytes, p: bigIntToBytes(p), q: bigIntToBytes(q), nonce, server_nonce: serverNonce, new_nonce: newNonce,
    ...(innerType.includes('dc') ? { dc: 2 } : {}), ...(innerType.includes('temp') ? { expires_in: opts.expiresIn ?? 3600 } : {}),
  };
  if (t.pq) inner['p'] = bigIntToBytes(p + 2n);
  const innerBytes = codec.encode(inner);
  const encrypted = opts.scheme === 'rsa_legacy' ? rsaLegacy(key, innerBytes) : rsaPad(key, innerBytes);
  const dh = await plainRequest(conn, {
    _: 'req_DH_params',
    nonce: t.nonce ? rnd(16) : nonce,
    server_nonce: t.serverNonce ? rnd(16) : serverNonce,
    p: bigIntToBytes(p), q: bigIntToBytes(q),
    public_key_fingerprint: BigInt.asIntN(64, t.fingerprint ? key.fingerprint ^ 1n : key.fingerprint),
    encrypted_data: encrypted,
  });
  if (dh._ !== 'server_DH_params_ok') throw new Error(`step 2 answer ${dh._}`);
  const { key: tk, iv: tiv } = tmpAesKeyIv(serverNonce, newNonce);
  const answerPlain = aesIgeDecrypt(dh['encrypted_answer'] as Uint8Array, tk, tiv);
  const innerDh = codec.decodeFront(answerPlain.subarray(20));
  if (!Buffer.from(sha1(answerPlain.subarray(20, 20 + innerDh.consumed))).equals(answerPlain.subarray(0, 20))) throw new Error('answer hash');
  const sdh = innerDh.value;
  const dhPrime = sdh['dh_prime'] as Uint8Array;
  const gA = sdh['g_a'] as Uint8Array;
  const b = rnd(256);
  let gB = modPow(Uint8Array.of(sdh['g'] as number), b, dhPrime);
  if (t.gB === 'one') gB = Uint8Array.of(1);
  if (t.gB === 'p-minus-1') gB = bigIntToBytes(bytesToBigInt(dhPrime) - 1n);
  if (t.gB === 'small') gB = bigIntToBytes(1n << 1000n);
  const authKey = bigIntToBytes(bytesToBigInt(modPow(gA, b, dhPrime)), 256);
  const clientInner = codec.encode({ _: 'client_DH_inner_data', nonce, server_nonce: serverNonce, retry_id: 0n, g_b: gB });
  const hash = sha1(clientInner);
  if (t.dhHash) hash[0]! ^= 1;
  let withHash = concat(hash, clientInner);
  withHash = concat(withHash, rnd((16 - (withHash.length % 16)) % 16));
  const gen = await plainRequest(conn, { _: 'set_client_DH_params', nonce, server_nonce: serverNonce, encrypted_data: aesIgeEncrypt(withHash, tk, tiv) });
  if (gen._ !== 'dh_gen_ok') throw new Error(`step 3 answer ${gen._}`);
  if (!Buffer.from(gen['new_nonce_hash1'] as Uint8Array).equals(newNonceHash(newNonce, authKey, 1))) throw new Error('new_nonce_hash1 mismatch');
  const saltBytes = Buffer.from(newNonce.subarray(0, 8).map((x, i) => x ^ serverNonce[i]!));
  return { authKey, authKeyId: deriveAuthKeyId(authKey), salt: saltBytes.readBigInt64LE(0), serverTime: sdh['server_time'] as number };
}

export interface InMessage {
  msgId: bigint;
  seqNo: number;
  obj: TlObject;
}

export interface SendOptions {
  msgId?: bigint;
  seqNo?: number;
  salt?: bigint;
  sessionId?: bigint;
  paddingBytes?: number;
  /** Overrides message_data_length in the header. */
  lengthField?: number;
  tamperMsgKey?: boolean;
  /** Ask for a transport quick ack. */
  quickAck?: boolean;
}

/** An encrypted session over a SpecConnection. */
export class SpecSession {
  readonly conn: SpecConnection;
  readonly auth: AuthResult;
  salt: bigint;
  sessionId = Buffer.from(randomBytes(8)).readBigInt64LE(0);
  #seq = 0;

  constructor(conn: SpecConnection, auth: AuthResult) {
    this.conn = conn;
    this.auth = auth;
    this.salt = auth.salt;
  }

  seqNo(contentRelated: boolean): number {
    return contentRelated ? this.#seq++ * 2 + 1 : this.#seq * 2;
  }

  /** Builds the encrypted frame payload for a body; returns it with the msg_id used. */
  build(body: Uint8Array, contentRelated = true, o: SendOptions = {}): { payload: Uint8Array; msgId: bigint } {
    const msgId = o.msgId ?? clientMsgId();
    const head = Buffer.alloc(32);
    head.writeBigInt64LE(BigInt.asIntN(64, o.salt ?? this.salt), 0);
    head.writeBigInt64LE(o.sessionId ?? this.sessionId, 8);
    head.writeBigInt64LE(msgId, 16);
    head.writeInt32LE(o.seqNo ?? this.seqNo(contentRelated), 24);
    head.writeInt32LE(o.lengthField ?? body.length, 28);
    const unpadded = concat(head, body);
    const want = o.paddingBytes ?? 12;
    const padLen = want + ((16 - ((unpadded.length + want) % 16)) % 16);
    const plain = concat(unpadded, rnd(padLen));
    const msgKey = computeMsgKey(this.auth.authKey, plain, 0);
    const { key, iv } = deriveAesKeyIv(this.auth.authKey, msgKey, 0);
    if (o.tamperMsgKey) msgKey[3]! ^= 0x40;
    return { payload: concat(this.auth.authKeyId, msgKey, aesIgeEncrypt(plain, key, iv)), msgId };
  }

  send(obj: TlObject, contentRelated = true, o: SendOptions = {}): bigint {
    const { payload, msgId } = this.build(codec.encode(obj), contentRelated, o);
    this.conn.send(payload, o.quickAck ?? false);
    return msgId;
  }

  /** Next decrypted message(s): containers are flattened. */
  async recv(timeoutMs = 3000): Promise<InMessage[] | Frame | 'closed' | 'timeout'> {
    const f = await this.conn.next(timeoutMs);
    if (f === 'closed' || f === 'timeout' || f.kind !== 'payload') return f;
    const d = f.data;
    const plain = decryptPayload(this.auth.authKey, d.subarray(8, 24), d.subarray(24), 8);
    if (plain === null) throw new Error('server message failed msg_key check');
    const b = Buffer.from(plain);
    const msgId = b.readBigInt64LE(16);
    const seqNo = b.readInt32LE(24);
    const len = b.readInt32LE(28);
    const body = plain.subarray(32, 32 + len);
    return unpack(msgId, seqNo, body);
  }

  /** Collects messages until `pred` matches one, or the time is up. */
  async until(pred: (m: InMessage) => boolean, timeoutMs = 3000): Promise<{ found?: InMessage; seen: InMessage[]; end?: Frame | 'closed' | 'timeout' }> {
    const seen: InMessage[] = [];
    const until = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.recv(Math.max(1, until - Date.now()));
      if (!Array.isArray(r)) return { seen, end: r };
      for (const m of r) {
        seen.push(m);
        if (m.obj._ === 'new_session_created' || m.obj._ === 'bad_server_salt') {
          const s = m.obj['new_server_salt'] ?? m.obj['server_salt'];
          if (typeof s === 'bigint') this.salt = s;
        }
        if (pred(m)) return { found: m, seen };
      }
    }
  }

  async ping(timeoutMs = 3000): Promise<boolean> {
    const pingId = Buffer.from(randomBytes(8)).readBigInt64LE(0);
    this.send({ _: 'ping', ping_id: pingId });
    const r = await this.until((m) => m.obj._ === 'pong' && m.obj['ping_id'] === pingId, timeoutMs);
    return r.found !== undefined;
  }
}

function unpack(msgId: bigint, seqNo: number, body: Uint8Array): InMessage[] {
  const ctor = Buffer.from(body).readUInt32LE(0);
  if (ctor === 0x73f1f8dc) {
    const b = Buffer.from(body);
    const n = b.readInt32LE(4);
    const out: InMessage[] = [];
    let o = 8;
    for (let i = 0; i < n; i++) {
      const id = b.readBigInt64LE(o);
      const sq = b.readInt32LE(o + 8);
      const len = b.readInt32LE(o + 12);
      out.push(...unpack(id, sq, body.subarray(o + 16, o + 16 + len)));
      o += 16 + len;
    }
    return out;
  }
  if (ctor === 0xf35c6d01) {
    const reqMsgId = Buffer.from(body).readBigInt64LE(4);
    // API results are not in the service schema: they stay { _: 'raw', bytes } for the test to decode.
    return [{ msgId, seqNo, obj: { _: 'rpc_result', req_msg_id: reqMsgId, result: codec.decodeOrRaw(body.subarray(12)) } }];
  }
  // An API update pushed to a logged-in session (updates, updateShort...) is not in the service schema either: raw.
  return [{ msgId, seqNo, obj: codec.decodeOrRaw(body) }];
}

/** Handshake + session, retrying only on the documented -404 of a lost race (none expected). */
export async function connectAndAuth(port: number, key: PinnedKey, framing: Framing = 'intermediate', opts: HandshakeOptions = {}): Promise<SpecSession> {
  const conn = await SpecConnection.connect(port, framing);
  const auth = await specHandshake(conn, key, opts);
  return new SpecSession(conn, auth);
}

export interface ContainerItem { msgId: bigint; seqNo: number; body: Uint8Array }

/** msg_container body: constructor, count, then per message msg_id, seqno, length and the body. */
export function containerBody(items: readonly ContainerItem[]): Uint8Array {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(CONTAINER_ID, 0);
  head.writeInt32LE(items.length, 4);
  const parts: Uint8Array[] = [head];
  for (const it of items) {
    const h = Buffer.alloc(16);
    h.writeBigInt64LE(it.msgId, 0);
    h.writeInt32LE(it.seqNo, 8);
    h.writeInt32LE(it.body.length, 12);
    parts.push(h, it.body);
  }
  return concat(...parts);
}
