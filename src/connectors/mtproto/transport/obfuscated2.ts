// Obfuscated2 transport wrapper: the client opens with 64 random-looking bytes; keys for
// AES-256-CTR in both directions come from bytes 8..56 (as sent for client->server,
// byte-reversed for server->client). The client encrypts the whole 64-byte header with its
// stream but sends only bytes 56..64 encrypted, so after decrypting the header with a fresh
// stream both sides' counters are 64 bytes in. Bytes 56..60 of the decrypted header name
// the inner transport; 60..62 carry the DC id. (MTProxy secrets are not supported.)
import { createCipheriv, randomBytes, type Cipher } from 'node:crypto';
import type { TransportKind } from './kinds.ts';

export const OBFUSCATED_INIT_BYTES = 64;

const TAGS: Record<number, TransportKind> = {
  0xefefefef: 'abridged',
  0xeeeeeeee: 'intermediate',
  0xdddddddd: 'padded',
};

const TAG_OF: Record<TransportKind, number | undefined> = {
  abridged: 0xefefefef,
  intermediate: 0xeeeeeeee,
  padded: 0xdddddddd,
  full: undefined,
};

/** A streaming AES-256-CTR keystream (native); update() may be called any number of times. */
export interface CtrStream {
  update(data: Uint8Array): Uint8Array;
}

function ctr(key: Uint8Array, iv: Uint8Array): CtrStream {
  const c: Cipher = createCipheriv('aes-256-ctr', key, iv);
  return { update: (data) => new Uint8Array(c.update(data)) };
}

function keysFrom(init: Uint8Array): { fwdKey: Uint8Array; fwdIv: Uint8Array; revKey: Uint8Array; revIv: Uint8Array } {
  const reversed = Uint8Array.from(init.subarray(8, 56)).reverse();
  return {
    fwdKey: init.subarray(8, 40),
    fwdIv: init.subarray(40, 56),
    revKey: reversed.subarray(0, 32),
    revIv: reversed.subarray(32, 48),
  };
}

export interface ServerObfuscation {
  /** The inner transport named by the header, or undefined for an unknown tag. */
  kind: TransportKind | undefined;
  dcId: number;
  /** client -> server stream, already advanced past the 64-byte header. */
  decryptor: CtrStream;
  /** server -> client stream. */
  encryptor: CtrStream;
}

export function acceptObfuscatedInit(init: Uint8Array): ServerObfuscation {
  if (init.length !== OBFUSCATED_INIT_BYTES) throw new RangeError('obfuscated2 init must be 64 bytes');
  const k = keysFrom(init);
  const decryptor = ctr(k.fwdKey, k.fwdIv);
  const plain = decryptor.update(init);
  const tag = (plain[56]! | (plain[57]! << 8) | (plain[58]! << 16) | (plain[59]! << 24)) >>> 0;
  const dcId = (plain[60]! | (plain[61]! << 8)) << 16 >> 16;
  return { kind: TAGS[tag], dcId, decryptor, encryptor: ctr(k.revKey, k.revIv) };
}

// First ints a client must never start with: they would read as another protocol.
const FORBIDDEN_FIRST_INTS = new Set([0x44414548 /* HEAD */, 0x54534f50 /* POST */, 0x20544547 /* GET  */, 0x4954504f /* OPTI */, 0xdddddddd, 0xeeeeeeee, 0x02010316 /* TLS */]);

/** Whether 64 client bytes could be an obfuscated2 header (the client-side rules of the spec). */
export function isValidClientInitPrefix(init: Uint8Array): boolean {
  if (init.length < 8) return false;
  if (init[0] === 0xef) return false;
  const first = (init[0]! | (init[1]! << 8) | (init[2]! << 16) | (init[3]! << 24)) >>> 0;
  if (FORBIDDEN_FIRST_INTS.has(first)) return false;
  return (init[4]! | init[5]! | init[6]! | init[7]!) !== 0;
}

/** Client side (tests, tools): a fresh header and the two streams. */
export function createClientObfuscation(kind: Exclude<TransportKind, 'full'>, dcId = 2): {
  header: Uint8Array;
  encryptor: CtrStream;
  decryptor: CtrStream;
} {
  let init: Uint8Array;
  do init = new Uint8Array(randomBytes(OBFUSCATED_INIT_BYTES));
  while (!isValidClientInitPrefix(init));
  const tag = TAG_OF[kind]!;
  init[56] = tag & 0xff; init[57] = (tag >>> 8) & 0xff; init[58] = (tag >>> 16) & 0xff; init[59] = tag >>> 24;
  init[60] = dcId & 0xff; init[61] = (dcId >> 8) & 0xff;
  const k = keysFrom(init);
  const encryptor = ctr(k.fwdKey, k.fwdIv);
  const enc = encryptor.update(init);
  const header = Uint8Array.from(init);
  header.set(enc.subarray(56, 64), 56);
  return { header, encryptor, decryptor: ctr(k.revKey, k.revIv) };
}
