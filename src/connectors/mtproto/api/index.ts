// The API layer as the session layer's RpcHandler, with the methods served today (help.*).
// Later parts (login, chats, updates, files) register their handlers on the same registry
// (`extend`) and provide the AuthorizationLookup; the dispatcher stays as it is.
import type { Logger } from '../../../core/logger.ts';
import type { Registry } from '../../../core/metrics.ts';
import type { RpcHandler } from '../session/rpc.ts';
import { LayeredCodec } from '../tl/layered-codec.ts';
import { MemoryClientInfoStore, type ClientInfoStore } from './client-info.ts';
import { noAuthorizations, type AuthorizationLookup } from './context.ts';
import type { DcAddress } from './dc.ts';
import { createApiDispatcher } from './dispatcher.ts';
import { registerHelp } from './methods/help.ts';
import type { ConfigLimits } from './methods/config.ts';
import { MethodRegistry } from './registry.ts';

export interface ApiOptions {
  /** This server as clients reach it; read per call (the port is known only after start). */
  dc: () => DcAddress;
  registry: Registry;
  logger: Logger;
  /** Cap on gzip_packed inflation inside calls (the server passes 8x its frame limit). */
  maxInflatedBytes?: number;
  clients?: ClientInfoStore;
  authorizations?: AuthorizationLookup;
  limits?: ConfigLimits;
  /** Registers further methods next to help.*. */
  extend?: (methods: MethodRegistry) => void;
  now?: () => number;
  /** Deadline per handler call (default 10 s), then rpc_error 500 HANDLER_TIMEOUT. */
  handlerTimeoutMs?: number;
}

export function createApiRpc(opts: ApiOptions): RpcHandler {
  const methods = new MethodRegistry();
  registerHelp(methods, { dc: opts.dc, ...(opts.limits ? { limits: opts.limits } : {}) });
  opts.extend?.(methods);
  return createApiDispatcher({
    codec: new LayeredCodec(undefined, opts.maxInflatedBytes === undefined ? {} : { maxInflatedBytes: opts.maxInflatedBytes }),
    methods,
    clients: opts.clients ?? new MemoryClientInfoStore(),
    authorizations: opts.authorizations ?? noAuthorizations,
    registry: opts.registry,
    logger: opts.logger,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.handlerTimeoutMs === undefined ? {} : { handlerTimeoutMs: opts.handlerTimeoutMs }),
  });
}
