// What else lives and dies with an auth key: its client info (layer, app) and the login made on
// it. A companion hears when its key is loaded (with how long the key is now kept, extended when
// the load recorded a use) and when it is destroyed, so nothing of a key outlives it in the store.
// The one place that remembers how long each key loaded here is kept: companions store their
// records with `ttlOf(key)` and, when the key's use is recorded, extend them with the state
// store's `expire` (never a read and a rewrite, which could bring back a logout made meanwhile).
import type { Logger } from '../../../core/logger.ts';
import type { KeyKept } from './state-auth-key-store.ts';

export interface KeyCompanion {
  /**
   * The key was loaded from the store. `kept`: how long it is kept (`touched`: its ttl was just
   * extended); undefined when not known (a bound temporary key's permanent key could not be read).
   */
  keyLoaded(authKeyIdHex: string, kept: KeyKept | undefined): Promise<void>;
  /** The key was destroyed (destroy_auth_key). */
  keyDeleted(authKeyIdHex: string): Promise<void>;
}

/** Keys whose lifetime is remembered at most; a forgotten one's records are written without a ttl until its next load. */
const REMEMBERED_KEYS = 100_000;

/** The registered companions; a failing one is logged and does not stop the others or the key. */
export class KeyCompanions {
  readonly #companions: KeyCompanion[] = [];
  /** Until when each key loaded here is kept (ms since the epoch), least recently loaded first. */
  readonly #until = new Map<string, number>();

  constructor(private readonly logger: Logger, private readonly now: () => number = Date.now) {}

  add(companion: KeyCompanion): void {
    this.#companions.push(companion);
  }

  /** The store ttl for a record that lives as long as this key: what is left of the key's life; undefined: for good, or not known here. */
  readonly ttlOf = (authKeyIdHex: string): number | undefined => {
    const until = this.#until.get(authKeyIdHex);
    return until === undefined ? undefined : Math.max(1, until - this.now());
  };

  async loaded(authKeyIdHex: string, kept: KeyKept | undefined): Promise<void> {
    if (kept !== undefined) {
      this.#until.delete(authKeyIdHex);
      if (kept.until !== undefined) {
        this.#until.set(authKeyIdHex, kept.until);
        if (this.#until.size > REMEMBERED_KEYS) this.#until.delete(this.#until.keys().next().value as string);
      }
    }
    for (const c of this.#companions) {
      await c.keyLoaded(authKeyIdHex, kept).catch((err: unknown) => this.logger.warn({ err, authKeyId: authKeyIdHex }, 'mtproto: what belongs to an auth key could not follow its lifetime (it is tried again on a later load)'));
    }
  }

  async deleted(authKeyIdHex: string): Promise<void> {
    this.#until.delete(authKeyIdHex);
    for (const c of this.#companions) {
      await c.keyDeleted(authKeyIdHex).catch((err: unknown) => this.logger.warn({ err, authKeyId: authKeyIdHex }, 'mtproto: what belongs to a destroyed auth key could not be removed'));
    }
  }
}
