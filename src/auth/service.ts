/** @module Auth Service — register, sign in, refresh, verify, log out, authenticate: plain functions over Deps. */
import { built, lazy } from "../lib/lazy";
import { audit } from "../http/log";
import { and, eq, sql } from "drizzle-orm";
import * as z from "zod";
import { users, type SessionMethod } from "../db/schema";
import { nowSeconds, type Deps } from "../deps";
import { ApiError, ValidationError } from "../http/errors";
import { NO_RATE_LIMITS, type RateLimits } from "../http/ratelimit";
import { sha256Base64Url } from "../lib/bytes";
import { deviceCredentialFor, issueDeviceCredential } from "./device-credential";
import { USERNAME_PATTERN, accountKey, normalizeEmail, normalizeUsername } from "./identity";

import { sessionCache } from "./session-cache";
import type { PublicUser, TokenPair } from "./wire";
import { PASSWORD_MAX_LENGTH, hashPassword, passwordProblems, verifyPassword } from "./passwords";
import {
  isLive,
  loadSession,
  loadSessionWithUser,
  prepareSession,
  revokeSession,
  rotateRefresh,
  touchSession,
  type DeviceInfo,
} from "./sessions";
import { TokenError, accessClaims, refreshClaims, signToken, successorJti, verifyToken } from "./tokens";
import type { Authenticated, SessionWithUser, TokenClaims } from "../http/types";

const USERNAME_MAX_LENGTH = 150;
const EMAIL_MAX_LENGTH = 254;

// Django's username rule, checked after NFKC: letters, digits and @ . + - _ only.
const usernameField = () =>
  z
    .string()
    .overwrite(normalizeUsername)
    .min(1)
    .max(USERNAME_MAX_LENGTH)
    .regex(USERNAME_PATTERN, "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.");
export const emailSchema = lazy(() => z.email().max(EMAIL_MAX_LENGTH).overwrite(normalizeEmail));

export const EMAIL_TAKEN = "A user with that email address already exists.";
const USERNAME_TAKEN = "A user with that username already exists.";

// Unknown fields are ignored (src/http/validation.ts), as DRF's serializers do.
export const registerSchema = lazy(() =>
  z.object({
    username: usernameField(),
    email: built(emailSchema),
    password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  }),
);

export const credentialsSchema = lazy(() =>
  z.object({
    username: z.string().overwrite(normalizeUsername).min(1).max(USERNAME_MAX_LENGTH),
    password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  }),
);

const refreshTokenField = () => z.string().min(1).max(4096);
export const refreshSchema = lazy(() => z.object({ refresh: refreshTokenField() }));
/** Refresh and sign-out bodies: `refresh` may be left out when REFRESH_COOKIE=on and the browser's cookie carries it. */
export const refreshBodySchema = lazy(() => z.object({ refresh: refreshTokenField().optional() }));
export const verifySchema = lazy(() => z.object({ token: z.string().min(1).max(4096) }));

export function isoSeconds(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(".000Z", "Z");
}

export function publicUser(row: {
  id?: number;
  userId?: number;
  username: string;
  email: string;
  dateJoined: number;
  lastLogin: number | null;
}): PublicUser {
  return {
    id: (row.id ?? row.userId)!,
    username: row.username,
    email: row.email,
    date_joined: isoSeconds(row.dateJoined),
    last_login: row.lastLogin === null ? null : isoSeconds(row.lastLogin),
  };
}

function tokenNotValid(detail: string): ApiError {
  return new ApiError("token_not_valid", detail);
}

export async function register(
  deps: Deps,
  input: z.output<typeof registerSchema>,
  options: { active?: boolean } = {},
): Promise<PublicUser> {
  const problems = passwordProblems(input.password, input);
  if (problems.length > 0) throw new ValidationError({ password: problems });
  // Hash before looking for a clash, so a taken username costs the same time as a free one.
  const passwordHash = await hashPassword(input.password, deps.config.passwordHashParams);
  const now = nowSeconds(deps.clock);
  const usernameKey = accountKey(input.username);
  // Any clash (username key or lower(email)) inserts nothing; then say which field, as DRF's unique validators do.
  const rows = await deps.db
    .insert(users)
    .values({ username: input.username, usernameKey, email: input.email, passwordHash, dateJoined: now, isActive: options.active ?? true })
    .onConflictDoNothing()
    .returning();
  const user = rows[0];
  if (!user) throw new ValidationError(await clashes(deps, usernameKey, input.email));
  return publicUser(user);
}

