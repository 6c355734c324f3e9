// What else lives and dies with an auth key: its client info (open-stores.ts wires that one
// itself) and, registered by the chat layer, the login made on it. A companion hears when its
// key is loaded (with how long the key is now kept, extended when the load recorded a use) and
// when it is destroyed, so nothing of a key outlives it in the store.
import type { Logger } from '../../../core/logger.ts';
import type { KeyKept } from './state-auth-key-store.ts';

export interface KeyCompanion {
  /** The key was loaded from the store; `kept.touched`: its ttl was just extended to `kept.until`. */
  keyLoaded(authKeyIdHex: string, kept: KeyKept): Promise<void>;
  /** The key was destroyed (destroy_auth_key). */
  keyDeleted(authKeyIdHex: string): Promise<void>;
}

/** The registered companions; a failing one is logged and does not stop the others or the key. */
export class KeyCompanions {
  readonly #companions: KeyCompanion[] = [];

  constructor(private readonly logger: Logger) {}

  add(companion: KeyCompanion): void {
    this.#companions.push(companion);
  }

  async loaded(authKeyIdHex: string, kept: KeyKept): Promise<void> {
    for (const c of this.#companions) {
      await c.keyLoaded(authKeyIdHex, kept).catch((err: unknown) => this.logger.warn({ err, authKeyId: authKeyIdHex }, 'mtproto: what belongs to an auth key could not follow its lifetime (it is tried again on a later load)'));
    }
  }

  async deleted(authKeyIdHex: string): Promise<void> {
    for (const c of this.#companions) {
      await c.keyDeleted(authKeyIdHex).catch((err: unknown) => this.logger.warn({ err, authKeyId: authKeyIdHex }, 'mtproto: what belongs to a destroyed auth key could not be removed'));
    }
  }
}
