// The DH group of the MTProto handshake. Servers may only send a safe 2048-bit prime;
// stock clients compare it against this well-known one (the prime Telegram's servers send)
// and skip their expensive primality checks when it matches, so we send exactly this one.
import { bigIntToBytes } from './bigint.ts';

export const DH_PRIME_HEX =
  'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f' +
  '48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c37' +
  '20fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f64' +
  '2477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4' +
  'a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754' +
  'fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4' +
  'e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f' +
  '0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b';

export const DH_PRIME: bigint = BigInt('0x' + DH_PRIME_HEX);
export const DH_PRIME_BYTES: Uint8Array = bigIntToBytes(DH_PRIME, 256);

/** The generator we send; isSafeG(3) holds for DH_PRIME (p mod 3 == 2). */
export const DH_G = 3;

/**
 * Whether g generates the subgroup of order (p-1)/2 as the guidelines require, checked by
 * the residue conditions on p for each allowed g (same table as tdlib / the spec).
 */
export function isSafeG(g: number, p: bigint = DH_PRIME): boolean {
  switch (g) {
    case 2: return p % 8n === 7n;
    case 3: return p % 3n === 2n;
    case 4: return true;
    case 5: { const r = p % 5n; return r === 1n || r === 4n; }
    case 6: { const r = p % 24n; return r === 19n || r === 23n; }
    case 7: { const r = p % 7n; return r === 3n || r === 5n || r === 6n; }
    default: return false;
  }
}

const SAFETY_MARGIN = 1n << (2048n - 64n);

/**
 * Security-guideline range check for g_a / g_b: 1 < g_x < p-1 and
 * 2^(2048-64) <= g_x <= p - 2^(2048-64).
 */
export function checkGA(gA: bigint, p: bigint = DH_PRIME): boolean {
  if (!(gA > 1n && gA < p - 1n)) return false;
  return gA >= SAFETY_MARGIN && gA <= p - SAFETY_MARGIN;
}
