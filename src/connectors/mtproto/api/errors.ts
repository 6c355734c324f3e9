// The rpc_errors the API layer answers with (core.telegram.org/api/errors): code and message as
// Telegram sends them where Telegram has one, so stock clients take their usual path.
import { RpcError } from '../session/rpc.ts';

export const apiErrors = {
  /** Not an API method of any known layer (or not a method at all). */
  methodInvalid: () => new RpcError(400, 'INPUT_METHOD_INVALID'),
  /** A known method whose parameters hold a constructor of no known layer. */
  constructorInvalid: () => new RpcError(400, 'INPUT_CONSTRUCTOR_INVALID'),
  /** Parameters that do not deserialize (truncated, wrong types, trailing bytes...). */
  fetchError: () => new RpcError(400, 'INPUT_FETCH_ERROR'),
  /** The auth key has no logged-in user: what Telegram answers before login. */
  authKeyUnregistered: () => new RpcError(401, 'AUTH_KEY_UNREGISTERED'),
  /** A known method the bridge does not serve (yet): a clear 400 rather than a hang. */
  notImplemented: () => new RpcError(400, 'METHOD_NOT_IMPLEMENTED'),
  /** invokeWithLayer with a layer that is not a positive number. */
  layerInvalid: () => new RpcError(400, 'LAYER_INVALID'),
  /** invoke* wrappers nested deeper than any client does. */
  tooDeep: () => new RpcError(400, 'INPUT_REQUEST_TOO_LONG'),
  internal: () => new RpcError(500, 'INTERNAL'),
  /** A handler that did not answer within the dispatcher's deadline. */
  handlerTimeout: () => new RpcError(500, 'HANDLER_TIMEOUT'),
} as const;