/** Which unique fields an insert clashed on. */
async function clashes(deps: Deps, usernameKey: string, email: string): Promise<Record<string, string[]>> {
  const [byName, byEmail] = await deps.db.batch([
    deps.db.select({ id: users.id }).from(users).where(eq(users.usernameKey, usernameKey)).limit(1),
    deps.db.select({ id: users.id }).from(users).where(sql`lower(${users.email}) = lower(${email}) AND ${users.email} <> ''`).limit(1),
  ]);
  const errors: Record<string, string[]> = {};
  if (byName.length > 0) errors.username = [USERNAME_TAKEN];
  if (byEmail.length > 0 || byName.length === 0) errors.email = [EMAIL_TAKEN];
  return errors;
}

/** Signs the first pair of a brand-new session (used by password sign-in and QR approval alike). */
export async function startSession(
  deps: Deps,
  userId: number,
  method: SessionMethod,
  device: DeviceInfo,
  extraStatements: "last_login" | "none" = "none",
): Promise<TokenPair & { sessionId: string }> {
  const now = nowSeconds(deps.clock);
  const { session, statements } = await prepareSession(deps.db, {
    userId,
    method,
    device,
    nowSeconds: now,
    lifetimeSeconds: deps.config.refreshTokenLifetimeSeconds,
  });
  if (extraStatements === "last_login") {
    await deps.db.batch([...statements, deps.db.update(users).set({ lastLogin: now }).where(eq(users.id, userId))]);
  } else {
    await deps.db.batch(statements);
  }
  const [access, refresh] = await Promise.all([
    signToken(deps.tokens, accessClaims(deps.tokens, userId, session.id, now)),
    signToken(deps.tokens, refreshClaims(deps.tokens, userId, session.id, session.refreshJti, now, session.expiresAt)),
  ]);
  return { access, refresh, sessionId: session.id };
}

export interface SignedIn extends TokenPair {
  /** A fresh device credential for this account (src/auth/device-credential.ts), for the cookie and the header. */
  deviceCredential: string;
  accountKey: string;
  userId: number;
}

/**
 * POST /api/token/: the same answer at the same time (SIGNIN_REFUSAL_FLOOR_MS) whether the user is unknown, the
 * password wrong, or the hash in any format. The failure budget is the device credential's own when `presented` holds a valid one for this
 * account, else the account's (shared by every untrusted client, whatever its IP).
 */
export async function obtainPair(
  deps: Deps,
  input: z.output<typeof credentialsSchema>,
  device: DeviceInfo,
  limits: RateLimits = NO_RATE_LIMITS,
  presented: readonly string[] = [],
): Promise<SignedIn> {
  // Started first: a refusal answers at this floor whatever the account's hash format, or no account at all.
  const floor = refusalFloor(deps.config.signInRefusalFloorMs);
  try {
    const signedIn = await signIn(deps, input, device, limits, presented);
    audit(deps, "info", "signed_in", { user_id: signedIn.userId, method: "password" });
    return signedIn;
  } catch (error) {
    // Neither the username nor the password is logged: an account is named only once it is proven.
    if (error instanceof ApiError && error.code === "no_active_account") {
      audit(deps, "warn", "signin_failed");
      await floor.reached;
    } else if (error instanceof ApiError && error.code === "throttled") audit(deps, "warn", "signin_throttled");
    throw error;
  } finally {
    floor.cancel();
  }
}

/** A timer started now; `reached` resolves `ms` later (at once for 0). Timers fire on wall time, not CPU time. */
function refusalFloor(ms: number): { reached: Promise<void>; cancel(): void } {
  if (ms <= 0) return { reached: Promise.resolve(), cancel: () => {} };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const reached = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { reached, cancel: () => clearTimeout(timer) };
}

