/** @module Env — the bindings and variables the worker receives (wrangler.toml + secrets). */

export interface Env {
  DB: D1Database;
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
}
