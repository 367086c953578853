/** @module Deps — what route logic depends on, passed as an argument; built here for the app and the Durable Objects alike. */
import { getConfig, type Config } from "./config";
import { getDb, type Db } from "./db/client";
import type { Env } from "./env";
import { getKeyRing, type KeyRing } from "./keys";

/** Milliseconds since the epoch. Injected so tests move time instead of sleeping. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** Everything signing and verification depend on (src/auth/tokens.ts), resolved once per isolate. */
export interface TokenSettings {
  keys: KeyRing;
  issuer: string;
  audience: string;
  accessTokenLifetimeSeconds: number;
  refreshTokenLifetimeSeconds: number;
  leewaySeconds: number;
}

export interface Deps {
  db: Db;
  config: Config;
  tokens: TokenSettings;
  clock: Clock;
  /** The primary, for a read whose row a lagging replica may not have yet (absent: `db` is the primary already). */
  primaryDb?: () => Db;
  /**
   * The client sent a bookmark this deployment handed out at this time (epoch ms): it must read its own writes, so
   * no isolate copy read before then may answer for D1; copies read since may.
   */
  readAfterMs?: number | null;
  /** Writes an audit event of this request with its id (src/http/log.ts `audit`); absent outside a request. */
  log?: (level: "info" | "warn" | "error", event: string, fields?: Record<string, unknown>) => void;
}

export function nowSeconds(clock: Clock): number {
  return Math.floor(clock() / 1000);
}

/** Deps for an isolate (or one Durable Object call): `iss` and `aud` are JWT_ISSUER and JWT_AUDIENCE, never a request's Host. */
export async function buildDeps(env: Env, clock: Clock): Promise<Deps> {
  const config = getConfig(env);
  const keys = await getKeyRing(config);
  const tokens: TokenSettings = {
    keys,
    issuer: config.issuer,
    audience: config.audience,
    accessTokenLifetimeSeconds: config.accessTokenLifetimeSeconds,
    refreshTokenLifetimeSeconds: config.refreshTokenLifetimeSeconds,
    leewaySeconds: config.leewaySeconds,
  };
  return { db: getDb(env.DB, config.d1TimeoutMs), config, tokens, clock };
}
