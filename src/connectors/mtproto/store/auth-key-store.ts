/**
 * Where permanent auth keys live. Keys are 256-byte secrets: whoever reads the store can decrypt
 * every message of that key, so a shared store (Redis) must be access-controlled like a key file.
 */
export interface AuthKeyStore {
  get(authKeyId: Uint8Array): Promise<Uint8Array | undefined>;
  put(authKeyId: Uint8Array, authKey: Uint8Array): Promise<void>;
  delete(authKeyId: Uint8Array): Promise<void>;
  /**
   * Atomic insert used by the handshake: false when the id is taken (the server then answers
   * dh_gen_retry instead of overwriting someone else's key). Stores without it fall back to get+put.
   */
  putIfAbsent?(authKeyId: Uint8Array, authKey: Uint8Array): Promise<boolean>;
}

export function authKeyIdHex(authKeyId: Uint8Array): string {
  return Buffer.from(authKeyId.buffer, authKeyId.byteOffset, authKeyId.byteLength).toString('hex');
}

/** Single-process store: keys vanish on restart (clients then get -404 and make a new key). */
export class MemoryAuthKeyStore implements AuthKeyStore {
  readonly #keys = new Map<string, Uint8Array>();

  async get(authKeyId: Uint8Array): Promise<Uint8Array | undefined> {
    const key = this.#keys.get(authKeyIdHex(authKeyId));
    return key === undefined ? undefined : new Uint8Array(key);
  }

  async put(authKeyId: Uint8Array, authKey: Uint8Array): Promise<void> {
    this.#keys.set(authKeyIdHex(authKeyId), new Uint8Array(authKey));
  }

  async putIfAbsent(authKeyId: Uint8Array, authKey: Uint8Array): Promise<boolean> {
    const id = authKeyIdHex(authKeyId);
    if (this.#keys.has(id)) return false;
    this.#keys.set(id, new Uint8Array(authKey));
    return true;
  }

  async delete(authKeyId: Uint8Array): Promise<void> {
    this.#keys.delete(authKeyIdHex(authKeyId));
  }

  get size(): number {
    return this.#keys.size;
  }
}
