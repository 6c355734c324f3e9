/** Why decoding stopped; stable strings meant for logs and metrics labels. */
export type TlDecodeErrorCode =
  | 'truncated'
  | 'unknown-constructor'
  | 'unexpected-constructor'
  | 'bytes-length'
  | 'vector-length'
  | 'too-deep'
  | 'bad-bool'
  | 'length-mismatch'
  | 'trailing-bytes'
  | 'gzip-invalid'
  | 'gzip-too-large'
  | 'malformed';

/** The only error decoding untrusted TL can raise. */
export class TlDecodeError extends Error {
  readonly code: TlDecodeErrorCode;
  constructor(code: TlDecodeErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TlDecodeError';
    this.code = code;
  }
}

/** A caller handed encode() a value that does not fit the schema (a programming error). */
export class TlEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlEncodeError';
  }
}