async function signIn(
  deps: Deps,
  input: z.output<typeof credentialsSchema>,
  device: DeviceInfo,
  limits: RateLimits,
  presented: readonly string[],
): Promise<SignedIn> {
  const usernameKey = accountKey(input.username);
  const rows = await deps.db.select().from(users).where(eq(users.usernameKey, usernameKey)).limit(1);
  const user = rows[0] ?? null;
  // A credential counts only for this very account (user id and credentials epoch): no user, no trust.
  const trusted =
    limits.enabled && user && presented.length > 0
      ? await deviceCredentialFor(
          deps.tokens,
          presented,
          { userId: user.id, accountKey: usernameKey, epoch: user.credentialsEpoch },
          deps.clock(),
        )
      : null;
  // Before the hash: during a lock-out a right password gets the same 429 as a wrong one.
  const slot = await limits.passwordAttempt(
    trusted ? { kind: "device", jti: trusted.jti, userId: trusted.userId } : { kind: "account", accountKey: usernameKey },
  );
  const check = await verifyPassword(input.password, user?.passwordHash ?? null, deps.config.passwordHashParams);
  if (!user || !check.ok || !user.isActive) throw new ApiError("no_active_account");
  await slot.release();
  if (check.needsRehash) {
    // Only if unchanged meanwhile: a password change racing this sign-in must win.
    const upgraded = await hashPassword(input.password, deps.config.passwordHashParams);
    await deps.db
      .update(users)
      .set({ passwordHash: upgraded })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash)));
  }
  const now = nowSeconds(deps.clock);
  const [{ access, refresh }, deviceCredential] = await Promise.all([
    startSession(deps, user.id, "password", device, "last_login"),
    issueDeviceCredential(
      deps.tokens,
      { userId: user.id, accountKey: usernameKey, epoch: user.credentialsEpoch },
      now,
      deps.config.deviceCredentialLifetimeSeconds,
    ),
  ]);
  return { access, refresh, deviceCredential, accountKey: usernameKey, userId: user.id };
}

async function verifyOrThrow(deps: Deps, token: string, expected?: "access" | "refresh"): Promise<TokenClaims> {
  try {
    return await verifyToken(deps.tokens, token, deps.clock(), expected);
  } catch (error) {
    if (error instanceof TokenError)
      throw tokenNotValid(
        error.reason === "expired" ? "Token is expired" : error.reason === "wrong_type" ? "Token has wrong type" : "Token is invalid",
      );
    throw error;
  }
}

/**
 * POST /api/token/refresh/: rotates the refresh token. A token rotated out within
 * REFRESH_REUSE_INTERVAL gets the successor already issued; any other replay revokes the session.
 */
export async function refresh(deps: Deps, input: z.output<typeof refreshSchema>): Promise<TokenPair> {
  const claims = await verifyOrThrow(deps, input.refresh, "refresh");
  const now = nowSeconds(deps.clock);
  const presentedHash = await sha256Base64Url(claims.jti);
  const nextJti = await successorJti(claims.jti);
  const successorHash = await sha256Base64Url(nextJti);
  const lifetime = deps.config.refreshTokenLifetimeSeconds;

  const rotated = await rotateRefresh(deps.db, {
    sid: claims.sid,
    presentedHash,
    successorHash,
    nowSeconds: now,
    lifetimeSeconds: lifetime,
  });
  if (rotated) {
    const [access, refreshToken] = await Promise.all([
      signToken(deps.tokens, accessClaims(deps.tokens, rotated.userId, claims.sid, now)),
      signToken(deps.tokens, refreshClaims(deps.tokens, rotated.userId, claims.sid, nextJti, now, rotated.expiresAt)),
    ]);
    return { access, refresh: refreshToken };
  }

  const session = await loadSession(deps.db, claims.sid);
  if (!session || session.userId !== claims.user_id) throw tokenNotValid("Token is invalid");
  if (session.revokedAt !== null) throw tokenNotValid("Token is blacklisted");
  if (session.expiresAt <= now) throw tokenNotValid("Token is expired");
  if (session.refreshHash === presentedHash) {
    // Current token, live session, yet the rotation matched nothing: the account is inactive.
    throw new ApiError("no_active_account");
  }
  // REFRESH_REUSE_INTERVAL=0: no grace at all, not even within the same second.
  const withinGrace =
    deps.config.refreshReuseIntervalSeconds > 0 &&
    session.previousRefreshHash === presentedHash &&
    session.refreshHash === successorHash &&
    session.rotatedAt !== null &&
    now - session.rotatedAt <= deps.config.refreshReuseIntervalSeconds;
  if (withinGrace) {
    // Two tabs refreshing at once: hand back the successor already issued (same jti), not a new one.
    const [access, refreshToken] = await Promise.all([
      signToken(deps.tokens, accessClaims(deps.tokens, session.userId, session.id, now)),
      signToken(deps.tokens, refreshClaims(deps.tokens, session.userId, session.id, nextJti, session.refreshIssuedAt, session.expiresAt)),
    ]);
    return { access, refresh: refreshToken };
  }
  await revokeSession(deps.db, session.id, "refresh_reuse", now);
  audit(deps, "warn", "refresh_reuse", { user_id: session.userId });
  throw tokenNotValid("Token is blacklisted");
}

