// The API layer behind the session layer's RpcHandler: decodes a call (any known layer),
// unwraps invokeWithLayer / initConnection / invokeWithoutUpdates / invokeAfterMsg(s) (recording
// the layer and app info per auth key), finds the method's handler and encodes its result in
// the client's layer. Every call gets an answer at once: unknown methods, undecodable input,
// missing login and failing handlers all end in an rpc_error, and the session goes on.
import type { Logger } from '../../../core/logger.ts';
import { counter, type Registry } from '../../../core/metrics.ts';
import { isRaw, rawObject, type TlObject, type TlValue } from '../tl/codec.ts';
import { TlDecodeError, TlEncodeError } from '../tl/errors.ts';
import type { LayeredCodec } from '../tl/layered-codec.ts';
import { authKeyIdHex } from '../store/auth-key-store.ts';
import { RpcError, type RpcContext, type RpcHandler } from '../session/rpc.ts';
import type { ApiCallContext, AuthorizationLookup } from './context.ts';
import { MAX_CLIENT_STRING, type ClientInfo, type ClientInfoStore } from './client-info.ts';
import { apiErrors } from './errors.ts';
import { servedBeforeLogin } from './no-login.ts';
import type { MethodRegistry } from './registry.ts';
import { clip } from '../../../core/text.ts';

export interface ApiDispatcherOptions {
  codec: LayeredCodec;
  methods: MethodRegistry;
  clients: ClientInfoStore;
  authorizations: AuthorizationLookup;
  registry: Registry;
  logger: Logger;
  now?: () => number;
  /**
   * A handler that has not answered by then gets the client rpc_error 500 HANDLER_TIMEOUT: the
   * connection handles its frames in order, so one stuck call would hold up every later one.
   */
  handlerTimeoutMs?: number;
}

export const DEFAULT_HANDLER_TIMEOUT_MS = 10_000;

/** invoke* wrappers deeper than this are refused (clients nest two or three). */
export const MAX_WRAPPERS = 8;

/** Wrappers whose only effect here is to run the inner query. */
const PASS_THROUGH = new Set(['invokeWithoutUpdates', 'invokeAfterMsg', 'invokeAfterMsgs']);

