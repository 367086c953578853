/**
 * @module Device Credential — OWASP's "device cookie": a signed, per-account credential issued at every
 * successful sign-in, so a client that signed in before keeps its own small failure budget while
 * strangers have the account locked out.
 *
 * Format: a JWT signed with the token key ring, header `typ: device+jwt`, claims `sub` (user id),
 * `acct` (the account key: NFKC, lower-cased username), `ep` (the user's credentials_epoch), `jti`, `iat`, `exp`,
 * `iss`, `aud`, `token_type: "device"` — never accepted as an access or refresh token (no `sid`, other type).
 * Honoured only for the same user id at the same epoch: a password change or "sign out everywhere" bumps the
 * epoch, and a deleted account's id is never reused (AUTOINCREMENT), so its credentials never pass for a newcomer.
 * Transport: browsers keep it in the HttpOnly cookie `__Host-device` (several accounts' credentials
 * joined by `~`, newest first); API clients read the `X-Device-Credential` response header of a
 * successful POST /api/token/ and send it back in the same request header.
 * Storage: none; each credential's failure count lives in the AttemptCounter object `device:<jti>`, and all of
 * an account's credentials together share `devices:<user id>` (SIGNIN_DEVICES_FAILURE_LIMIT).
 */
import { jose } from "../lib/jose";
import type { TokenSettings } from "../deps";
import { hasLowS, lowS, newJti } from "./tokens";

export const DEVICE_CREDENTIAL_HEADER = "X-Device-Credential";
export const DEVICE_CREDENTIAL_COOKIE = "__Host-device";
const TYP = "device+jwt";
/** Credentials kept in one cookie (one per account signed in from this browser). */
const MAX_COOKIE_CREDENTIALS = 5;
/** Credentials read from one request; more are ignored (each costs a signature check). */
const MAX_PRESENTED = 6;
const MAX_CREDENTIAL_LENGTH = 1024;

export interface DeviceCredential {
  jti: string;
  userId: number;
}

/** The account a credential must name to be honoured: its key, its user id and its current credentials epoch. */
interface CredentialAccount {
  userId: number;
  accountKey: string;
  epoch: number;
}

export async function issueDeviceCredential(
  tokens: TokenSettings,
  account: CredentialAccount,
  nowSeconds: number,
  lifetimeSeconds: number,
): Promise<string> {
  const header = {
    alg: tokens.keys.algorithm,
    typ: TYP,
    ...(tokens.keys.signing.kid !== undefined ? { kid: tokens.keys.signing.kid } : {}),
  };
  const { SignJWT } = await jose();
  const token = await new SignJWT({ user_id: account.userId, acct: account.accountKey, ep: account.epoch, token_type: "device" })
    .setProtectedHeader(header)
    .setSubject(String(account.userId))
    .setJti(newJti())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + lifetimeSeconds)
    .setIssuer(tokens.issuer)
    .setAudience(tokens.audience)
    .sign(tokens.keys.signing.key);
  return lowS(tokens.keys.algorithm, token);
}

/** The first presented credential that is genuine, unexpired and issued for this account (key, user id, epoch); null otherwise. */
export async function deviceCredentialFor(
  tokens: TokenSettings,
  presented: readonly string[],
  account: CredentialAccount,
  nowMs: number,
): Promise<DeviceCredential | null> {
  const { jwtVerify } = await jose();
  for (const token of presented) {
    if (!hasLowS(tokens.keys.algorithm, token)) continue;
    try {
      const { payload } = await jwtVerify(
        token,
        (header) => {
          const key = tokens.keys.verifying.get(tokens.keys.algorithm === "HS256" ? "" : (header.kid ?? "\u0000"));
          if (!key) throw new Error("unknown key");
          return key;
        },
        {
          algorithms: [tokens.keys.algorithm],
          typ: TYP,
          issuer: tokens.issuer,
          audience: tokens.audience,
          currentDate: new Date(nowMs),
          requiredClaims: ["jti", "exp", "sub", "acct", "ep"],
        },
      );
      if (
        payload.token_type === "device" &&
        payload.acct === account.accountKey &&
        payload.user_id === account.userId &&
        payload.sub === String(account.userId) &&
        payload.ep === account.epoch
      ) {
        return { jti: payload.jti!, userId: payload.user_id };
      }
    } catch {
      // Forged, expired or someone else's: this one earns no trust; try the next.
    }
  }
  return null;
}

function cookieCredentials(cookieHeader: string | null): string[] {
  if (!cookieHeader) return [];
  for (const part of cookieHeader.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === DEVICE_CREDENTIAL_COOKIE) return rest.join("=").split("~").filter(Boolean);
  }
  return [];
}

/** What the request carries: the header's credential(s) first, then the cookie's; bounded in number and size. */
export function presentedCredentials(request: Request): string[] {
  const fromHeader = (request.headers.get(DEVICE_CREDENTIAL_HEADER) ?? "").split(/[~,\s]+/).filter(Boolean);
  return [...fromHeader, ...cookieCredentials(request.headers.get("cookie"))]
    .filter((token) => token.length <= MAX_CREDENTIAL_LENGTH)
    .slice(0, MAX_PRESENTED);
}

/** The account key a credential names, read without verifying (only to drop a browser's older one for the same account). */
function unverifiedAccount(token: string): string | null {
  try {
    const payload = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { acct?: unknown };
    return typeof payload.acct === "string" ? payload.acct : null;
  } catch {
    return null;
  }
}

/** Set-Cookie for the browser: the new credential first, other accounts' after it, at most MAX_COOKIE_CREDENTIALS. */
export function deviceCookie(request: Request, credential: string, accountKey: string, lifetimeSeconds: number): string {
  const others = cookieCredentials(request.headers.get("cookie")).filter(
    (token) => token.length <= MAX_CREDENTIAL_LENGTH && unverifiedAccount(token) !== accountKey,
  );
  const value = [credential, ...others].slice(0, MAX_COOKIE_CREDENTIALS).join("~");
  // __Host-: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2); HttpOnly: page scripts never see it.
  return `${DEVICE_CREDENTIAL_COOKIE}=${value}; Max-Age=${lifetimeSeconds}; Path=/; Secure; HttpOnly; SameSite=Strict`;
}
