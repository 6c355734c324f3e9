/**
 * (auth_key_id, msg_key) pairs whose frame failed the msg_key check: a frame carrying one of them
 * again is refused before it is decrypted. The AES key and iv of a frame are a function of the
 * auth key and msg_key alone, so without this anyone who captured one msg_key of a client could
 * make the server decrypt any number of chosen ciphertexts under that message's AES key: the
 * fixed-key setting that cache-timing attacks on table-based AES need (docs/mtproto.md, "AES
 * decryption"). A legitimate client never sends two different frames with one msg_key (it hashes
 * the plaintext, fresh msg_id and random padding included), and failures are rare, so this holds
 * nothing in normal operation. Bounded: past `max` the oldest pairs are forgotten; making the
 * server forget one costs an attacker `max` failed frames, each on a connection of its own.
 */
export class FailedMsgKeys {
  readonly #pairs = new Set<string>();
  readonly #max: number;

  constructor(max = 65_536) {
    this.#max = max;
  }

  static pair(keyHex: string, msgKey: Uint8Array): string {
    return keyHex + Buffer.from(msgKey.buffer, msgKey.byteOffset, msgKey.byteLength).toString('hex');
  }

  has(keyHex: string, msgKey: Uint8Array): boolean {
    return this.#pairs.has(FailedMsgKeys.pair(keyHex, msgKey));
  }

  add(keyHex: string, msgKey: Uint8Array): void {
    this.#pairs.add(FailedMsgKeys.pair(keyHex, msgKey));
    if (this.#pairs.size > this.#max) {
      const oldest = this.#pairs.values().next();
      if (oldest.done !== true) this.#pairs.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#pairs.size;
  }
}
