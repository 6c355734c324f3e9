// The sessions on this instance that get updates, per logged-in user: every API call of a
// logged-in user (except those in invokeWithoutUpdates) registers the channel of its session and
// connection, as Telegram does; a closed connection leaves. Pushing encodes an update once per
// layer the user's sessions speak.
import type { Logger } from '../../../core/logger.ts';
import type { UpdateChannel } from '../session/rpc.ts';
import type { TlObject } from '../tl/codec.ts';
import type { LayeredCodec } from '../tl/layered-codec.ts';

export interface Listener {
  readonly channel: UpdateChannel;
  readonly userId: bigint;
  /** The layer the session's client announced (what its updates are encoded in). */
  layer: number;
}

/** Sessions one user may have listening here at once (the oldest is dropped past it). */
const MAX_PER_USER = 64;

export class LiveSessions {
  readonly #byUser = new Map<bigint, Map<string, Listener>>();

  constructor(private readonly codec: LayeredCodec, private readonly logger: Logger) {}

  register(userId: bigint, channel: UpdateChannel, layer: number): void {
    if (!channel.open) return;
    let listeners = this.#byUser.get(userId);
    if (listeners === undefined) this.#byUser.set(userId, listeners = new Map());
    const known = listeners.get(channel.key);
    if (known !== undefined && known.channel === channel) {
      known.layer = layer;
      return;
    }
    listeners.set(channel.key, { channel, userId, layer });
    channel.onClose(() => this.#remove(userId, channel));
    while (listeners.size > MAX_PER_USER) {
      const oldest = listeners.keys().next();
      if (oldest.done === true) break;
      listeners.delete(oldest.value);
    }
  }

  #remove(userId: bigint, channel: UpdateChannel): void {
    const listeners = this.#byUser.get(userId);
    if (listeners?.get(channel.key)?.channel !== channel) return;
    listeners.delete(channel.key);
    if (listeners.size === 0) this.#byUser.delete(userId);
  }

  /** An auth key logged out: none of its sessions gets updates any more. */
  dropAuthKey(authKeyIdHex: string): void {
    for (const [userId, listeners] of this.#byUser) {
      for (const [key, l] of listeners) if (l.channel.authKeyIdHex === authKeyIdHex) listeners.delete(key);
      if (listeners.size === 0) this.#byUser.delete(userId);
    }
  }

  /** The auth keys of the account's sessions here (each once). */
  authKeysOf(userId: bigint): string[] {
    return [...new Set([...this.#byUser.get(userId)?.values() ?? []].map((l) => l.channel.authKeyIdHex))];
  }

  /** Whether a session of this auth key is connected here for the account now. */
  hasAuthKey(userId: bigint, authKeyIdHex: string): boolean {
    for (const l of this.#byUser.get(userId)?.values() ?? []) if (l.channel.authKeyIdHex === authKeyIdHex) return true;
    return false;
  }

  has(userId: bigint): boolean {
    return this.#byUser.has(userId);
  }

  /** Whether a push to `userId` would reach a session other than `skipSession` (see push). */
  reaches(userId: bigint, skipSession?: string): boolean {
    const listeners = this.#byUser.get(userId);
    if (listeners === undefined) return false;
    for (const l of listeners.values()) if (l.channel.key !== skipSession && l.channel.open) return true;
    return false;
  }

  get users(): bigint[] {
    return [...this.#byUser.keys()];
  }

  get size(): number {
    let n = 0;
    for (const l of this.#byUser.values()) n += l.size;
    return n;
  }

  /**
   * Pushes an Updates object to every session of `userId` here except `skipSession` (the one that
   * gets it as the answer to its own call). `build` is called once per layer.
   */
  push(userId: bigint, build: (layer: number) => TlObject | undefined, skipSession?: string): number {
    const listeners = this.#byUser.get(userId);
    if (listeners === undefined) return 0;
    const encoded = new Map<number, Uint8Array | null>();
    let sent = 0;
    for (const l of listeners.values()) {
      if (l.channel.key === skipSession || !l.channel.open) continue;
      let body = encoded.get(l.layer);
      if (body === undefined) {
        body = null;
        try {
          const obj = build(l.layer);
          if (obj !== undefined) body = this.codec.encode(l.layer, obj);
        } catch (err) {
          this.logger.error({ err, layer: l.layer }, 'mtproto: an update does not encode in the client layer');
        }
        encoded.set(l.layer, body);
      }
      if (body === null) continue;
      l.channel.push(body);
      sent++;
    }
    return sent;
  }
}
