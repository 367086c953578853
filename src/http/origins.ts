/** @module Origins — which browser origins may use the API cross-site: the worker's own and CORS_ORIGINS, nothing else. */

/**
 * Whether a request's `Origin` may proceed. No Origin header: not a browser page (browsers always send
 * one on WebSocket handshakes and cross-origin fetches, RFC 6455 §4.1), so it cannot be a cross-site page.
 * `"null"` (sandboxed frames, file: pages) is never allowed.
 */
export function originAllowed(origin: string | null | undefined, ownOrigin: string, allowList: readonly string[]): boolean {
  if (origin === null || origin === undefined) return true;
  return origin === ownOrigin || allowList.includes(origin);
}
