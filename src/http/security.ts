/**
 * @module HTTP Security — what every response gets, in one middleware (edgeChain): a request id, security
 * headers, a CORS allow-list and a body size limit. Pages get a nonce-based CSP from here too. No access log line:
 * the platform records every request (src/http/log.ts holds the event lines we write).
 */
import type { Context, MiddlewareHandler } from "hono";
import { cors as corsMiddleware } from "hono/cors";
import { getConfig } from "../config";
import { MAX_BODY_BYTES } from "./body";
import { ApiError, errorResponse } from "./errors";
import type { AppEnv } from "./types";

/**
 * The API's own CSP: JSON never needs to load or run anything, so nothing is allowed. HTML pages
 * replace it with pageContentSecurityPolicy() (the middleware keeps a CSP a handler already set).
 */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** 128 random bits for a CSP nonce, fresh per response (CSP3 §6.7.2.3: unguessable, never reused). */
export function newCspNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * The strict CSP for our HTML pages: only same-origin resources, inline `<script>`/`<style>` only
 * with this response's nonce, no plugins, no framing, no <base> tricks. `requestUrl` adds the
 * page's own ws(s):// origin to connect-src, since older Safari does not count it as 'self'.
 */
export function pageContentSecurityPolicy(nonce: string, requestUrl?: string): string {
  const connect = ["'self'"];
  if (requestUrl) {
    const url = new URL(requestUrl);
    connect.push(`${url.protocol === "https:" ? "wss:" : "ws:"}//${url.host}`);
  }
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    `connect-src ${connect.join(" ")}`,
    "font-src 'self'",
    "manifest-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join("; ");
}

/**
 * For a page handler: sets the page CSP on this response and returns the nonce to put on its inline
 * `<script nonce>` and `<style nonce>` tags.
 */
export function usePageCsp(c: Context): string {
  const nonce = newCspNonce();
  c.header("content-security-policy", pageContentSecurityPolicy(nonce, c.req.url));
  return nonce;
}

/**
 * What every response but a WebSocket upgrade carries, built once per isolate: the API set of OWASP's REST Security
 * Cheat Sheet (HSTS, nosniff, X-Frame-Options DENY; the deny-all CSP is set beside it) and CORP, which keeps
 * another origin's page from embedding a JSON answer at all (no-cors reads, XS-leaks).
 */
export const API_SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["cross-origin-resource-policy", "same-origin"],
  ["strict-transport-security", "max-age=31536000; includeSubDomains"],
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
];

/**
 * What only a document reads (a browsing context, its navigations and subresources), added to anything that is
 * not JSON or empty: pages, the QR SVG, the docs' files. hono's secure-headers defaults, no powerful features.
 * Measured: each header costs a JSON answer ~1.4 µs of workerd CPU (set, serialised, sent; docs/benchmarks.md).
 */
export const DOCUMENT_SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ["cross-origin-opener-policy", "same-origin"],
  ["origin-agent-cluster", "?1"],
  ["permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"],
  ["referrer-policy", "no-referrer"],
  ["x-dns-prefetch-control", "off"],
  ["x-download-options", "noopen"],
  ["x-permitted-cross-domain-policies", "none"],
  ["x-xss-protection", "0"],
];

/** Everything a document (HTML page, SVG) answers with. */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [...API_SECURITY_HEADERS, ...DOCUMENT_SECURITY_HEADERS];

