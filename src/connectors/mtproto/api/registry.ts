// Name -> handler for the API methods the bridge serves. Each part of the connector (help, auth,
// messages, updates, upload...) registers its handlers; the dispatcher looks them up by the
// method's name, which is the same in every layer.
import type { TlObject, TlValue } from '../tl/codec.ts';
import type { ApiCallContext } from './context.ts';

export interface MethodHandler {
  /**
   * 'none': callable before login (help.getConfig, auth.sendCode...); 'user': needs a logged-in
   * user, otherwise the dispatcher answers 401 AUTH_KEY_UNREGISTERED without calling it.
   */
  readonly auth: 'none' | 'user';
  /**
   * The call's parameters decoded (any layer's definition of the method); returns the result as
   * a plain value built by constructor name, encoded by the dispatcher in ctx.layer. Throw
   * RpcError for an rpc_error. Must not block: a slow dependency gets a deadline of its own.
   */
  handle(call: TlObject, ctx: ApiCallContext): Promise<TlValue> | TlValue;
}

export class MethodRegistry {
  readonly #handlers = new Map<string, MethodHandler>();

  /** Registers `name` (e.g. 'help.getConfig'); a second registration of a name is a bug. */
  register(name: string, handler: MethodHandler): this {
    if (this.#handlers.has(name)) throw new Error(`API method ${name} registered twice`);
    this.#handlers.set(name, handler);
    return this;
  }

  get(name: string): MethodHandler | undefined {
    return this.#handlers.get(name);
  }

  get names(): string[] {
    return [...this.#handlers.keys()];
  }
}
