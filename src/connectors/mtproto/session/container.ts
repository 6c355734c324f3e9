/**
 * msg_container#73f1f8dc messages:vector<%Message> and the message layout inside it
 * (msg_id:long seqno:int bytes:int body). Parsed by hand so each inner body stays raw bytes:
 * bodies the codec cannot decode still reach the RPC layer, and errors name one message.
 */
export { GZIP_PACKED_ID } from '../tl/codec.ts';
export const CONTAINER_ID = 0x73f1f8dc;
export const MSGS_ACK_ID = 0x62d6b459;
export const RPC_RESULT_ID = 0xf35c6d01;

/** Containers the server accepts; Telegram's own limit on messages per container. */
export const MAX_CONTAINER_MESSAGES = 1020;

export interface RawMessage {
  msgId: bigint;
  seqNo: number;
  body: Uint8Array;
}

export function constructorOf(body: Uint8Array): number {
  if (body.length < 4) return 0;
  return new DataView(body.buffer, body.byteOffset, 4).getUint32(0, true);
}

/** null for any malformed container (bad_msg_notification 64). */
export function parseContainer(body: Uint8Array): RawMessage[] | null {
  if (body.length < 8 || constructorOf(body) !== CONTAINER_ID) return null;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const count = view.getInt32(4, true);
  if (count < 0 || count > MAX_CONTAINER_MESSAGES) return null;
  const out: RawMessage[] = [];
  let o = 8;
  for (let i = 0; i < count; i++) {
    if (o + 16 > body.length) return null;
    const msgId = view.getBigInt64(o, true);
    const seqNo = view.getInt32(o + 8, true);
    const len = view.getInt32(o + 12, true);
    o += 16;
    if (len < 4 || len % 4 !== 0 || o + len > body.length) return null;
    out.push({ msgId, seqNo, body: body.subarray(o, o + len) });
    o += len;
  }
  if (o !== body.length) return null;
  return out;
}

export function buildContainer(messages: RawMessage[]): Uint8Array {
  const size = 8 + messages.reduce((n, m) => n + 16 + m.body.length, 0);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, CONTAINER_ID, true);
  view.setInt32(4, messages.length, true);
  let o = 8;
  for (const m of messages) {
    view.setBigInt64(o, m.msgId, true);
    view.setInt32(o + 8, m.seqNo, true);
    view.setInt32(o + 12, m.body.length, true);
    out.set(m.body, o + 16);
    o += 16 + m.body.length;
  }
  return out;
}
