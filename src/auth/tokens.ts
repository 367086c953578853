/** @module Tokens — signs and checks simplejwt-shaped JWTs with jose; pure apart from WebCrypto. */
import { SignJWT, errors as joseErrors, jwtVerify, type JWTHeaderParameters } from "jose";
import type { KeyRing } from "./keys";
import { randomToken, sha256Base64Url } from "./bytes";

export type TokenType = "access" | "refresh";

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

/** Everything signing and verification depend on, resolved once per request. */
export interface TokenSettings {
  keys: KeyRing;
  issuer: string;
  audience: string;
  accessTokenLifetimeSeconds: number;
  refreshTokenLifetimeSeconds: number;
  leewaySeconds: number;
}

/** Why a token was refused; callers map every reason to 401 `token_not_valid`. */
export class TokenError extends Error {
  constructor(
    readonly reason: "expired" | "invalid" | "wrong_type",
    message: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

export async function signToken(settings: TokenSettings, claims: TokenClaims): Promise<string> {
  const header: JWTHeaderParameters = { alg: settings.keys.algorithm, typ: "JWT" };
  if (settings.keys.signing.kid !== undefined) header.kid = settings.keys.signing.kid;
  return new SignJWT({ ...claims }).setProtectedHeader(header).sign(settings.keys.signing.key);
}

export function newJti(): string {
  return randomToken(16);
}

/**
 * The jti of the refresh token that replaces `jti` on rotation. Deriving it (rather than storing it)
 * lets a just-rotated token get the very same successor again without keeping any token id in clear.
 */
export async function successorJti(jti: string): Promise<string> {
  return (await sha256Base64Url(`successor:${jti}`)).slice(0, 22);
}

export function accessClaims(settings: TokenSettings, userId: number, sid: string, nowSeconds: number): TokenClaims {
  return {
    sub: String(userId),
    user_id: userId,
    token_type: "access",
    jti: newJti(),
    iat: nowSeconds,
    exp: nowSeconds + settings.accessTokenLifetimeSeconds,
    iss: settings.issuer,
    aud: settings.audience,
    sid,
  };
}

export function refreshClaims(
  settings: TokenSettings,
  userId: number,
  sid: string,
  jti: string,
  issuedAtSeconds: number,
  expiresAtSeconds: number,
): TokenClaims {
  return {
    sub: String(userId),
    user_id: userId,
    token_type: "refresh",
    jti,
    iat: issuedAtSeconds,
    exp: expiresAtSeconds,
    iss: settings.issuer,
    aud: settings.audience,
    sid,
  };
}

const REQUIRED_CLAIMS = ["sub", "user_id", "token_type", "jti", "iat", "exp", "iss", "aud", "sid"];

/**
 * Verifies signature and claims. The algorithm comes from config, never from the token; the key
 * from its `kid`. `expectedType` undefined accepts either type (simplejwt's UntypedToken).
 */
export async function verifyToken(
  settings: TokenSettings,
  token: string,
  nowMs: number,
  expectedType?: TokenType,
): Promise<TokenClaims> {
  if (typeof token !== "string" || token.length === 0 || token.length > 4096) throw new TokenError("invalid", "Token is invalid");
  let payload: Record<string, unknown>;
  try {
    const result = await jwtVerify(
      token,
      (header) => {
        const key = settings.keys.verifying.get(settings.keys.algorithm === "HS256" ? "" : (header.kid ?? "\u0000"));
        if (!key) throw new TokenError("invalid", "Token is invalid");
        return key;
      },
      {
        algorithms: [settings.keys.algorithm],
        issuer: settings.issuer,
        audience: settings.audience,
        clockTolerance: settings.leewaySeconds,
        currentDate: new Date(nowMs),
        requiredClaims: REQUIRED_CLAIMS,
        // Makes jose refuse an `iat` in the future and bounds a token's age even if `exp` was forged long.
        maxTokenAge: Math.max(settings.accessTokenLifetimeSeconds, settings.refreshTokenLifetimeSeconds) + settings.leewaySeconds,
      },
    );
    payload = result.payload as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TokenError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new TokenError("expired", "Token is expired");
    throw new TokenError("invalid", "Token is invalid");
  }
  const claims = payload as unknown as TokenClaims;
  const wellFormed =
    (claims.token_type === "access" || claims.token_type === "refresh") &&
    typeof claims.sid === "string" &&
    typeof claims.jti === "string" &&
    Number.isSafeInteger(claims.user_id) &&
    claims.sub === String(claims.user_id);
  if (!wellFormed) throw new TokenError("invalid", "Token is invalid");
  if (expectedType && claims.token_type !== expectedType) throw new TokenError("wrong_type", "Token has wrong type");
  return claims;
}
