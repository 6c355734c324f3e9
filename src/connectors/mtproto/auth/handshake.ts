import { randomBytes } from 'node:crypto';
import { bigIntToBytes, bytesToBigInt } from '../crypto/bigint.ts';
import { equalBytes } from '../crypto/constant-time.ts';
import { aesIgeDecrypt, aesIgeEncrypt } from '../crypto/aes-ige.ts';
import { modPow } from '../crypto/modpow.ts';
import { authKeyAuxHash, authKeyId as deriveAuthKeyId, newNonceHash, tmpAesKeyIv } from '../crypto/mtproto2.ts';
import type { ServerRsaKey } from '../crypto/rsa.ts';
import type { TlCodec, TlObject } from '../tl/codec.ts';
import type { AuthKeyStore } from '../store/auth-key-store.ts';
import { bytesOf, longFromLE, longOf, u64 } from '../session/tl-access.ts';
import { decryptInnerData, type InnerDataScheme } from './rsa-pad.ts';
import { newPqChallenge, type PqChallenge } from './pq.ts';
import { checkGA, DH_G, DH_PRIME_BYTES } from '../crypto/dh-prime.ts';
import { concat, sha1 } from '../crypto/bytes.ts';

/** Internal reasons, for logs and metrics only: the peer always gets the same answer. */
export type HandshakeFailReason =
  | 'unexpected-message' | 'bad-state' | 'nonce-mismatch' | 'server-nonce-mismatch'
  | 'fingerprint-mismatch' | 'pq-mismatch' | 'rsa-decrypt' | 'inner-data-invalid'
  | 'dh-decrypt' | 'dh-hash' | 'retry-id' | 'g-b-range' | 'too-many-retries'
  | 'too-many-handshakes' | 'store-error' | 'malformed';

export class HandshakeFailure extends Error {
  override readonly name = 'HandshakeFailure';
  constructor(readonly reason: HandshakeFailReason) {
    super(`handshake failed: ${reason}`);
  }
}

export interface NewAuthKey {
  authKey: Uint8Array;
  authKeyId: Uint8Array;
  /** Initial server salt = substr(new_nonce, 0, 8) XOR substr(server_nonce, 0, 8), as a long. */
  serverSalt: bigint;
  scheme: InnerDataScheme;
  innerType: string;
  /** expires_in of p_q_inner_data_temp*, when the client asked for a temporary key. */
  expiresIn?: number;
}

export interface HandshakeStep {
  reply: TlObject;
  created?: NewAuthKey;
}

export interface HandshakeOptions {
  codec: TlCodec;
  rsaKey: ServerRsaKey;
  keyStore: AuthKeyStore;
  now?: () => number;
  /** New keys one connection may create (each restart of req_pq counts). */
  maxHandshakes?: number;
  /** dh_gen_retry answers allowed in one handshake before giving up. */
  maxRetries?: number;
}

const INNER_TYPES = new Set(['p_q_inner_data', 'p_q_inner_data_dc', 'p_q_inner_data_temp', 'p_q_inner_data_temp_dc']);

/**
 * Longest life of a temporary key, seconds. Clients ask for a day (Telegram Desktop: 86400 + 30);
 * a longer expires_in is cut to this, so "temporary" keeps meaning something in the store.
 */
export const MAX_TEMP_KEY_SECONDS = 7 * 86_400;

// 1 < g_x < p-1 and 2^(2048-64) <= g_x <= p - 2^(2048-64) (security guidelines), for g_a and g_b.
const dhValueInRange = (v: bigint): boolean => checkGA(v);



interface PqState {
  stage: 'pq-sent';
  nonce: Uint8Array;
  serverNonce: Uint8Array;
  challenge: PqChallenge;
}

interface DhState {
  stage: 'dh-sent';
  nonce: Uint8Array;
  serverNonce: Uint8Array;
  newNonce: Uint8Array;
  tmpKey: Uint8Array;
  tmpIv: Uint8Array;
  a: Uint8Array;
  scheme: InnerDataScheme;
  innerType: string;
  expiresIn: number | undefined;
  retries: number;
  /** auth_key_aux_hash of the key refused with dh_gen_retry: the next retry_id must equal it. */
  lastAuxHash: Uint8Array | undefined;
}

type State = { stage: 'idle' } | PqState | DhState;

/**
 * One connection's run of the auth-key protocol (core.telegram.org/mtproto/auth_key) on the
 * server side. Every check failure throws HandshakeFailure; the caller gives the peer one
 * uniform answer so that nothing tells an attacker which check it tripped.
 */
export class Handshake {
  readonly #opts: Required<Omit<HandshakeOptions, 'now'>> & { now: () => number };
  #state: State = { stage: 'idle' };
  #started = 0;

