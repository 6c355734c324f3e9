// Loads the published known-answer vectors: test/fixtures/mtproto-vectors.json, a verbatim copy
// of the project's shared vectors file, so a bare clone runs the suite. Each group names its
// published source (OpenSSL's test/igetest.c, grammers' grammers-crypto tests, ...) in the file.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const VECTORS_URL = new URL('../fixtures/mtproto-vectors.json', import.meta.url);

export interface IgeVector { source: string; op: 'encrypt' | 'decrypt'; key: string; iv: string; input: string; output: string }

export interface MtprotoVectors {
  aes_ige_openssl: IgeVector[];
  mtproto2_grammers: Record<string, string>;
  mtproto_auth_key_sample: Record<string, string>;
}

export function loadVectors(): MtprotoVectors {
  const path = fileURLToPath(VECTORS_URL);
  if (!existsSync(path)) {
    throw new Error(`MTProto vectors missing: expected ${path} (a copy of the published vectors, part of the repository)`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as MtprotoVectors;
}

export function hex(s: string | undefined): Uint8Array {
  if (s === undefined) throw new Error('vector field missing');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
