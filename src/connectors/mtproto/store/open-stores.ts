// Everything of the MTProto server that must outlive a process, on the bus's state store
// (`bus.state('mtproto')`: Redis with the redis driver, the fsynced local state file with the
// memory driver): auth keys (sealed), the announced layer and app of each key, the salt secret
// (sealed), and with the redis driver the seen msg_ids. See docs/mtproto.md, "What survives a restart".
import { randomBytes } from 'node:crypto';
import type { StateStore } from '../../../bus/types.ts';
import type { Logger } from '../../../core/logger.ts';
import type { Registry } from '../../../core/metrics.ts';
import { StoredClientInfo } from '../api/client-info.ts';
import type { ReplayGuard } from '../session/replay-guard.ts';
import type { AuthKeyStore } from './auth-key-store.ts';
import { SealError, type KeyRing, type Opened } from './key-ring.ts';
import { StateAuthKeyStore, type KeyLifetimes } from './state-auth-key-store.ts';
import { StateReplayGuard } from './state-replay-guard.ts';
import { KeyCompanions } from './key-companions.ts';

/** The key-check marker's key in the namespace (`switchboard check` reads it from the state file). */
export const KEK_CHECK_KEY = 'kek-check';
const SALT_SECRET_KEY = 'salt-secret';
const KEK_CHECK_TEXT = 'switchboard mtproto key-encryption check';

/** The stored data does not match the configured key-encryption keys: start refuses, saying which. */
export class KeyRingMismatch extends Error {
  override readonly name = 'KeyRingMismatch';
}

export interface MtprotoStores {
  readonly keyStore: AuthKeyStore;
  readonly clientInfo: StoredClientInfo;
  /** Seen msg_ids shared by the instances on one Redis; undefined on the memory driver (restart floor instead). */
  readonly replayGuard: ReplayGuard | undefined;
  readonly saltSecret: Uint8Array;
  /** What else lives and dies with a key (the chat layer registers its logins). */
  readonly companions: KeyCompanions;
}

export interface OpenStoresOptions {
  state: StateStore;
  driver: 'memory' | 'redis';
  ring: KeyRing;
  logger: Logger;
  registry: Registry;
  /** mtproto.saltSecret when configured; otherwise one is drawn once and kept in the state. */
  saltSecret?: Uint8Array;
  /** How long permanent keys are kept without use (mtproto.unusedKeyMinutes / idleKeyDays). */
  keyLifetimes?: KeyLifetimes;
  /** The clock of key lifetimes and expiries (tests). */
  now?: () => number;
}

export async function openMtprotoStores(opts: OpenStoresOptions): Promise<MtprotoStores> {
  const { state, ring, logger } = opts;
  await checkKeyRing(state, ring, logger);
  const companions = new KeyCompanions(logger, opts.now);
  const clientInfo = new StoredClientInfo(state, logger, { ttlOf: companions.ttlOf });
  companions.add(clientInfo);
  const keyStore = new StateAuthKeyStore(state, ring, {
    logger, registry: opts.registry,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.keyLifetimes ? { lifetimes: opts.keyLifetimes } : {}),
    onLoaded: async (hex, record, kept, boundKept) => {
      await companions.loaded(hex, kept);
      // A bound temporary key's calls are its permanent key's (session/temp-keys.ts).
      if (record.boundTo !== undefined) await companions.loaded(record.boundTo, boundKept);
    },
    onDeleted: (hex) => companions.deleted(hex),
  });
  return {
    keyStore,
    clientInfo,
    companions,
    replayGuard: opts.driver === 'redis' ? new StateReplayGuard(state) : undefined,
    saltSecret: opts.saltSecret ?? await storedSaltSecret(state, ring),
  };
}

/**
 * The start-time check of the key-encryption keys against the store: a sealed marker written
 * under the current KEK. Refuses (KeyRingMismatch) when the store was sealed under a KEK that is
 * not configured (wrong or missing key), instead of answering every client -404 later; moves the
 * marker to the current KEK after a rotation or when encryption was just turned on.
 */
