/**
 * Where auth keys live. Keys are 256-byte secrets: whoever reads one can decrypt every message of
 * that key, so they are stored sealed (store/key-ring.ts) in the bus's state store, shared by
 * every instance and kept across restarts (state-auth-key-store.ts).
 */
export interface AuthKeyRecord {
  readonly key: Uint8Array;
  /**
   * ms since the epoch after which the key is refused (-404): temporary keys
   * (p_q_inner_data_temp*, core.telegram.org/api/pfs). Undefined for permanent keys.
   */
  readonly expiresAt?: number;
  /** A temporary key bound by auth.bindTempAuthKey: the permanent auth_key_id (hex) it acts for. */
  readonly boundTo?: string;
}

export type BindResult = 'bound' | 'not-temporary' | 'already-bound' | 'gone';

export interface AuthKeyStore {
  get(authKeyId: Uint8Array): Promise<AuthKeyRecord | undefined>;
  /**
   * Atomic insert used by the handshake: false when the id is taken (the server then answers
   * dh_gen_retry instead of overwriting someone else's key).
   */
  create(authKeyId: Uint8Array, record: AuthKeyRecord): Promise<boolean>;
  /** Deletes the key; a permanent key takes the temporary key bound to it along. */
  delete(authKeyId: Uint8Array): Promise<void>;
  /**
   * Binds temporary key `tempId` to permanent key `permIdHex` (auth.bindTempAuthKey, already
   * verified by the caller) until `expiresAt` at the latest. A permanent key has one bound
   * temporary key at a time: binding another unbinds the previous one.
   */
  bind(tempId: Uint8Array, permIdHex: string, expiresAt: number | undefined): Promise<BindResult>;
  /** The temporary key bound to permanent key `permIdHex` (hex), if one is. */
  boundTemp(permIdHex: string): Promise<string | undefined>;
}

export function authKeyIdHex(authKeyId: Uint8Array): string {
  return Buffer.from(authKeyId.buffer, authKeyId.byteOffset, authKeyId.byteLength).toString('hex');
}

export function authKeyIdBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