/** POST /api/token/verify/: signature, claims, and — unlike simplejwt — the session and refresh-token state. */
export async function verify(deps: Deps, input: z.output<typeof verifySchema>): Promise<void> {
  const claims = await verifyOrThrow(deps, input.token);
  const now = nowSeconds(deps.clock);
  if (claims.token_type === "access") {
    // An access token needs only the session's liveness, which may come from this isolate's copy.
    checkSessionOf(claims, await readSession(deps, claims.sid), now);
    return;
  }
  // A refresh token must still be the session's current one: always read D1 (hashes are never cached).
  const session = checkSessionOf(claims, await loadSession(deps.db, claims.sid), now);
  if (session.refreshHash !== (await sha256Base64Url(claims.jti))) throw tokenNotValid("Token is blacklisted");
}

function checkSessionOf<S extends { userId: number; revokedAt: number | null; expiresAt: number }>(
  claims: TokenClaims,
  session: S | null,
  now: number,
): S {
  if (!session || session.userId !== claims.user_id) throw tokenNotValid("Token is invalid");
  if (!isLive(session, now)) throw tokenNotValid("Token is blacklisted");
  return session;
}

/** The session and its user for a bearer check: this isolate's copy if younger than SESSION_CACHE_TTL, else D1. */
function readSession(deps: Deps, sid: string): Promise<SessionWithUser | null> {
  const load = async (id: string) => {
    const row = await loadSessionWithUser(deps.db, id);
    // A replica may not have a session created moments ago (a sign-in elsewhere): only the primary can say it is gone.
    return row ?? (deps.primaryDb ? loadSessionWithUser(deps.primaryDb(), id) : null);
  };
  // A client that sent its bookmark reads its own writes (its sign-out, its revocation): no copy older than the bookmark.
  return sessionCache.read(sid, deps.clock(), deps.config.sessionCacheTtlSeconds * 1000, load, deps.readAfterMs ?? undefined);
}

/** POST /api/token/blacklist/: logs the session out; its access tokens die with it. */
export async function blacklist(deps: Deps, input: z.output<typeof refreshSchema>): Promise<void> {
  const claims = await verifyOrThrow(deps, input.refresh, "refresh");
  const session = await loadSession(deps.db, claims.sid);
  if (!session || session.userId !== claims.user_id) throw tokenNotValid("Token is invalid");
  const revoked = await revokeSession(deps.db, claims.sid, "logout", nowSeconds(deps.clock));
  if (!revoked) throw tokenNotValid("Token is blacklisted");
  audit(deps, "info", "signed_out", { user_id: session.userId });
}

function bearerFailure(message: string): ApiError {
  return new ApiError("token_not_valid", "Given token not valid for any token type", {
    messages: [{ token_class: "AccessToken", token_type: "access", message }],
  });
}

/** "Last used" is written at most this often per session, so reads never turn into a write per request. */
const LAST_USED_RESOLUTION_SECONDS = 60;

/** Runs work after the response (ctx.waitUntil); without one, the caller awaits it. */
export type Defer = (work: Promise<unknown>) => void;

/**
 * The bearer check: jose verification, then the session joined to its user — one primary-key read of D1,
 * or none while this isolate's copy is younger than SESSION_CACHE_TTL (src/auth/session-cache.ts).
 * At most once a minute per session it also moves `last_used_at`, off the response path when `defer` is given.
 */
export async function authenticate(deps: Deps, authorization: string | null, defer?: Defer): Promise<Authenticated> {
  if (authorization === null || authorization.trim() === "") throw new ApiError("not_authenticated");
  const parts = authorization.trim().split(/\s+/);
  if (parts[0]!.toLowerCase() !== "bearer") throw new ApiError("not_authenticated");
  if (parts.length !== 2) {
    throw new ApiError("bad_authorization_header");
  }
  let claims: TokenClaims;
  try {
    claims = await verifyToken(deps.tokens, parts[1]!, deps.clock(), "access");
  } catch (error) {
    if (error instanceof TokenError) throw bearerFailure(error.message);
    throw error;
  }
  const session = await readSession(deps, claims.sid);
  const now = nowSeconds(deps.clock);
  if (!session || session.userId !== claims.user_id) throw bearerFailure("Token is invalid");
  if (!isLive(session, now)) throw bearerFailure("Token is blacklisted");
  if (!session.isActive) throw new ApiError("user_inactive");
  if (now - session.lastUsedAt >= LAST_USED_RESOLUTION_SECONDS) {
    // A failure only leaves the time stale.
    const touch = touchSession(deps.db, session.sessionId, now, LAST_USED_RESOLUTION_SECONDS).catch(() => {});
    if (defer) defer(touch);
    else await touch;
  }
  return { claims, session };
}