export function createApiDispatcher(opts: ApiDispatcherOptions): RpcHandler {
  const { codec, methods, clients, authorizations } = opts;
  const now = opts.now ?? Date.now;
  const timeoutMs = opts.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  const calls = counter(opts.registry, 'switchboard_mtproto_api_calls_total', 'API calls by method and outcome (ok or the rpc_error code)', ['method', 'outcome']);
  const anyLayer = codec.layers.anyLayer();

  function decode(call: TlObject, log: Logger): TlObject {
    // The session layer hands over what its service schema does not know, raw.
    if (!isRaw(call)) throw apiErrors.methodInvalid();
    const bytes = call.bytes;
    const id = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) : undefined;
    const def = id === undefined ? undefined : anyLayer.byId.get(id);
    if (def === undefined || !def.isFunction) throw apiErrors.methodInvalid();
    try {
      return codec.decodeRequest(bytes);
    } catch (err) {
      if (!(err instanceof TlDecodeError)) throw err;
      log.info({ method: def.name, reason: err.code, detail: err.message }, 'mtproto api call does not decode');
      throw err.code === 'unknown-constructor' || err.code === 'unexpected-constructor' ? apiErrors.constructorInvalid() : apiErrors.fetchError();
    }
  }

  /** Peels the invoke* wrappers off, applying what they say; returns the method call. */
  function unwrap(call: TlObject, keyHex: string): { method: TlObject; withoutUpdates: boolean } {
    let obj = call;
    let withoutUpdates = false;
    for (let depth = 0; ; depth++) {
      if (depth > MAX_WRAPPERS) throw apiErrors.tooDeep();
      if (obj._ === 'invokeWithLayer') {
        const layer = obj['layer'];
        if (typeof layer !== 'number' || layer <= 0) throw apiErrors.layerInvalid();
        clients.setLayer(keyHex, layer);
      } else if (obj._ === 'initConnection') {
        clients.setInfo(keyHex, clientInfoOf(obj));
      } else if (obj._ === 'invokeWithoutUpdates') {
        withoutUpdates = true;
      } else if (!PASS_THROUGH.has(obj._)) {
        break;
      }
      const inner = obj['query'];
      if (typeof inner !== 'object' || inner === null || Array.isArray(inner) || inner instanceof Uint8Array) throw apiErrors.fetchError();
      obj = inner;
      // An inner query of no known layer stays raw in the decoded wrapper.
      if (isRaw(obj)) throw apiErrors.methodInvalid();
      if (anyLayer.byName.get(obj._)?.isFunction !== true) throw apiErrors.methodInvalid();
    }
    return { method: obj, withoutUpdates };
  }

  async function run(method: TlObject, ctx: ApiCallContext): Promise<TlValue> {
    const handler = methods.get(method._);
    if (handler === undefined) {
      throw ctx.user === undefined && !servedBeforeLogin(method._) ? apiErrors.authKeyUnregistered() : apiErrors.notImplemented();
    }
    if (handler.auth === 'user' && ctx.user === undefined) throw apiErrors.authKeyUnregistered();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ctx.logger.warn({ method: method._, timeoutMs }, 'mtproto api handler did not answer in time');
        reject(apiErrors.handlerTimeout());
      }, timeoutMs);
    });
    try {
      return await Promise.race([Promise.resolve().then(() => handler.handle(method, ctx)), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  return async (call: TlObject, rpc: RpcContext): Promise<TlObject> => {
    const keyHex = authKeyIdHex(rpc.authKeyId);
    let name = 'undecodable';
    try {
      const { method, withoutUpdates } = unwrap(decode(call, rpc.logger), keyHex);
      name = method._;
      const record = clients.get(keyHex);
      const announced = record?.layer;
      // A key that never announced a layer gets the newest (clients announce on every connection).
      const wanted = announced ?? codec.layers.newest;
      const layer = codec.pick(wanted);
      const ctx: ApiCallContext = {
        authKeyId: rpc.authKeyId, authKeyIdHex: keyHex, sessionId: rpc.sessionId, msgId: rpc.msgId,
        announcedLayer: announced, layer, schema: codec.layers.schema(layer), client: record?.info,
        user: await authorizations.userOf(keyHex), logger: rpc.logger, now: Math.floor(now() / 1000),
        channel: rpc.channel, withoutUpdates,
      };
      const value = await run(method, ctx);
      let bytes: Uint8Array;
      try {
        bytes = codec.encodeResult(wanted, method._, value);
      } catch (err) {
        if (!(err instanceof TlEncodeError)) throw err;
        // The handler built something this layer cannot carry: its bug, the client gets a 500.
        rpc.logger.error({ err, method: method._, layer }, 'mtproto api result does not encode in the client layer');
        throw apiErrors.internal();
      }
      calls.inc({ method: name, outcome: 'ok' });
      return rawObject(bytes);
    } catch (err) {
      calls.inc({ method: name, outcome: err instanceof RpcError ? String(err.code) : '500' });
      throw err;
    }
  };
}

function clientInfoOf(init: TlObject): ClientInfo {
  const str = (field: string): string => {
    const v = init[field];
    return typeof v === 'string' ? clip(v, MAX_CLIENT_STRING) : '';
  };
  const apiId = init['api_id'];
  return {
    apiId: typeof apiId === 'number' ? apiId : 0,
    deviceModel: str('device_model'),
    systemVersion: str('system_version'),
    appVersion: str('app_version'),
    systemLangCode: str('system_lang_code'),
    langPack: str('lang_pack'),
    langCode: str('lang_code'),
  };
}
