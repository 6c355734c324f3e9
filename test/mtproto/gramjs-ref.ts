// Typed handles on the parts of gramjs (CommonJS, the client we are tested against) that the
// tests use as an independent reference implementation.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface GramIge { encryptIge(b: Buffer): Buffer; decryptIge(b: Buffer): Buffer }
export type GramIgeCtor = new (key: Buffer, iv: Buffer) => GramIge;

export const GramIGE: GramIgeCtor = (require('telegram/crypto/IGE.js') as { IGE: GramIgeCtor }).IGE;

interface BigIntegerLike { toString(): string }
export interface GramHelpers {
  sha1(b: Buffer): Promise<Buffer>;
  readBigIntFromBuffer(b: Buffer, little?: boolean, signed?: boolean): BigIntegerLike;
  crc32(b: Buffer | string): number;
}
export const gramHelpers = require('telegram/Helpers.js') as GramHelpers;

export const gramSerializeBytes = (require('telegram/tl/generationHelpers.js') as {
  serializeBytes(b: Buffer | string): Buffer;
}).serializeBytes;

export interface GramServerKey { n: BigIntegerLike; e: number }
export const gramServerKeys = (require('telegram/crypto/RSA.js') as {
  _serverKeys: Map<string, GramServerKey>;
})._serverKeys;
