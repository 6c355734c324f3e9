import { ErrorCode, SwitchboardError } from '../core/errors.ts';
import { isCursor, type Cursor } from '../core/endpoint.ts';

/** A stream read's cursor argument, checked alike by both drivers: a malformed one is a BadCursor (clients get bad_cursor). */
export function checkCursor(cursor: Cursor | undefined): void {
  if (cursor !== undefined && !isCursor(cursor)) throw new SwitchboardError(ErrorCode.BadCursor, `not a stream cursor: ${String(cursor).slice(0, 64)}`);
}
