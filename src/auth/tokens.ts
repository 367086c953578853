/** @module Tokens — signs and checks simplejwt-shaped JWTs with jose; pure apart from WebCrypto. */
import type { JWTHeaderParameters } from "jose";
import { jose } from "../lib/jose";
import type { TokenSettings } from "../deps";
import type { KeyRing } from "../keys";
import type { TokenClaims, TokenType } from "../http/types";
import { base64UrlToBytes, bytesToBase64Url, randomToken, sha256Base64Url } from "../lib/bytes";

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
  const { SignJWT } = await jose();
  return lowS(settings.keys.algorithm, await new SignJWT({ ...claims }).setProtectedHeader(header).sign(settings.keys.signing.key));
}

// P-256's group order n and n/2: (r, s) and (r, n - s) both verify, so only s <= n/2 is ever issued or accepted.
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_N = P256_N >> 1n;

function bigFrom(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** The JWS's ES256 signature `r || s` (64 bytes), or null when it is not that shape. */
function es256Signature(token: string): Uint8Array | null {
  const encoded = token.slice(token.lastIndexOf(".") + 1);
  if (encoded.length !== 86 || !/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
  return base64UrlToBytes(encoded);
}

/** Rewrites an ES256 signature with a high s to its low-S twin (n - s); WebCrypto signs either at random. */
export function lowS(algorithm: string, token: string): string {
  if (algorithm !== "ES256") return token;
  const signature = es256Signature(token);
  if (!signature) return token;
  const s = bigFrom(signature.subarray(32));
  if (s <= P256_HALF_N) return token;
  let low = P256_N - s;
  for (let i = 63; i >= 32; i--, low >>= 8n) signature[i] = Number(low & 0xffn);
  return `${token.slice(0, token.lastIndexOf(".") + 1)}${bytesToBase64Url(signature)}`;
}

/** A token string is unique: an ES256 signature must be low-S (s <= n/2), else it is refused before jose checks it. */
export function hasLowS(algorithm: string, token: string): boolean {
  if (algorithm !== "ES256") return true;
  const signature = es256Signature(token);
  return signature !== null && bigFrom(signature.subarray(32)) <= P256_HALF_N;
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
export async function verifyToken(settings: TokenSettings, token: string, nowMs: number, expectedType?: TokenType): Promise<TokenClaims> {
  if (typeof token !== "string" || token.length === 0 || token.length > 4096) throw new TokenError("invalid", "Token is invalid");
  const cached = verifiedClaims.get(settings.keys, token, settingsKey(settings));
  if (cached) {
    checkTimes(settings, cached, nowMs, token);
    if (expectedType && cached.token_type !== expectedType) throw new TokenError("wrong_type", "Token has wrong type");
    return cached;
  }
  const claims = await verifyUncached(settings, token, nowMs);
  verifiedClaims.set(settings.keys, token, settingsKey(settings), claims);
  if (expectedType && claims.token_type !== expectedType) throw new TokenError("wrong_type", "Token has wrong type");
  return claims;
}

/** What, besides the key ring, a verification depended on: a cached result is only reused under the same. */
function settingsKey(settings: TokenSettings): string {
  return `${settings.issuer}\u0000${settings.audience}\u0000${settings.leewaySeconds}\u0000${maxTokenAge(settings)}`;
}

function maxTokenAge(settings: TokenSettings): number {
  return Math.max(settings.accessTokenLifetimeSeconds, settings.refreshTokenLifetimeSeconds) + settings.leewaySeconds;
}

/** jose's time checks (exp, nbf, iat/maxTokenAge, same tolerance), re-run against the clock on every cached use. */
function checkTimes(settings: TokenSettings, claims: TokenClaims, nowMs: number, token: string): void {
  const now = Math.floor(nowMs / 1000);
  const tolerance = settings.leewaySeconds;
  if (claims.exp <= now - tolerance) {
    verifiedClaims.drop(settings.keys, token);
    throw new TokenError("expired", "Token is expired");
  }
  const nbf = (claims as { nbf?: unknown }).nbf;
  if (typeof nbf === "number" && nbf > now + tolerance) throw new TokenError("invalid", "Token is invalid");
  const age = now - claims.iat;
  if (age - tolerance > maxTokenAge(settings)) throw new TokenError("expired", "Token is expired");
  if (age < 0 - tolerance) throw new TokenError("invalid", "Token is invalid");
}

/** Verified claims per exact token string, per key ring (bounded LRU; an entry goes at its exp). */
const CLAIMS_CACHE_MAX_ENTRIES = 10_000;

class ClaimsCache {
  private readonly byRing = new WeakMap<KeyRing, Map<string, { claims: TokenClaims; settings: string }>>();

  get(ring: KeyRing, token: string, settings: string): TokenClaims | undefined {
    const map = this.byRing.get(ring);
    const entry = map?.get(token);
    if (!entry || entry.settings !== settings) return undefined;
    // Most recently used last, so the first key is the one to drop.
    map!.delete(token);
    map!.set(token, entry);
    return entry.claims;
  }

  set(ring: KeyRing, token: string, settings: string, claims: TokenClaims): void {
    let map = this.byRing.get(ring);
    if (!map) this.byRing.set(ring, (map = new Map()));
    map.set(token, { claims: Object.freeze(claims), settings });
    if (map.size > CLAIMS_CACHE_MAX_ENTRIES) map.delete(map.keys().next().value!);
  }

  drop(ring: KeyRing, token: string): void {
    this.byRing.get(ring)?.delete(token);
  }
}

const verifiedClaims = new ClaimsCache();

async function verifyUncached(settings: TokenSettings, token: string, nowMs: number): Promise<TokenClaims> {
  if (!hasLowS(settings.keys.algorithm, token)) throw new TokenError("invalid", "Token is invalid");
  const { jwtVerify, errors: joseErrors } = await jose();
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
        maxTokenAge: maxTokenAge(settings),
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
  return claims;
}