/** JSON (application/json, any +json type) or no body type at all: an API answer, never rendered as a document. */
function isApiAnswer(contentType: string | null): boolean {
  if (contentType === null) return true;
  const semi = contentType.indexOf(";");
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

const CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
// x-device-credential: an API client on another origin presents its per-account device credential (auth/device-credential.ts).
const CORS_REQUEST_HEADERS = ["authorization", "content-type", "x-device-credential", "x-requested-with", "x-d1-bookmark"];
// Clients read these cross-origin: throttling hints and the id to quote in a bug report.
const CORS_EXPOSED_HEADERS = ["retry-after", "x-request-id", "allow", "x-device-credential", "x-d1-bookmark"];
// Cloudflare's CF-Ray is the request id when it looks like one (it is what the dashboard shows).
const REQUEST_ID_PATTERN = /^[\w-]{8,64}$/;

export interface EdgeOptions {
  limitBytes?: number;
  /** The app's error handler, for what fails here before the route (a 413, a bad CORS_ORIGINS): answered, headed and logged like any error. */
  onError?: (error: Error, c: Context<AppEnv>) => Response | Promise<Response>;
}

/**
 * Everything every request gets before and after its route, as one middleware (five cost 11.2 µs over
 * bare Hono, this one 6.3-7.7: bench/README.md, "Issue 16"): the request id (X-Request-Id), a declared body above
 * the limit refused with 413, CORS from CORS_ORIGINS, the security headers and CSP. No access line: the platform
 * records each request; the id ties our event lines (src/http/log.ts) to it.
 *
 * A WebSocket upgrade gets no headers: its 101 response's headers are immutable in workerd ("Can't modify immutable headers").
 * CORS: with an empty list (the default) no CORS headers at all, so only same-origin pages can read
 * responses; a listed Origin gets ACAO for itself (never `*`, never credentials: tokens travel in
 * Authorization, not cookies); any other Origin is answered as if no CORS existed.
 * Bodies of undeclared length are cut off at the same limit by readBodyText while streaming.
 */
export function edgeChain(options: EdgeOptions = {}): MiddlewareHandler<AppEnv> {
  const limit = options.limitBytes ?? MAX_BODY_BYTES;
  const onError = options.onError ?? ((error: Error) => (error instanceof ApiError ? errorResponse(error) : Promise.reject(error)));
  const corsHandlers = new WeakMap<readonly string[], { credentials: boolean; handler: MiddlewareHandler }>();
  return async function edge(c, next) {
    const request = c.req.raw;
    const headers = request.headers;
    const ray = headers.get("cf-ray");
    const id = ray !== null && REQUEST_ID_PATTERN.test(ray) ? ray : crypto.randomUUID();
    c.set("requestId", id);

    const upgrade = headers.get("upgrade")?.toLowerCase() === "websocket";
    let failure: Error | null = null;
    let allowed = NO_ORIGINS;
    let credentials = false;
    if (!upgrade) {
      try {
        const config = getConfig(c.env);
        allowed = config.corsOrigins;
        // Listed origins may send the refresh cookie only when it exists (REFRESH_COOKIE=on).
        credentials = config.refreshCookie;
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
    }
    const declared = headers.get("content-length");
    if (declared !== null && failure === null) {
      if (!/^\d+$/.test(declared.trim())) failure = new ApiError("parse_error", "Malformed Content-Length header.");
      else if (Number(declared) > limit) failure = new ApiError("request_too_large", `Request body is too large (limit ${limit} bytes).`);
    }
    const origin = allowed.length === 0 ? undefined : (headers.get("origin") ?? undefined);

    // A refusal is answered before the route runs (a listed Origin still gets its CORS headers on the 413).
    const route = failure ? async () => void (c.res = await onError(failure, c)) : next;
    const listed = origin !== undefined && allowed.includes(origin);
    if (listed) {
      let cors = corsHandlers.get(allowed);
      if (!cors || cors.credentials !== credentials) {
        const handler = corsMiddleware({
          origin: [...allowed],
          allowMethods: CORS_METHODS,
          allowHeaders: CORS_REQUEST_HEADERS,
          exposeHeaders: CORS_EXPOSED_HEADERS,
          maxAge: 600,
          credentials,
        });
        corsHandlers.set(allowed, (cors = { credentials, handler }));
      }
      // A preflight is answered by the CORS handler itself, without the route.
      const preflight = await cors.handler(c, route);
      if (preflight) c.res = preflight;
    } else await route();

    const res = c.res;
    const status = res.status;
    if (status !== 101) {
      const out = res.headers;
      if (!upgrade) {
        // A handler's own CSP (a page's nonce, the SVG's inline style) is kept; no handler sets the others.
        if (!out.has("content-security-policy")) out.set("content-security-policy", API_CONTENT_SECURITY_POLICY);
        for (const [name, value] of API_SECURITY_HEADERS) out.set(name, value);
        if (!isApiAnswer(out.get("content-type"))) for (const [name, value] of DOCUMENT_SECURITY_HEADERS) out.set(name, value);
        // The answer differs by Origin once a list exists: caches must key on it (Fetch §3.2.5).
        if (allowed.length !== 0 && !listed) out.append("vary", "Origin");
      }
      out.set("x-request-id", id);
    }
  };
}

const NO_ORIGINS: readonly string[] = [];
