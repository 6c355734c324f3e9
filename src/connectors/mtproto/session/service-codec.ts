import { TlCodec } from '../tl/codec.ts';
import { mtprotoSchema } from '../tl/mtproto-schema.ts';

/** The codec of the MTProto service schema (handshake, service messages), built once. */
let shared: TlCodec | undefined;
export function createServiceCodec(): TlCodec {
  return (shared ??= new TlCodec(mtprotoSchema()));
}
