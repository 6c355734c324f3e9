/**
 * Stable error codes. They travel in WebSocket error frames and log lines, and are documented in
 * docs/websocket-protocol.md: never rename one, only add.
 */
export const ErrorCode = {
  BadJson: 'bad_json',
  BadFrame: 'bad_frame',
  UnknownType: 'unknown_type',
  TooLarge: 'too_large',
  Unauthorized: 'unauthorized',
  Forbidden: 'forbidden',
  ForbiddenOrigin: 'forbidden_origin',
  UnknownRoom: 'unknown_room',
  NotJoined: 'not_joined',
  BadCursor: 'bad_cursor',
  CursorExpired: 'cursor_expired',
  CursorAhead: 'cursor_ahead',
  RateLimited: 'rate_limited',
  Unavailable: 'unavailable',
  Internal: 'internal',
  BadVersion: 'bad_version',
  InvalidEvent: 'invalid_event',
  ConfigInvalid: 'config_invalid',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error whose message is safe to show to the peer, with a stable code. */
export class SwitchboardError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly details?: Record<string, unknown>) {
    super(message);
    this.name = 'SwitchboardError';
  }
}
