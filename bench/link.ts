/**
 * What a scenario drives: one relay under test, seen from two WebSocket clients. The sender
 * stamps each message with a sequence number and its send time; the receiver hands both back.
 * Each relay frames them its own way (raw JSON for the naive relay, protocol v1 frames for
 * Switchboard), so the scenarios don't know which relay they measure.
 */
export interface BenchLink {
  /** Sends message `seq`, stamped with `sentAt` (performance.now() of the clients' thread). */
  send(seq: number, sentAt: number): void;
  /** Called once per message the receiving client gets. */
  onReceive(handler: (seq: number, sentAt: number) => void): void;
  /** Called when the relay refuses a message or drops a client: the scenario fails with it. */
  onFailure(handler: (err: Error) => void): void;
  close(): Promise<void>;
}

/**
 * How to connect the two clients of a relay. Plain data, because the clients run in a worker
 * thread (bench/client-worker.ts): like real clients, they don't share the server's event loop.
 */
export type LinkSpec =
  | { readonly kind: 'naive'; readonly url: string }
  | { readonly kind: 'switchboard'; readonly url: string; readonly room: string; readonly tokens: readonly [string, string]; readonly txn?: boolean }
  | MtprotoLinkSpec;

/**
 * A stock gramjs TelegramClient logged in as a bot sends to an MTProto chat (messages.sendMessage);
 * a WebSocket client joined to the linked WS room receives (bench/mtproto-link.ts).
 */
export interface MtprotoLinkSpec {
  readonly kind: 'mtproto';
  readonly port: number;
  /**
   * A floor (bench/mtproto-floor.ts): no login; the receiver is a plain WebSocket ('plain') or a
   * client of the bridge's WebSocket connector joined to `room` ('bus').
   */
  readonly floor?: 'plain' | 'bus';
  readonly botToken: string;
  readonly chatId: number;
  /** The server's public key, for gramjs' pinned key table (decimal strings). */
  readonly serverKey: { readonly n: string; readonly e: string; readonly fingerprint: string };
  readonly wsUrl: string;
  readonly wsToken: string;
  readonly room: string;
}

export interface RelayUnderTest {
  readonly name: string;
  /** Where and how the two clients connect. */
  linkSpec(): LinkSpec;
  close(): Promise<void>;
}

/** The payload both relays carry: small, like a chat line, and parseable back to its stamp. */
export function encodeStamp(seq: number, sentAt: number): string {
  return `${seq}:${sentAt}`;
}

export function decodeStamp(text: string): { seq: number; sentAt: number } {
  const colon = text.indexOf(':');
  const seq = Number(text.slice(0, colon));
  const sentAt = Number(text.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(seq) || !Number.isFinite(sentAt)) throw new Error(`not a bench stamp: ${text.slice(0, 64)}`);
  return { seq, sentAt };
}
