import { TlCodec } from '../tl/codec.ts';
import { mtprotoSchema } from '../tl/mtproto-schema.ts';

/**
 * A codec of the MTProto service schema (handshake, service messages). Each server builds its
 * own with maxInflatedBytes derived from its frame limit: gzip_packed is inflated by the codec at
 * any depth (top level, inside msg_copy, rpc_result...), so the cap must live here.
 */
export function createServiceCodec(opts: { maxInflatedBytes?: number } = {}): TlCodec {
  return new TlCodec(mtprotoSchema(), opts.maxInflatedBytes === undefined ? {} : { maxInflatedBytes: opts.maxInflatedBytes });
}
