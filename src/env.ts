/** @module Env — the bindings and variables the worker receives (wrangler.toml + secrets). */
import type { QrSession } from "./qr/session";
import type { AttemptCounter } from "./http/attempt-counter";

export interface Env {
  DB: D1Database;
  QR_SESSION: DurableObjectNamespace<QrSession>;
  JWT_ALGORITHM?: string;
  JWT_SIGNING_KEYS?: string;
  JWT_SECRET?: string;
  ACCESS_TOKEN_LIFETIME?: string;
  REFRESH_TOKEN_LIFETIME?: string;
  JWT_LEEWAY?: string;
  REFRESH_REUSE_INTERVAL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  QR_LOGIN_TTL?: string;
  RATE_LIMITS?: string;
  /** Comma-separated origins allowed to call the API from a browser; empty: same origin only. */
  CORS_ORIGINS?: string;
  SIGNIN_FAILURE_LIMIT?: string;
  SIGNIN_FAILURE_WINDOW?: string;
  SIGNIN_DEVICE_FAILURE_LIMIT?: string;
  DEVICE_CREDENTIAL_LIFETIME?: string;
  /** Seconds an isolate may reuse a session row it read (0: read D1 on every bearer check). */
  SESSION_CACHE_TTL?: string;
  /** Seconds an isolate may reuse a page of notes it read (0: read D1 on every list). */
  NOTES_CACHE_TTL?: string;
  /** [[ratelimits]] bindings (per-IP / per-user abuse throttles; approximate, per location). */
  SIGNIN_IP_LIMITER?: RateLimit;
  REGISTER_IP_LIMITER?: RateLimit;
  QR_CREATE_IP_LIMITER?: RateLimit;
  QR_APPROVE_USER_LIMITER?: RateLimit;
  /** One AttemptCounter Durable Object per account: exact failed-password counts. */
  ATTEMPT_COUNTER?: DurableObjectNamespace<AttemptCounter>;
}
