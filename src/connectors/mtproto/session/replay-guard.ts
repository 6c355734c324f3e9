/**
 * Replay protection across instances. Each session already keeps its own window of seen msg_ids
 * (SeenMsgIds), but that lives in one process: instances sharing auth keys and salts would each
 * accept a captured frame once. A ReplayGuard records msg_ids where every instance sees them.
 */
export interface ReplayGuard {
  /**
   * Records every id for (auth key, session) and says, per id, whether this was its first
   * sighting anywhere. One call per frame (outer message and container members together), so a
   * shared guard costs one round trip per frame. Rejects when the answer cannot be known: the
   * caller must then refuse the frame, never accept a possible replay.
   */
  firstSeen(keyHex: string, sessionId: bigint, msgIds: readonly bigint[]): Promise<boolean[]>;
  /**
   * Forgets ids this server recorded (firstSeen said true) for a frame it then did not process
   * (its connection closed first), so a re-send of them is not taken for a replay. Optional.
   */
  forget?(keyHex: string, sessionId: bigint, msgIds: readonly bigint[]): Promise<void>;
}

/**
 * One process: the per-session SeenMsgIds window is the whole protection, so there is nothing
 * more to remember here and every id counts as new.
 */
export const localReplayGuard: ReplayGuard = {
  async firstSeen(_keyHex, _sessionId, msgIds) {
    return msgIds.map(() => true);
  },
};
