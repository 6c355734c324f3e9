/**
 * What a scenario drives: one relay under test, seen from two WebSocket clients. The sender
 * stamps each message with a sequence number and its send time; the receiver hands both back.
 * Each relay frames them its own way (raw JSON for the naive relay, protocol v1 frames for
 * Switchboard), so the scenarios don't know which relay they measure.
 */
export interface BenchLink {
  /** Sends message `seq`, stamped with `sentAt` (performance.now() of this process). */
  send(seq: number, sentAt: number): void;
  /** Called once per message the receiving client gets. */
  onReceive(handler: (seq: number, sentAt: number) => void): void;
  close(): Promise<void>;
}

export interface RelayUnderTest {
  readonly name: string;
  /** Connects a fresh sender and receiver, both ready (joined) when this resolves. */
  openLink(): Promise<BenchLink>;
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
