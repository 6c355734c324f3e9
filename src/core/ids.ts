import { randomFillSync } from 'node:crypto';

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
  // 80 bits -> 16 base32 chars, most significant first: two 40-bit halves, each exact in a double.
  let out = '';
  for (let half = 0; half < 2; half++) {
    let bits = 0;
    for (let i = half * 5; i < half * 5 + 5; i++) bits = bits * 256 + (bytes[i] ?? 0);
    let chunk = '';
    for (let i = 0; i < 8; i++) {
      chunk = ALPHABET[bits % 32] + chunk;
      bits = Math.floor(bits / 32);
    }
    out += chunk;
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

/** Random bytes drawn from the OS a few hundred ids at a time (one call per id showed in profiles). */
const pool = new Uint8Array(4096);
let poolUsed = pool.length;

function random10(): Uint8Array {
  if (poolUsed + 10 > pool.length) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  const out = pool.slice(poolUsed, poolUsed + 10);
  poolUsed += 10;
  return out;
}

export type EventId = string & { readonly __brand: 'EventId' };

export function newEventId(now: number = Date.now()): EventId {
  if (now <= lastMs) {
    lastRandom = increment(lastRandom);
  } else {
    lastMs = now;
    lastRandom = random10();
    lastRandom[0] = (lastRandom[0] ?? 0) & 0x7f; // headroom so increments never overflow in practice
  }
  return (encodeTime(lastMs) + encodeRandom(lastRandom)) as EventId;
}

export function isEventId(value: unknown): value is EventId {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export const EVENT_ID_PATTERN = ID_PATTERN;
