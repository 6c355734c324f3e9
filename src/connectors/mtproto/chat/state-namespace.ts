// Where the chat layer keeps its state: the connector's namespace of the bus's state store,
// shared with the MTProto core's keys (store/: `authkey:`, `authkey-binding:`, `client:`, `seen:`,
// `salt-secret`, `kek-check`). Every chat key starts with `chat:`, so the two key spaces cannot
// meet whatever either side names its keys.
import type { StateStore } from '../../../bus/types.ts';

/** The connector's namespace in the bus's state store (`bus.state(...)`). */
export const STATE_NAMESPACE = 'mtproto';

/** The prefix of every key the chat layer writes in STATE_NAMESPACE. */
export const CHAT_KEY_PREFIX = 'chat:';

/** A chat-layer key as it is stored in the namespace (what the CLI reads without the app running). */
export function chatKey(key: string): string {
  return CHAT_KEY_PREFIX + key;
}

/** The chat layer's view of the namespace: the same store, every key under CHAT_KEY_PREFIX. */
export function chatState(state: StateStore): StateStore {
  return {
    get: (key) => state.get(chatKey(key)),
    set: (key, value, ttlMs) => state.set(chatKey(key), value, ttlMs),
    setIfAbsent: (key, value, ttlMs) => state.setIfAbsent(chatKey(key), value, ttlMs),
    delete: (key) => state.delete(chatKey(key)),
    expire: (key, ttlMs) => state.expire(chatKey(key), ttlMs),
    replace: (key, expected, value, ttlMs) => state.replace(chatKey(key), expected, value, ttlMs),
  };
}