  constructor(opts: HandshakeOptions) {
    this.#opts = { maxHandshakes: 4, maxRetries: 3, now: Date.now, ...opts };
  }

  /** True between req_pq and the final dh_gen_ok: the connection keeps the timeout armed. */
  get pending(): boolean {
    return this.#state.stage !== 'idle';
  }

  async step(request: TlObject): Promise<HandshakeStep> {
    switch (request._) {
      case 'req_pq_multi':
      case 'req_pq':
        return { reply: this.#reqPq(request) };
      case 'req_DH_params':
        return { reply: this.#reqDhParams(request) };
      case 'set_client_DH_params':
        return await this.#setClientDhParams(request);
      default:
        throw new HandshakeFailure('unexpected-message');
    }
  }

  #reqPq(req: TlObject): TlObject {
    if (++this.#started > this.#opts.maxHandshakes) throw new HandshakeFailure('too-many-handshakes');
    const nonce = bytesOf(req, 'nonce');
    if (nonce.length !== 16) throw new HandshakeFailure('malformed');
    const serverNonce = new Uint8Array(randomBytes(16));
    const challenge = newPqChallenge();
    this.#state = { stage: 'pq-sent', nonce, serverNonce, challenge };
    return {
      _: 'resPQ',
      nonce,
      server_nonce: serverNonce,
      pq: bigIntToBytes(challenge.pq),
      server_public_key_fingerprints: [BigInt.asIntN(64, this.#opts.rsaKey.fingerprint)],
    };
  }

  #checkNonces(req: TlObject, nonce: Uint8Array, serverNonce: Uint8Array): void {
    if (!equalBytes(bytesOf(req, 'nonce'), nonce)) throw new HandshakeFailure('nonce-mismatch');
    if (!equalBytes(bytesOf(req, 'server_nonce'), serverNonce)) throw new HandshakeFailure('server-nonce-mismatch');
  }

  #reqDhParams(req: TlObject): TlObject {
    const st = this.#state;
    if (st.stage !== 'pq-sent') throw new HandshakeFailure('bad-state');
    this.#checkNonces(req, st.nonce, st.serverNonce);
    const { p, q, pq } = st.challenge;
    if (bytesToBigInt(bytesOf(req, 'p')) !== p || bytesToBigInt(bytesOf(req, 'q')) !== q) throw new HandshakeFailure('pq-mismatch');
    if (u64(longOf(req, 'public_key_fingerprint')) !== u64(this.#opts.rsaKey.fingerprint)) throw new HandshakeFailure('fingerprint-mismatch');

    const codec = this.#opts.codec;
    const inner = decryptInnerData(this.#opts.rsaKey, bytesOf(req, 'encrypted_data'), (bytes) => {
      try {
        return codec.decodeFront(bytes);
      } catch {
        return null;
      }
    });
    if (inner === null) throw new HandshakeFailure('rsa-decrypt');
    const data = inner.value;
    if (!INNER_TYPES.has(data._)) throw new HandshakeFailure('inner-data-invalid');
    this.#checkNonces(data, st.nonce, st.serverNonce);
    const ip = bytesToBigInt(bytesOf(data, 'p'));
    const iq = bytesToBigInt(bytesOf(data, 'q'));
    if (bytesToBigInt(bytesOf(data, 'pq')) !== pq || ip !== p || iq !== q || ip * iq !== pq || !(ip < iq)) {
      throw new HandshakeFailure('pq-mismatch');
    }
    const newNonce = bytesOf(data, 'new_nonce');
    if (newNonce.length !== 32) throw new HandshakeFailure('inner-data-invalid');
    const expiresRaw = (data as Record<string, unknown>)['expires_in'];
    const expiresIn = typeof expiresRaw === 'number' ? Math.min(expiresRaw, MAX_TEMP_KEY_SECONDS) : undefined;
    if (expiresIn !== undefined && expiresIn <= 0) throw new HandshakeFailure('inner-data-invalid');

    // a: 2048 random bits; redraw in the (negligible) case g_a falls outside the safe range.
    let a: Uint8Array;
    let gA: Uint8Array;
    do {
      a = new Uint8Array(randomBytes(256));
      gA = modPow(Uint8Array.of(DH_G), a, DH_PRIME_BYTES);
    } while (!dhValueInRange(bytesToBigInt(gA)));

    const answer = codec.encode({
      _: 'server_DH_inner_data',
      nonce: st.nonce,
      server_nonce: st.serverNonce,
      g: DH_G,
      dh_prime: DH_PRIME_BYTES,
      g_a: bigIntToBytes(bytesToBigInt(gA), 256),
      server_time: Math.floor(this.#opts.now() / 1000),
    });
    const withHash = concat(sha1(answer), answer);
    const padded = concat(withHash, new Uint8Array(randomBytes((16 - (withHash.length % 16)) % 16)));
    const { key, iv } = tmpAesKeyIv(st.serverNonce, newNonce);
    this.#state = {
      stage: 'dh-sent', nonce: st.nonce, serverNonce: st.serverNonce, newNonce, tmpKey: key, tmpIv: iv, a,
      scheme: inner.scheme, innerType: data._, expiresIn, retries: 0, lastAuxHash: undefined,
    };
    return {
      _: 'server_DH_params_ok',
      nonce: st.nonce,
      server_nonce: st.serverNonce,
      encrypted_answer: aesIgeEncrypt(padded, key, iv),
    };
  }

  async #setClientDhParams(req: TlObject): Promise<HandshakeStep> {
    const st = this.#state;
    if (st.stage !== 'dh-sent') throw new HandshakeFailure('bad-state');
    this.#checkNonces(req, st.nonce, st.serverNonce);
    const encrypted = bytesOf(req, 'encrypted_data');
    if (encrypted.length < 48 || encrypted.length % 16 !== 0 || encrypted.length > 1024) throw new HandshakeFailure('dh-decrypt');
    const plain = aesIgeDecrypt(encrypted, st.tmpKey, st.tmpIv);
    let decoded: { value: TlObject; consumed: number };
    try {
      decoded = this.#opts.codec.decodeFront(plain.subarray(20));
    } catch {
      throw new HandshakeFailure('dh-decrypt');
    }
    // SHA1(data) + data + 0..15 bytes of padding.
    const padding = plain.length - 20 - decoded.consumed;
    if (padding < 0 || padding > 15) throw new HandshakeFailure('dh-decrypt');
    if (!equalBytes(sha1(plain.subarray(20, 20 + decoded.consumed)), plain.subarray(0, 20))) throw new HandshakeFailure('dh-hash');
    const inner = decoded.value;
    if (inner._ !== 'client_DH_inner_data') throw new HandshakeFailure('inner-data-invalid');
    this.#checkNonces(inner, st.nonce, st.serverNonce);

    const retryId = longOf(inner, 'retry_id');
    const expectedRetry = st.lastAuxHash === undefined ? 0n : longFromLE(st.lastAuxHash);
    if (BigInt.asIntN(64, retryId) !== expectedRetry) throw new HandshakeFailure('retry-id');

    // g_b is a number: a client that strips leading zero bytes still sends a valid value.
    const gBBytes = bytesOf(inner, 'g_b');
    if (gBBytes.length === 0 || gBBytes.length > 256) throw new HandshakeFailure('g-b-range');
    const gB = bytesToBigInt(gBBytes);
    if (!dhValueInRange(gB)) throw new HandshakeFailure('g-b-range');

    const authKey = bigIntToBytes(bytesToBigInt(modPow(bigIntToBytes(gB, 256), st.a, DH_PRIME_BYTES)), 256);
    const auxHash = authKeyAuxHash(authKey);
    const authKeyId = deriveAuthKeyId(authKey);

    let fresh: boolean;
    try {
      // A temporary key's life starts now, when the server stores it (core.telegram.org/api/pfs).
      const expiresAt = st.expiresIn === undefined ? undefined : this.#opts.now() + st.expiresIn * 1000;
      fresh = await this.#opts.keyStore.create(authKeyId, { key: authKey, ...(expiresAt !== undefined ? { expiresAt } : {}) });
    } catch {
      throw new HandshakeFailure('store-error');
    }
    if (!fresh) {
      if (++st.retries > this.#opts.maxRetries) throw new HandshakeFailure('too-many-retries');
      st.lastAuxHash = auxHash;
      return { reply: { _: 'dh_gen_retry', nonce: st.nonce, server_nonce: st.serverNonce, new_nonce_hash2: newNonceHash(st.newNonce, authKey, 2) } };
    }

    const saltBytes = new Uint8Array(8);
    for (let i = 0; i < 8; i++) saltBytes[i] = st.newNonce[i]! ^ st.serverNonce[i]!;
    this.#state = { stage: 'idle' };
    const created: NewAuthKey = {
      authKey, authKeyId, serverSalt: longFromLE(saltBytes), scheme: st.scheme, innerType: st.innerType,
      ...(st.expiresIn !== undefined ? { expiresIn: st.expiresIn } : {}),
    };
    return {
      reply: { _: 'dh_gen_ok', nonce: st.nonce, server_nonce: st.serverNonce, new_nonce_hash1: newNonceHash(st.newNonce, authKey, 1) },
      created,
    };
  }
}
