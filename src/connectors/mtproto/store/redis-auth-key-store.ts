import type { Redis } from 'ioredis';
import { authKeyIdHex, type AuthKeyStore } from './auth-key-store.ts';

export const AUTH_KEY_PREFIX = 'sb:mtproto:authkey:';

/**
 * Auth keys in Redis so that every Switchboard instance sharing the Redis accepts every key and
 * keys survive a restart. The value is the raw 256-byte key: Redis must be protected (ACL/password,
 * no public bind, encrypted disks/backups). Wrapping with a server-side encryption key is a
 * planned hardening (docs/mtproto.md).
 */
export class RedisAuthKeyStore implements AuthKeyStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string = AUTH_KEY_PREFIX) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async get(authKeyId: Uint8Array): Promise<Uint8Array | undefined> {
    const value = await this.#redis.getBuffer(this.#prefix + authKeyIdHex(authKeyId));
    if (value === null) return undefined;
    // A value of the wrong size is not a key we wrote; treat it as absent rather than trust it.
    if (value.length !== 256) return undefined;
    return new Uint8Array(value);
  }

  async put(authKeyId: Uint8Array, authKey: Uint8Array): Promise<void> {
    await this.#redis.set(this.#prefix + authKeyIdHex(authKeyId), Buffer.from(authKey));
  }

  /** SET NX: the handshake must not overwrite a key with a colliding id (that answers dh_gen_retry). */
  async putIfAbsent(authKeyId: Uint8Array, authKey: Uint8Array): Promise<boolean> {
    const r = await this.#redis.set(this.#prefix + authKeyIdHex(authKeyId), Buffer.from(authKey), 'NX');
    return r === 'OK';
  }

  async delete(authKeyId: Uint8Array): Promise<void> {
    await this.#redis.del(this.#prefix + authKeyIdHex(authKeyId));
  }
}
