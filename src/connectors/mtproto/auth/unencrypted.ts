/**
 * Unencrypted MTProto messages (auth_key_id = 0), used only for the auth-key handshake:
 * auth_key_id:long(0) message_id:long message_data_length:int message_data:bytes
 */

export interface UnencryptedMessage {
  msgId: bigint;
  body: Uint8Array;
}

export const UNENCRYPTED_HEADER = 20;

export function isUnencrypted(payload: Uint8Array): boolean {
  if (payload.length < 8) return false;
  for (let i = 0; i < 8; i++) if (payload[i] !== 0) return false;
  return true;
}

/** null when the envelope is malformed (the caller answers with its uniform failure). */
export function parseUnencrypted(payload: Uint8Array, maxTrailing = 0): UnencryptedMessage | null {
  if (payload.length < UNENCRYPTED_HEADER + 4 || !isUnencrypted(payload)) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const msgId = view.getBigInt64(8, true);
  const length = view.getInt32(16, true);
  // Exact length (trailing bytes would be unauthenticated) except the transport's own padding.
  const trailing = payload.length - UNENCRYPTED_HEADER - length;
  if (length <= 0 || length % 4 !== 0 || trailing < 0 || trailing > maxTrailing) return null;
  return { msgId, body: payload.subarray(UNENCRYPTED_HEADER, UNENCRYPTED_HEADER + length) };
}

export function buildUnencrypted(msgId: bigint, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(UNENCRYPTED_HEADER + body.length);
  const view = new DataView(out.buffer);
  view.setBigInt64(8, msgId, true);
  view.setInt32(16, body.length, true);
  out.set(body, UNENCRYPTED_HEADER);
  return out;
}
