/**
 * Browser origins, compared the one way the whole bridge uses: the WebSocket upgrade's Origin
 * check and CORS on the HTTP routes (src/http/cors.ts) both call `originAllowed` with
 * `websocket.allowedOrigins`, so an origin that may open the WebSocket is exactly one that may
 * upload and read media, and no other.
 */

/**
 * Whether two origins are the same: scheme, host and port, as browsers send `Origin` (no path,
 * default ports dropped, host lowercased). Anything that does not parse as a URL, such as the
 * opaque origin `null`, matches nothing.
 */
export function sameOrigin(allowed: string, origin: string): boolean {
  try {
    const a = new URL(allowed).origin;
    // An opaque origin (data:, file:, ...) serializes as "null": never a match, not even for "null".
    return a !== 'null' && a === new URL(origin).origin;
  } catch {
    return false;
  }
}

/** Whether `origin` (a request's Origin header) is one of `allowedOrigins`. */
export function originAllowed(allowedOrigins: readonly string[], origin: string): boolean {
  return allowedOrigins.some((allowed) => sameOrigin(allowed, origin));
}
