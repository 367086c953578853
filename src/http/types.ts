/**
 * @module HTTP Types — the Hono environment every module's routes share, and the signed-in caller the bearer check
 * hands a route (`input.auth`). They live here, below auth/, so the shared layer never imports a feature module.
 */
import type { SessionMethod } from "../db/schema";
import type { Deps } from "../deps";
import type { Env } from "../env";

export interface AppEnv {
  Bindings: Env;
  Variables: {
    requestId: string;
    deps: Deps;
  };
}

export type TokenType = "access" | "refresh";

/** A verified simplejwt-shaped token's claims (src/auth/tokens.ts signs and checks them). */
export interface TokenClaims {
  sub: string;
  user_id: number;
  token_type: TokenType;
  jti: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
  sid: string;
}

/** The session and its user, as the bearer check needs them (src/auth/sessions.ts reads them). */
export interface SessionWithUser {
  sessionId: string;
  userId: number;
  method: SessionMethod;
  expiresAt: number;
  revokedAt: number | null;
  lastUsedAt: number;
  username: string;
  email: string;
  isActive: boolean;
  dateJoined: number;
  lastLogin: number | null;
}

/** What a bearer route's handler gets as `input.auth`: the access token's claims and its live session. */
export interface Authenticated {
  claims: TokenClaims;
  session: SessionWithUser;
}
