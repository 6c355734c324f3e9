import type { StateStore } from '../../../bus/types.ts';
import type { ReplayGuard } from '../session/replay-guard.ts';

/**
 * Client msg_ids older than 300 s (or more than 30 s ahead) are refused by the time check, so an
 * id only needs remembering for about 330 s; 600 leaves room for clock skew between instances.
 */
export const REPLAY_TTL_MS = 600_000;

/**
 * Seen msg_ids in the bus's state store, shared by every instance on the same Redis and kept
 * across restarts: `seen:<auth_key_id hex>:<session_id hex>:<msg_id hex>` set-if-absent with a
 * ttl, one command per id, all of a frame's ids at once. Used with the redis bus driver; on the
 * memory driver one process sees every frame, and the restart floor (server option
 * `acceptMsgIdsFrom`) keeps frames from before a restart out instead (docs/mtproto.md).
 */
export class StateReplayGuard implements ReplayGuard {
  readonly #state: StateStore;
  readonly #ttlMs: number;

  constructor(state: StateStore, ttlMs: number = REPLAY_TTL_MS) {
    this.#state = state;
    this.#ttlMs = ttlMs;
  }

  async firstSeen(keyHex: string, sessionId: bigint, msgIds: readonly bigint[]): Promise<boolean[]> {
    const base = seenPrefix(keyHex, sessionId);
    // true = we set it (first sighting anywhere); false = some instance recorded it before.
    return await Promise.all(msgIds.map((id) => this.#state.setIfAbsent(base + id.toString(16), '1', this.#ttlMs)));
  }

  async forget(keyHex: string, sessionId: bigint, msgIds: readonly bigint[]): Promise<void> {
    const base = seenPrefix(keyHex, sessionId);
    await Promise.all(msgIds.map((id) => this.#state.delete(base + id.toString(16))));
  }
}

function seenPrefix(keyHex: string, sessionId: bigint): string {
  return `seen:${keyHex}:${BigInt.asUintN(64, sessionId).toString(16)}:`;
}
