/**
 * Why the media layer refused something. The code travels in the JSON error bodies of the media
 * routes and in log lines and metric labels: never rename one, only add.
 */
export const MediaErrorCode = {
  /** The content is larger than the limit (declared or counted while streaming). */
  TooLarge: 'too_large',
  /** The (sniffed or declared) type is not allowed by the allow/deny lists. */
  UnsupportedType: 'unsupported_type',
  /** The bytes received differ in number from the size the sender declared. */
  SizeMismatch: 'size_mismatch',
  /** The source ended early or failed while the bytes were being read. */
  Aborted: 'aborted',
  BadRequest: 'bad_request',
  /** A remote fetch was refused by the address policy (SSRF). */
  ForbiddenAddress: 'forbidden_address',
  /** A remote fetch used a scheme other than http/https, or credentials in the URL. */
  ForbiddenUrl: 'forbidden_url',
  TooManyRedirects: 'too_many_redirects',
  /** The remote server answered with a status that is not a success or a redirect. */
  BadStatus: 'bad_status',
  Timeout: 'timeout',
  /** Name resolution or connection failed. */
  Unreachable: 'unreachable',
  /** Too many fetches or uploads at once. */
  Busy: 'busy',
  /**
   * The storage backend (an S3-compatible server) failed, refused (403, 5xx) or could not be
   * reached in time: the put or read fails, the bridge goes on. The message names the operation
   * and the server's error code for the log; routes answer a generic 500/503.
   */
  StoreUnavailable: 'store_unavailable',
} as const;
export type MediaErrorCode = (typeof MediaErrorCode)[keyof typeof MediaErrorCode];

/** An error whose message is safe to show to the client that caused it. */
export class MediaError extends Error {
  constructor(readonly code: MediaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MediaError';
  }
}

export function isMediaError(err: unknown, code?: MediaErrorCode): err is MediaError {
  return err instanceof MediaError && (code === undefined || err.code === code);
}
