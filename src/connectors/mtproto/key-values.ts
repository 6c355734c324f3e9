// What a client library needs to trust this server's RSA key, each in the form it takes it
// (`switchboard keygen` and `switchboard mtproto-key` print them; docs/mtproto.md, "Pointing a
// client at Switchboard"): gramjs files keys under the signed 64-bit fingerprint in decimal with
// the modulus in decimal; @mtproto/core takes modulus and exponent in hex; Telethon and mtcute the
// PKCS#1 PEM.
import { createPublicKey } from 'node:crypto';
import { bytesToBigInt } from './crypto/bigint.ts';
import { rsaFingerprint } from './crypto/rsa.ts';

export interface PublicKeyValues {
  /** 16 hex digits of the unsigned fingerprint (what the log, the banner and mtcute show). */
  fingerprintHex: string;
  /** The same 64 bits as a signed long, in decimal (gramjs `_serverKeys` key, the wire's `long`). */
  fingerprintSigned: string;
  modulusDecimal: string;
  modulusHex: string;
  exponent: string;
  exponentHex: string;
  /** -----BEGIN RSA PUBLIC KEY----- (PKCS#1), as keygen writes FILE.pub. */
  pkcs1Pem: string;
}

/** The public values of an RSA key PEM: a private key (PKCS#8 or PKCS#1) or its public key (PKCS#1 or SPKI). */
export function publicKeyValues(pem: string): PublicKeyValues {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'rsa') throw new Error('not an RSA key');
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new Error('RSA key without n/e');
  const n = bytesToBigInt(new Uint8Array(Buffer.from(jwk.n, 'base64url')));
  const e = bytesToBigInt(new Uint8Array(Buffer.from(jwk.e, 'base64url')));
  const fingerprint = rsaFingerprint(n, e);
  return {
    fingerprintHex: fingerprint.toString(16).padStart(16, '0'),
    fingerprintSigned: BigInt.asIntN(64, fingerprint).toString(),
    modulusDecimal: n.toString(),
    modulusHex: n.toString(16),
    exponent: e.toString(),
    exponentHex: e.toString(16),
    pkcs1Pem: key.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}
