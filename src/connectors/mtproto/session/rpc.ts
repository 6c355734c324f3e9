import type { Logger } from '../../../core/logger.ts';
import type { TlObject } from '../tl/codec.ts';

/**
 * The way back to one client session on one connection, for what the server sends unasked
 * (updates). Telegram sends a session's updates over the connection it last used
 * (core.telegram.org/api/updates); the API layer registers the channel of each call it answers.
 */
export interface UpdateChannel {
  /** `<auth_key_id hex>:<session_id hex>`: the session this channel reaches. */
  readonly key: string;
  readonly authKeyIdHex: string;
  readonly sessionId: bigint;
  /** False once the connection closed: pushes are then dropped. */
  readonly open: boolean;
  /** Sends one content-related message (an encoded Updates object) to the session now, in its own frame. */
  push(body: Uint8Array): void;
  /** Runs once when the connection closes (at once if it already has). */
  onClose(listener: () => void): void;
}

export interface RpcContext {
  authKeyId: Uint8Array;
  sessionId: bigint;
  /** msg_id of the client message carrying the call (the rpc_result's req_msg_id). */
  msgId: bigint;
  logger: Logger;
  /** The session's channel on the connection that carried the call (absent for in-process callers). */
  channel?: UpdateChannel;
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
