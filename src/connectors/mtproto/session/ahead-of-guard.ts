// The fast path `sendsAheadOfReplayGuard` (mtproto config; on by default): a frame that holds
// nothing but sends which are idempotent by their own transaction id (messages.sendMessage and the
// like: a random_id per user, claimed on the bus) and acknowledgements or pings is processed
// without waiting for the shared replay guard's round trip. Its ids are still recorded there
// (a replay of it elsewhere is refused as before), and the local window still refuses a replay
// here. What the guard protects against is then done by the transaction claim: a replay of such
// a frame that reaches another instance first is the same send again, which the bus answers with
// the first one's message and publishes nothing. Every other frame (an edit, a reaction, a login,
// anything wrapped or gzip_packed) waits for the guard as before. Measured: bench/RESULTS.md.
import { MSGS_ACK_ID, constructorOf, type RawMessage } from './container.ts';

/** ping and ping_delay_disconnect: a replay only makes a pong the sender cannot read. */
const PINGS = new Set([0x7abe77ec, 0xf3427b8c]);

/** Whether a message body's constructor is a call that needs no replay guard (given by the API layer). */
export type AheadOfGuard = (constructorId: number) => boolean;

/**
 * Whether a frame may go ahead (`members`: its container's, as parsed when it was opened;
 * undefined for a body that is no container): its body is such a send, or a container of them with
 * acknowledgements and pings beside them (a frame without a send has nothing to hurry).
 */
export function frameGoesAhead(body: Uint8Array, members: readonly RawMessage[] | null | undefined, ahead: AheadOfGuard): boolean {
  if (members === undefined) return ahead(constructorOf(body));
  if (members === null) return false;
  const ctors = members.map((m) => constructorOf(m.body));
  return ctors.some(ahead) && ctors.every((c) => c === MSGS_ACK_ID || PINGS.has(c) || ahead(c));
}
