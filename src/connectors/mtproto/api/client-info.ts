// What a client told us about itself: the layer of invokeWithLayer and the app info of
// initConnection. Telegram keeps both per auth key (they show in account.getAuthorizations).
// Stock clients do NOT repeat them on every connection: gramjs re-connects after a network error
// or a server restart and goes straight on with its calls (getMe), so the layer answers are
// encoded in must outlive the process and be known to every instance (StoredClientInfo).
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import type { KeyCompanion } from '../store/key-companions.ts';
import type { KeyKept } from '../store/state-auth-key-store.ts';
import { clip } from '../../../core/text.ts';

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

/** Process memory, least recently used dropped past `max` keys (tests, and StoredClientInfo's cache). */
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

const CLIENT_PREFIX = 'client:';

/**
 * Client records in the bus's state store (`client:<auth_key_id hex>`, JSON), in front of a
 * memory cache the dispatcher reads synchronously. The cache is filled before a key's first call
 * in this process: the auth key store loads a key and `preload` runs with it (server wiring), so
 * the first call after a restart already knows the layer. Writes go out only when a record
 * changes (clients announce the same layer and app on every connect), without blocking the call.
 */
export class StoredClientInfo implements ClientInfoStore, KeyCompanion {
  readonly #state: StateStore;
  readonly #logger: Logger;
  readonly #memory: MemoryClientInfoStore;
  /** The store ttl of a key's records (store/key-companions.ts): a record lives as long as its key. */
  readonly #ttlOf: (authKeyIdHex: string) => number | undefined;

  constructor(state: StateStore, logger: Logger, opts: { max?: number; ttlOf?: (authKeyIdHex: string) => number | undefined } = {}) {
    this.#state = state;
    this.#logger = logger;
    this.#memory = new MemoryClientInfoStore(opts.max);
    this.#ttlOf = opts.ttlOf ?? (() => undefined);
  }

  /** Its key was loaded: the record comes into the cache, and its ttl follows the key's when that was extended. */
  async keyLoaded(authKeyIdHex: string, kept: KeyKept | undefined): Promise<void> {
    await this.preload(authKeyIdHex);
    const ttl = this.#ttlOf(authKeyIdHex);
    if (kept?.touched === true && ttl !== undefined) await this.#state.expire(CLIENT_PREFIX + authKeyIdHex, ttl);
  }

  async keyDeleted(authKeyIdHex: string): Promise<void> {
    this.delete(authKeyIdHex);
  }

  /** Loads the stored record of a key into the cache (the auth key store loads the key first). */
  async preload(authKeyIdHex: string): Promise<void> {
    if (this.#memory.get(authKeyIdHex) !== undefined) return;
    let raw: string | undefined;
    try {
      raw = await this.#state.get(CLIENT_PREFIX + authKeyIdHex);
    } catch (err) {
      // The key itself loaded: serve it with the default layer rather than refuse it.
      this.#logger.warn({ err, authKeyId: authKeyIdHex }, 'mtproto client info could not be read: the newest layer is served until the client announces one');
      return;
    }
    const record = raw === undefined ? undefined : parseRecord(raw);
    if (raw !== undefined && record === undefined) this.#logger.warn({ authKeyId: authKeyIdHex }, 'mtproto stored client info is malformed: ignored');
    if (record === undefined || this.#memory.get(authKeyIdHex) !== undefined) return;
    if (record.layer !== undefined) this.#memory.setLayer(authKeyIdHex, record.layer);
    if (record.info !== undefined) this.#memory.setInfo(authKeyIdHex, record.info);
  }

  get(authKeyIdHex: string): ClientRecord | undefined {
    return this.#memory.get(authKeyIdHex);
  }

  setLayer(authKeyIdHex: string, layer: number): void {
    if (this.#memory.get(authKeyIdHex)?.layer === layer) return;
    this.#memory.setLayer(authKeyIdHex, layer);
    this.#persist(authKeyIdHex);
  }

  setInfo(authKeyIdHex: string, info: ClientInfo): void {
    const known = this.#memory.get(authKeyIdHex)?.info;
    if (known !== undefined && sameInfo(known, info)) return;
    this.#memory.setInfo(authKeyIdHex, info);
    this.#persist(authKeyIdHex);
  }

  delete(authKeyIdHex: string): void {
    this.#memory.delete(authKeyIdHex);
    this.#state.delete(CLIENT_PREFIX + authKeyIdHex).catch((err: unknown) => {
      this.#logger.warn({ err, authKeyId: authKeyIdHex }, 'mtproto client info could not be deleted (it expires with nothing)');
    });
  }

  #persist(authKeyIdHex: string): void {
    const record = this.#memory.get(authKeyIdHex);
    if (record === undefined) return;
    const ttl = this.#ttlOf(authKeyIdHex);
    // Whole record per write; writes of one process reach the store in call order.
    this.#state.set(CLIENT_PREFIX + authKeyIdHex, JSON.stringify(record), ttl).catch((err: unknown) => {
      this.#logger.warn({ err, authKeyId: authKeyIdHex }, 'mtproto client info could not be stored: another instance or a restart serves the newest layer until the client announces again');
    });
  }
}

function sameInfo(a: ClientInfo, b: ClientInfo): boolean {
  return a.apiId === b.apiId && a.deviceModel === b.deviceModel && a.systemVersion === b.systemVersion && a.appVersion === b.appVersion
    && a.systemLangCode === b.systemLangCode && a.langPack === b.langPack && a.langCode === b.langCode;
}

/** A stored record, checked field by field (it crossed a process boundary); undefined if malformed. */
function parseRecord(raw: string): ClientRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  const out: ClientRecord = {};
  if (o['layer'] !== undefined) {
    if (typeof o['layer'] !== 'number' || !Number.isInteger(o['layer']) || o['layer'] <= 0) return undefined;
    out.layer = o['layer'];
  }
  if (o['info'] !== undefined) {
    const i = o['info'] as Record<string, unknown> | null;
    if (i === null || typeof i !== 'object' || typeof i['apiId'] !== 'number') return undefined;
    const str = (k: string): string | undefined => (typeof i[k] === 'string' ? clip(i[k] as string, MAX_CLIENT_STRING) : undefined);
    const fields = ['deviceModel', 'systemVersion', 'appVersion', 'systemLangCode', 'langPack', 'langCode'] as const;
    const values = fields.map(str);
    if (values.some((x) => x === undefined)) return undefined;
    const [deviceModel, systemVersion, appVersion, systemLangCode, langPack, langCode] = values as string[];
    out.info = { apiId: i['apiId'] as number, deviceModel: deviceModel!, systemVersion: systemVersion!, appVersion: appVersion!, systemLangCode: systemLangCode!, langPack: langPack!, langCode: langCode! };
  }
  return out;
}
