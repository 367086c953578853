/**
 * @module Refresh Cookie — REFRESH_COOKIE=on: the refresh token lives in an HttpOnly cookie that page scripts never
 * see (simplejwt's most requested feature). `__Host-` pins it to this host, Secure and Path=/ (RFC 6265bis
 * §4.1.3.2: a __Host- cookie cannot be narrowed to /api/token/, and that prefix is what stops a sibling subdomain
 * from planting one); SameSite=Strict keeps other sites' requests from carrying it. Only the token routes read it,
 * and only with the CSRF proof below.
 */
import { ApiError } from "../http/errors";
import { originAllowed } from "../http/origins";

export const REFRESH_COOKIE = "__Host-refresh";
/** The header a cookie-authenticated request must carry: a cross-site form cannot set it, and CORS gates it. */
export const CSRF_HEADER = "X-Requested-With";

const ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Strict";

export function setRefreshCookie(token: string, maxAgeSeconds: number): string {
  return `${REFRESH_COOKIE}=${token}; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; ${ATTRIBUTES}`;
}

export function clearRefreshCookie(): string {
  return `${REFRESH_COOKIE}=; Max-Age=0; ${ATTRIBUTES}`;
}

/** The refresh token the browser sent in its cookie, if any (the last one wins, as with a repeated header). */
export function cookieRefresh(request: Request): string | null {
  let found: string | null = null;
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1 || part.slice(0, eq).trim() !== REFRESH_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (value && value.length <= 4096) found = value;
  }
  return found;
}

/**
 * The CSRF proof for a request the cookie authenticates: the custom header (a cross-site <form> cannot send it,
 * and a cross-origin fetch may only after a CORS preflight we answer for allowed origins alone) and an Origin that
 * is ours or listed. Browsers send Origin on every POST fetch; a request without one is not a page's.
 */
export function checkCookieRequest(request: Request, ownOrigin: string, allowed: readonly string[]): void {
  const marker = request.headers.get(CSRF_HEADER);
  const origin = request.headers.get("origin");
  if (!marker || !marker.trim() || origin === null || !originAllowed(origin, ownOrigin, allowed)) throw new ApiError("csrf_failed");
}
