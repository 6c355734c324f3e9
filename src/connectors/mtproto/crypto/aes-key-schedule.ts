// AES key expansion in exactly the layout @noble/ciphers' `unsafe.encrypt`/`unsafe.decrypt`
// expect (little-endian words; decryption keys reversed and InvMixColumns-adjusted for the
// equivalent inverse cipher). MTProto derives a new AES key for every message, and noble's
// own expandKeyLE/expandKeyDecLE (built for long-lived keys) cost about as much as
// encrypting 1 KiB; these small-table versions are several times cheaper. Tests check them
// word-for-word against noble's.

function gmul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    const hi = a & 0x80;
    a = (a << 1) & 0xff;
    if (hi) a ^= 0x1b;
    b >>= 1;
  }
  return p;
}

const SBOX = (() => {
  const box = new Uint8Array(256);
  for (let x = 0; x < 256; x++) {
    // multiplicative inverse by search (init-time only), then the affine map
    let inv = 0;
    if (x) for (let y = 1; y < 256; y++) if (gmul(x, y) === 1) { inv = y; break; }
    let s = inv;
    for (let r = 1; r < 5; r++) s ^= ((inv << r) | (inv >> (8 - r))) & 0xff;
    box[x] = s ^ 0x63;
  }
  return box;
})();

// InvMixColumns contributions of the byte in lane k, packed as LE words.
const IMC = (() => {
  const rows = [[14, 9, 13, 11], [11, 14, 9, 13], [13, 11, 14, 9], [9, 13, 11, 14]];
  return rows.map((m) => {
    const t = new Uint32Array(256);
    for (let b = 0; b < 256; b++) {
      t[b] = (gmul(b, m[0]!) | (gmul(b, m[1]!) << 8) | (gmul(b, m[2]!) << 16) | (gmul(b, m[3]!) << 24)) >>> 0;
    }
    return t;
  }) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
})();

const subWord = (t: number): number =>
  (SBOX[t & 0xff]! | (SBOX[(t >>> 8) & 0xff]! << 8) | (SBOX[(t >>> 16) & 0xff]! << 16) | (SBOX[t >>> 24]! << 24)) >>> 0;

/** Forward schedule: (Nr+1)*4 LE words, same as noble's expandKeyLE. */
export function expandEncKey(key: Uint8Array): Uint32Array {
  const nk = key.length >>> 2;
  const xk = new Uint32Array(key.length + 28);
  for (let i = 0; i < nk; i++) {
    const o = i * 4;
    xk[i] = (key[o]! | (key[o + 1]! << 8) | (key[o + 2]! << 16) | (key[o + 3]! << 24)) >>> 0;
  }
  let rcon = 1;
  for (let i = nk; i < xk.length; i++) {
    let t = xk[i - 1]!;
    if (i % nk === 0) {
      t = subWord(((t >>> 8) | (t << 24)) >>> 0) ^ rcon;
      rcon = gmul(rcon, 2);
    } else if (nk > 6 && i % nk === 4) {
      t = subWord(t);
    }
    xk[i] = (xk[i - nk]! ^ t) >>> 0;
  }
  return xk;
}

/** Decryption schedule for the equivalent inverse cipher, same as noble's expandKeyDecLE. */
export function expandDecKey(key: Uint8Array): Uint32Array {
  const ek = expandEncKey(key);
  const n = ek.length;
  const dk = new Uint32Array(n);
  for (let i = 0; i < n; i += 4) for (let j = 0; j < 4; j++) dk[i + j] = ek[n - i - 4 + j]!;
  const [m0, m1, m2, m3] = IMC;
  for (let i = 4; i < n - 4; i++) {
    const w = dk[i]!;
    dk[i] = (m0[w & 0xff]! ^ m1[(w >>> 8) & 0xff]! ^ m2[(w >>> 16) & 0xff]! ^ m3[w >>> 24]!) >>> 0;
  }
  return dk;
}

/** Inverse S-box. */
export const INV_SBOX = (() => {
  const inv = new Uint8Array(256);
  for (let x = 0; x < 256; x++) inv[SBOX[x]!] = x;
  return inv;
})();

/**
 * Classic 1 KiB decryption T-tables in noble's LE lane layout: TD[k][b] = IMC[k][INV_SBOX[b]]
 * (InvSubBytes + InvMixColumns of the byte in lane k). 4 KiB in all, L1-resident, unlike noble's
 * merged 256 KiB tables; aes-ige.ts's decryption rounds use them.
 */
export const TD = IMC.map((m) => {
  const t = new Uint32Array(256);
  for (let b = 0; b < 256; b++) t[b] = m[INV_SBOX[b]!]!;
  return t;
}) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
