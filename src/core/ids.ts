import { randomBytes } from 'node:crypto';

/**
 * Canonical event ids: ULID layout (48-bit ms timestamp + 80 random bits, Crockford base32,
 * 26 chars). They sort by time as strings, and ids made in one process are strictly increasing
 * even within one millisecond (the random part is incremented), so sorting never reorders a
 * room's own events.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

let lastMs = -1;
let lastRandom: Uint8Array = new Uint8Array(10);

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits -> 16 base32 chars, most significant first.
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = ALPHABET[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return out;
}

function increment(bytes: Uint8Array): Uint8Array {
  const next = new Uint8Array(bytes);
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i] !== 0xff) {
      next[i] = (next[i] ?? 0) + 1;
      return next;
    }
    next[i] = 0;
  }
  throw new Error('id random part overflowed within one millisecond');
}

export type EventId = string & { readonly __brand: 'EventId' };

export function newEventId(now: number = Date.now()): EventId {
  if (now <= lastMs) {
    lastRandom = increment(lastRandom);
  } else {
    lastMs = now;
    lastRandom = new Uint8Array(randomBytes(10));
    lastRandom[0] = (lastRandom[0] ?? 0) & 0x7f; // headroom so increments never overflow in practice
  }
  return (encodeTime(lastMs) + encodeRandom(lastRandom)) as EventId;
}

export function isEventId(value: unknown): value is EventId {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export const EVENT_ID_PATTERN = ID_PATTERN;
