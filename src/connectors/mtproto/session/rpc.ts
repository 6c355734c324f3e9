import type { Logger } from '../../../core/logger.ts';
import type { TlObject } from '../tl/codec.ts';

export interface RpcContext {
  authKeyId: Uint8Array;
  sessionId: bigint;
  /** msg_id of the client message carrying the call (the rpc_result's req_msg_id). */
  msgId: bigint;
  logger: Logger;
}

/**
 * The application layer's entry point: one call in, one result out. A call the session layer
 * could not decode with its codec arrives as `{ _: 'raw', bytes }`. Throw RpcError for rpc_error.
 * The server's default is api/'s dispatcher (createApiRpc); a result it returns is usually
 * `{ _: 'raw', bytes }` already encoded in the client's API layer.
 */
export type RpcHandler = (call: TlObject, ctx: RpcContext) => Promise<TlObject>;

export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(readonly code: number, readonly errorMessage: string) {
    super(`${code} ${errorMessage}`);
  }
}
