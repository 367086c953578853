/**
 * @module HTTP Security — what every response gets: security headers, a CORS allow-list, a body size
 * limit and one structured JSON log line per request. Pages get a strict nonce-based CSP from here too.
 */
import type { Context, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { routePath } from "hono/route";
import { secureHeaders } from "hono/secure-headers";
import { getConfig } from "../config";
import { MAX_BODY_BYTES } from "./body";
import { ApiError } from "./errors";
import type { AppEnv } from "./types";

/** A WebSocket handshake: its 101 response has immutable headers (PLATFORM.md), so header middleware must not touch it. */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get("upgrade")?.toLowerCase() === "websocket";
}

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

/** hono's secure-headers with a deny-all CSP, X-Frame-Options DENY, and no powerful features; skipped on WebSocket upgrades. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  const headers = secureHeaders({
    xFrameOptions: "DENY",
    strictTransportSecurity: "max-age=31536000; includeSubDomains",
    permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [], usb: [] },
    // Keep a header the handler set on purpose (a page's nonce CSP, the JWKS's cross-origin use).
    overwrite: false,
  });
  return async function securityHeadersUnlessUpgrade(c, next) {
    if (isWebSocketUpgrade(c.req.raw)) return next();
    await headers(c, next);
    if (!c.res.headers.has("content-security-policy")) c.res.headers.set("content-security-policy", API_CONTENT_SECURITY_POLICY);
  };
}

const CORS_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const CORS_REQUEST_HEADERS = ["authorization", "content-type"];
// Clients read these cross-origin: throttling hints and the id to quote in a bug report.
const CORS_EXPOSED_HEADERS = ["retry-after", "x-request-id", "allow"];

/**
 * CORS from config.corsOrigins (CORS_ORIGINS). Empty (the default): no CORS headers at all, so only
 * same-origin pages can read responses. A listed Origin gets ACAO for itself (never `*`, never
 * credentials: tokens travel in Authorization, not cookies); any other Origin is answered as if no
 * CORS existed, and the browser blocks it.
 */
export function corsAllowList(): MiddlewareHandler<AppEnv> {
  const handlers = new WeakMap<readonly string[], MiddlewareHandler>();
  return async function corsFromConfig(c, next) {
    if (isWebSocketUpgrade(c.req.raw)) return next();
    const allowed = getConfig(c.env).corsOrigins;
    if (allowed.length === 0) return next();
    const origin = c.req.header("origin");
    if (!origin || !allowed.includes(origin)) {
      await next();
      // The answer differs by Origin once a list exists: caches must key on it (Fetch §3.2.5).
      c.res.headers.append("vary", "Origin");
      return;
    }
    let handler = handlers.get(allowed);
    if (!handler) {
      handler = cors({ origin: [...allowed], allowMethods: CORS_METHODS, allowHeaders: CORS_REQUEST_HEADERS, exposeHeaders: CORS_EXPOSED_HEADERS, maxAge: 600 });
      handlers.set(allowed, handler);
    }
    return handler(c, next);
  };
}

/**
 * Refuses a declared body above MAX_BODY_BYTES on every route, before any handler runs. Bodies of
 * undeclared length are cut off at the same limit by readBodyText while streaming; a route that
 * never reads its body never buffers it.
 */
export function bodySizeLimit(limit = MAX_BODY_BYTES): MiddlewareHandler<AppEnv> {
  return async function bodyLimit(c, next) {
    const declared = c.req.header("content-length");
    if (declared !== undefined) {
      const size = Number(declared);
      if (!/^\d+$/.test(declared.trim())) throw new ApiError("parse_error", "Malformed Content-Length header.");
      if (size > limit) throw new ApiError("request_too_large", `Request body is too large (limit ${limit} bytes).`);
    }
    await next();
  };
}

/** The request id: Cloudflare's CF-Ray when it looks like one, else a random UUID; echoed as X-Request-Id. */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdentifier(c, next) {
    const incoming = c.req.header("cf-ray") ?? "";
    const id = /^[\w-]{8,64}$/.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", id);
    await next();
    // A WebSocket upgrade's headers are immutable; the id is only a convenience there.
    if (c.res.status !== 101) c.res.headers.set("x-request-id", id);
  };
}

export interface RequestLogLine {
  level: "info" | "warn" | "error";
  event: "request";
  time: string;
  request_id: string;
  method: string;
  /** The matched route pattern (`/api/auth/sessions/:id`), never the raw path or query string. */
  route: string | null;
  status: number;
  /** Wall time; in Workers the clock advances only across I/O, so CPU-only work reads as 0. */
  duration_ms: number;
  user_id: number | null;
}

export type LogSink = (line: RequestLogLine) => void;

export const consoleLogSink: LogSink = (line) => {
  const text = JSON.stringify(line);
  if (line.level === "error") console.error(text);
  else if (line.level === "warn") console.warn(text);
  else console.log(text);
};

/**
 * One JSON line per request: method, route pattern, status, duration, user id. Nothing from the
 * URL, headers or body is logged, so no token, password or secret can leak into logs.
 */
export function requestLog(sink: LogSink = consoleLogSink): MiddlewareHandler<AppEnv> {
  return async function logRequest(c, next) {
    const started = Date.now();
    await next();
    const pattern = routePath(c);
    const auth = c.get("auth") as { session?: { userId?: number } } | undefined;
    const status = c.res.status;
    sink({
      level: status >= 500 ? "error" : "info",
      event: "request",
      time: new Date(started).toISOString(),
      request_id: c.get("requestId") ?? "",
      method: c.req.method.slice(0, 16),
      route: pattern === "" || pattern.endsWith("*") ? null : pattern,
      status,
      duration_ms: Date.now() - started,
      user_id: auth?.session?.userId ?? null,
    });
  };
}
