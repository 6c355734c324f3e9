import { generatePrimeSync } from 'node:crypto';

export interface PqChallenge {
  p: bigint;
  q: bigint;
  pq: bigint;
}

/**
 * The proof-of-work of step 1: pq = p*q with p < q two distinct random ~31-bit primes, so pq
 * stays below 2^63 as the spec asks and clients factor it in milliseconds. Prime search is native.
 */
export function newPqChallenge(): PqChallenge {
  for (;;) {
    const a = generatePrimeSync(31, { bigint: true });
    const b = generatePrimeSync(31, { bigint: true });
    if (a === b) continue;
    const [p, q] = a < b ? [a, b] : [b, a];
    return { p, q, pq: p * q };
  }
}
