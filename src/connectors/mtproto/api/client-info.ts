// What a client told us about itself: the layer of invokeWithLayer and the app info of
// initConnection. Telegram keeps both per auth key (they show in account.getAuthorizations);
// a client repeats them on every new connection, so this is a cache that may forget.

/** initConnection's fields, strings capped (they are stored and later shown to the user). */
export interface ClientInfo {
  readonly apiId: number;
  readonly deviceModel: string;
  readonly systemVersion: string;
  readonly appVersion: string;
  readonly systemLangCode: string;
  readonly langPack: string;
  readonly langCode: string;
}

export interface ClientRecord {
  layer?: number;
  info?: ClientInfo;
}

export interface ClientInfoStore {
  get(authKeyIdHex: string): ClientRecord | undefined;
  setLayer(authKeyIdHex: string, layer: number): void;
  setInfo(authKeyIdHex: string, info: ClientInfo): void;
  /** The auth key was destroyed or logged out. */
  delete(authKeyIdHex: string): void;
}

export const MAX_CLIENT_STRING = 128;

/**
 * Process memory, least recently used dropped past `max` keys. Shared state for several
 * instances belongs behind the connector contract's store; a client re-announces its layer on
 * every connection, so a key missing here only means the default layer until it does.
 */
export class MemoryClientInfoStore implements ClientInfoStore {
  readonly #records = new Map<string, ClientRecord>();
  readonly #max: number;

  constructor(max = 100_000) {
    this.#max = max;
  }

  get(authKeyIdHex: string): ClientRecord | undefined {
    const r = this.#records.get(authKeyIdHex);
    if (r !== undefined) {
      this.#records.delete(authKeyIdHex);
      this.#records.set(authKeyIdHex, r);
    }
    return r;
  }

  setLayer(authKeyIdHex: string, layer: number): void {
    this.#upsert(authKeyIdHex).layer = layer;
  }

  setInfo(authKeyIdHex: string, info: ClientInfo): void {
    this.#upsert(authKeyIdHex).info = info;
  }

  delete(authKeyIdHex: string): void {
    this.#records.delete(authKeyIdHex);
  }

  get size(): number {
    return this.#records.size;
  }

  /** Auth key ids (hex) with a record, least recently used first. */
  keys(): string[] {
    return [...this.#records.keys()];
  }

  #upsert(key: string): ClientRecord {
    let r = this.get(key);
    if (r === undefined) {
      r = {};
      this.#records.set(key, r);
      while (this.#records.size > this.#max) {
        const oldest = this.#records.keys().next();
        if (oldest.done === true) break;
        this.#records.delete(oldest.value);
      }
    }
    return r;
  }
}
