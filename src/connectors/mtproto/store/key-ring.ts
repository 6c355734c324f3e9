// Encryption at rest of what the MTProto connector stores (auth keys, the salt secret): AES-256-GCM
// (node:crypto) under a key-encryption key (KEK) from the environment or a key file, with the
// record's purpose and id as associated data, so a sealed value copied to another id or purpose
// does not open. Old KEKs may be listed beside the current one: they only open, and what they
// open is re-sealed under the current KEK by the caller (docs/mtproto.md, "Keys at rest").
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const KEK_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_PREFIX = 'enc1';
const PLAIN_PREFIX = 'plain1';

export interface KeyEncryptionKey {
  /** 8 hex digits of SHA-256 over the key: names it in records, logs and errors, reveals nothing. */
  readonly id: string;
  readonly key: Uint8Array;
}

export type SealErrorReason = 'unknown-key' | 'not-configured' | 'tampered' | 'malformed';

/** A stored value that cannot be opened: never answered with garbage, always with this. */
export class SealError extends Error {
  override readonly name = 'SealError';
  constructor(readonly reason: SealErrorReason, message: string, readonly keyId?: string) {
    super(message);
  }
}

export function kekId(key: Uint8Array): string {
  return createHash('sha256').update('switchboard mtproto key-encryption key id\0').update(key).digest('hex').slice(0, 8);
}

/**
 * A KEK as configured: 32 bytes in base64 (`openssl rand -base64 32`) or hex (64 digits).
 * Throws a RangeError that says what was wrong (never echoing the value).
 */
export function parseKek(text: string): KeyEncryptionKey {
  const t = text.trim();
  let bytes: Buffer;
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) bytes = Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64');
  else throw new RangeError('a key-encryption key is 32 bytes in base64 or hex (e.g. `openssl rand -base64 32`)');
  if (bytes.length !== KEK_BYTES) throw new RangeError(`a key-encryption key is ${KEK_BYTES} bytes; this one decodes to ${bytes.length}`);
  const key = new Uint8Array(bytes);
  return { id: kekId(key), key };
}

export function generateKek(): string {
  return randomBytes(KEK_BYTES).toString('base64');
}

export interface Opened {
  readonly plain: Uint8Array;
  /** Sealed under a previous KEK, or stored in plaintext while a KEK is configured: re-seal it. */
  readonly stale: boolean;
  /** The KEK it was sealed with ('plain' for a plaintext record). */
  readonly keyId: string;
}

/**
 * The current KEK (undefined: values are stored in plaintext) and the previous ones. Sealed
 * format: `enc1:<kek id>:<base64(nonce ‖ ciphertext ‖ tag)>`; plaintext: `plain1:<base64>`.
 */
export class KeyRing {
  readonly current: KeyEncryptionKey | undefined;
  readonly #byId = new Map<string, KeyEncryptionKey>();

  constructor(current: KeyEncryptionKey | undefined, previous: readonly KeyEncryptionKey[] = []) {
    this.current = current;
    for (const k of [...(current ? [current] : []), ...previous]) this.#byId.set(k.id, k);
  }

  static plaintext(): KeyRing {
    return new KeyRing(undefined);
  }

  get encrypting(): boolean {
    return this.current !== undefined;
  }

  /** Ids of every configured KEK, current first. */
  get ids(): string[] {
    return [...this.#byId.keys()];
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  seal(purpose: string, id: string, plain: Uint8Array): string {
    const kek = this.current;
    if (kek === undefined) return `${PLAIN_PREFIX}:${Buffer.from(plain).toString('base64')}`;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', kek.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(purpose, id));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return `${SEALED_PREFIX}:${kek.id}:${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64')}`;
  }

  /** Opens what `seal` made for the same purpose and id; throws SealError otherwise. */
  open(purpose: string, id: string, stored: string): Opened {
    const [prefix, a, b] = stored.split(':');
    if (prefix === PLAIN_PREFIX && a !== undefined && b === undefined) {
      return { plain: new Uint8Array(Buffer.from(a, 'base64')), stale: this.encrypting, keyId: 'plain' };
    }
    if (prefix !== SEALED_PREFIX || a === undefined || b === undefined) throw new SealError('malformed', `stored ${purpose} is not in a known format`);
    const kek = this.#byId.get(a);
    if (kek === undefined) {
      throw this.encrypting || this.#byId.size > 0
        ? new SealError('unknown-key', `stored ${purpose} was sealed with key-encryption key ${a}, which is not configured`, a)
        : new SealError('not-configured', `stored ${purpose} was sealed with key-encryption key ${a}, and no key-encryption key is configured`, a);
    }
    const raw = Buffer.from(b, 'base64');
    if (raw.length < NONCE_BYTES + TAG_BYTES) throw new SealError('malformed', `stored ${purpose} is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', kek.key, raw.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(purpose, id));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    } catch {
      // GCM refuses a wrong key, a changed byte, or a value moved to another id or purpose.
      throw new SealError('tampered', `stored ${purpose} does not authenticate under key-encryption key ${a}`, a);
    }
    return { plain: new Uint8Array(plain), stale: kek !== this.current, keyId: kek.id };
  }
}

function associatedData(purpose: string, id: string): Buffer {
  return Buffer.from(`switchboard mtproto ${purpose} ${id}`, 'utf8');
}