export async function checkKeyRing(state: StateStore, ring: KeyRing, logger: Logger): Promise<void> {
  const marker = (): string => ring.seal('key check', KEK_CHECK_KEY, new TextEncoder().encode(KEK_CHECK_TEXT));
  const stored = (await state.get(KEK_CHECK_KEY)) ?? (await state.setIfAbsent(KEK_CHECK_KEY, marker()) ? undefined : await state.get(KEK_CHECK_KEY));
  if (!ring.encrypting) {
    logger.warn('mtproto auth keys are stored in PLAINTEXT (no mtproto.keyEncryptionKey and no key file): whoever reads the store (Redis, its backups, bus.stateFile) can decrypt clients\' traffic. Run `switchboard keygen --kek-only --kek <mtproto.keyEncryptionKeyFile>` or set mtproto.keyEncryptionKey (docs/mtproto.md, "Keys at rest")');
  }
  if (stored === undefined) return; // fresh store: the marker was just written
  const opened = openKekMarker(ring, stored);
  if (opened.stale) {
    await state.set(KEK_CHECK_KEY, marker());
    if (opened.keyId === 'plain') logger.warn('mtproto: a key-encryption key is configured now; auth keys stored before in plaintext are sealed as clients use them');
    else logger.info({ from: opened.keyId, to: ring.current?.id }, 'mtproto: key-encryption key rotated; stored auth keys are re-sealed under the new one as clients use them (switchboard_mtproto_auth_keys_resealed_total)');
  }
}

/**
 * Opens the stored key-check marker under the configured ring, or throws KeyRingMismatch saying
 * which KEK the store needs. Changes nothing (`switchboard check` uses it on the state file too).
 */
export function openKekMarker(ring: KeyRing, stored: string): Opened {
  let opened: Opened;
  try {
    opened = ring.open('key check', KEK_CHECK_KEY, stored);
  } catch (err) {
    if (err instanceof SealError && (err.reason === 'unknown-key' || err.reason === 'not-configured')) {
      const configured = ring.current === undefined ? 'no key-encryption key is configured' : `the configured one is ${ring.ids.join(', ')}`;
      throw new KeyRingMismatch(`the stored MTProto auth keys are sealed with key-encryption key ${err.keyId ?? '?'}, but ${configured}: set mtproto.keyEncryptionKey (or its key file) to that key, or list it in mtproto.previousKeyEncryptionKeys while rotating (docs/mtproto.md, "Keys at rest")`);
    }
    throw new KeyRingMismatch(`the stored MTProto key check does not open (${(err as Error).message}): the key-encryption key is wrong or the store was altered`);
  }
  if (new TextDecoder().decode(opened.plain) !== KEK_CHECK_TEXT) throw new KeyRingMismatch('the stored MTProto key check holds something else: the store was altered');
  return opened;
}

/** The salt secret kept in the state (sealed): drawn by the first instance that starts, then shared. */
function storedSaltSecret(state: StateStore, ring: KeyRing): Promise<Uint8Array> {
  return storedSecret(state, ring, SALT_SECRET_KEY, 'salt secret');
}

/**
 * A 32-byte deployment secret kept sealed in the state under `key`: drawn by the first instance
 * that starts, then shared by all and kept across restarts; re-sealed after a KEK rotation.
 */
export async function storedSecret(state: StateStore, ring: KeyRing, key: string, purpose: string): Promise<Uint8Array> {
  const open = (stored: string): { secret: Uint8Array; stale: boolean } => {
    let opened: Opened;
    try {
      opened = ring.open(purpose, key, stored);
    } catch (err) {
      if (err instanceof SealError) throw new KeyRingMismatch(`the stored MTProto ${purpose} does not open: ${err.message}`);
      throw err;
    }
    if (opened.plain.length !== 32) throw new KeyRingMismatch(`the stored MTProto ${purpose} is malformed`);
    return { secret: opened.plain, stale: opened.stale };
  };
  const seal = (secret: Uint8Array): string => ring.seal(purpose, key, secret);
  const stored = await state.get(key);
  if (stored !== undefined) {
    const { secret, stale } = open(stored);
    if (stale) await state.set(key, seal(secret));
    return secret;
  }
  const fresh = new Uint8Array(randomBytes(32));
  if (await state.setIfAbsent(key, seal(fresh))) return fresh;
  // Another instance drew one first: use theirs, so all agree.
  const winner = await state.get(key);
  if (winner === undefined) throw new Error(`mtproto ${purpose} vanished from the state store`);
  return open(winner).secret;
}
