// The API codec across layers: requests decode by constructor id from any known layer; answers
// are built once as plain objects by constructor NAME and encoded with the definitions of the
// layer the client announced (ApiLayers.pick): that layer's id and flags for each name, fields it
// lacks dropped, fields it has but the object lacks given neutral values (lenientEncode).
import { TlCodec, type TlCodecOptions, type TlObject, type TlValue } from './codec.ts';
import { TlEncodeError } from './errors.ts';
import { apiLayers, type ApiLayers } from './api-layers.ts';
import { parseTypeExpression, type TlConstructor, type TlSchema, type TlType } from './schema.ts';

export interface LayeredCodecOptions {
  /** Limits for decoding client input (see TlCodecOptions); encoding has none. */
  maxDepth?: number;
  maxInflatedBytes?: number;
}

export class LayeredCodec {
  readonly layers: ApiLayers;
  /** Strict decoder over every definition of every layer. */
  readonly requests: TlCodec;
  readonly #decodeOpts: TlCodecOptions;
  readonly #answers = new Map<number, TlCodec>();
  readonly #resultTypes = new WeakMap<TlConstructor, TlType>();

  constructor(layers: ApiLayers = apiLayers(), opts: LayeredCodecOptions = {}) {
    this.layers = layers;
    this.#decodeOpts = {
      ...(opts.maxDepth === undefined ? {} : { maxDepth: opts.maxDepth }),
      ...(opts.maxInflatedBytes === undefined ? {} : { maxInflatedBytes: opts.maxInflatedBytes }),
    };
    this.requests = new TlCodec(layers.anyLayer(), this.#decodeOpts);
  }

  /** A client's call (any known layer); throws TlDecodeError only. Unknown ids in `!X` tails stay raw. */
  decodeRequest(bytes: Uint8Array): TlObject {
    return this.requests.decode(bytes);
  }

  /** The layer answers go out in for a client that announced `announced`. */
  pick(announced: number): number {
    return this.layers.pick(announced);
  }

  /** The answer codec of the layer picked for `announced`. */
  forLayer(announced: number): TlCodec {
    const layer = this.layers.pick(announced);
    let codec = this.#answers.get(layer);
    if (codec === undefined) {
      codec = new TlCodec(this.layers.schema(layer), { ...this.#decodeOpts, lenientEncode: true });
      this.#answers.set(layer, codec);
    }
    return codec;
  }

  schemaFor(announced: number): TlSchema {
    return this.layers.schema(this.layers.pick(announced));
  }

  /** A boxed object in the layer picked for `announced`. Throws TlEncodeError. */
  encode(announced: number, obj: TlObject): Uint8Array {
    return this.forLayer(announced).encode(obj);
  }

  /**
   * The result of `method` in the layer picked for `announced`, typed by that layer's definition
   * of the method (`Vector<User>`, `Bool`, `help.AppConfig`...). A method that layer lacks (the
   * client is newer than it) is typed by its newest known definition.
   */
  encodeResult(announced: number, method: string, value: TlValue): Uint8Array {
    const schema = this.schemaFor(announced);
    const def = functionIn(schema, method) ?? functionIn(this.layers.anyLayer(), method);
    if (def === undefined) throw new TlEncodeError(`no method "${method}" in any known layer`);
    let type = this.#resultTypes.get(def);
    if (type === undefined) {
      type = parseTypeExpression(def.type);
      this.#resultTypes.set(def, type);
    }
    return this.forLayer(announced).encodeAs(type, value);
  }
}

function functionIn(schema: TlSchema, name: string): TlConstructor | undefined {
  const c = schema.byName.get(name);
  return c !== undefined && c.isFunction ? c : undefined;
}
