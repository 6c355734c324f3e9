import { MAX_PADDING, MIN_PADDING } from '../crypto/mtproto2.ts';

/**
 * The plaintext inside an encrypted message:
 * salt:long session_id:long msg_id:long seq_no:int message_data_length:int data padding(12..1024)
 */
export interface InnerEnvelope {
  salt: bigint;
  sessionId: bigint;
  msgId: bigint;
  seqNo: number;
  body: Uint8Array;
}

export const ENVELOPE_HEADER = 32;

/** null when message_data_length disagrees with the decrypted size or the padding is out of range. */
export function parseEnvelope(plain: Uint8Array): InnerEnvelope | null {
  if (plain.length < ENVELOPE_HEADER + MIN_PADDING) return null;
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  const length = view.getInt32(28, true);
  if (length < 4 || length % 4 !== 0) return null;
  const padding = plain.length - ENVELOPE_HEADER - length;
  if (padding < MIN_PADDING || padding > MAX_PADDING) return null;
  return {
    salt: view.getBigInt64(0, true),
    sessionId: view.getBigInt64(8, true),
    msgId: view.getBigInt64(16, true),
    seqNo: view.getInt32(24, true),
    body: plain.subarray(ENVELOPE_HEADER, ENVELOPE_HEADER + length),
  };
}

export function buildEnvelope(e: InnerEnvelope): Uint8Array {
  const out = new Uint8Array(ENVELOPE_HEADER + e.body.length);
  const view = new DataView(out.buffer);
  view.setBigInt64(0, BigInt.asIntN(64, e.salt), true);
  view.setBigInt64(8, BigInt.asIntN(64, e.sessionId), true);
  view.setBigInt64(16, e.msgId, true);
  view.setInt32(24, e.seqNo, true);
  view.setInt32(28, e.body.length, true);
  out.set(e.body, ENVELOPE_HEADER);
  return out;
}

/** The frame on the wire: auth_key_id(8) msg_key(16) encrypted_data. */
export function splitEncrypted(payload: Uint8Array): { authKeyId: Uint8Array; msgKey: Uint8Array; cipher: Uint8Array } | null {
  // Smallest valid plaintext: 32-byte header + 4-byte body + 12 padding = 48 bytes.
  if (payload.length < 24 + 48 || (payload.length - 24) % 16 !== 0) return null;
  return { authKeyId: payload.subarray(0, 8), msgKey: payload.subarray(8, 24), cipher: payload.subarray(24) };
}
