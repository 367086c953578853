/** @module Account — the signed-in user changes their password or email, or deletes their account. */
import { built, lazy } from "../lib/lazy";
import { audit } from "../http/log";
import { eq, sql } from "drizzle-orm";
import * as z from "zod";
import { users } from "../db/schema";
import { nowSeconds, type Deps } from "../deps";
import { ApiError, ValidationError, type FieldErrors } from "../http/errors";
import { NO_RATE_LIMITS, type RateLimits } from "../http/ratelimit";
import { PASSWORD_MAX_LENGTH, hashPassword, passwordProblems, verifyPassword } from "./passwords";
import { EMAIL_TAKEN, emailSchema, publicUser } from "./service";
import type { Authenticated } from "../http/types";
import type { PublicUser } from "./wire";
import { sessionCache } from "./session-cache";
import { revokeOtherSessionsWith } from "./sessions";
import { announceUserDeleted } from "./user-events";

export const passwordChangeSchema = lazy(() =>
  z.object({
    old_password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
    new_password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  }),
);

// Only `email` is writable; the other fields of the representation are read-only and ignored, as DRF does.
// Changing it needs the password (djoser's `current_password`): a stolen access token cannot take the account.
export const accountPatchSchema = lazy(() =>
  z.object({
    email: built(emailSchema).optional(),
    current_password: z.string().min(1).max(PASSWORD_MAX_LENGTH).optional(),
  }),
);

export const accountDeleteSchema = lazy(() => z.object({ password: z.string().min(1).max(PASSWORD_MAX_LENGTH) }));

const WRONG_OLD_PASSWORD = "Your old password was entered incorrectly. Please enter it again.";
const WRONG_PASSWORD = "Incorrect password.";
const INVALID_PASSWORD = "Invalid password.";

/**
 * Checks the caller's password under a per-user failure budget of its own: a stolen access token cannot
 * guess faster than the sign-in form allows, and strangers locking the sign-in out do not block the owner.
 */
async function checkOwnPassword(deps: Deps, auth: Authenticated, password: string, limits: RateLimits): Promise<boolean> {
  const slot = await limits.passwordAttempt({ kind: "user", userId: auth.session.userId });
  const rows = await deps.db.select({ passwordHash: users.passwordHash }).from(users).where(eq(users.id, auth.session.userId)).limit(1);
  const row = rows[0];
  if (!row) throw new ApiError("user_not_found");
  const check = await verifyPassword(password, row.passwordHash, deps.config.passwordHashParams);
  if (check.ok) await slot.release();
  return check.ok;
}

/** POST /api/auth/password/: every other session of the user ends in the same batch; the current one lives on. */
export async function changePassword(
  deps: Deps,
  auth: Authenticated,
  input: z.output<typeof passwordChangeSchema>,
  limits: RateLimits = NO_RATE_LIMITS,
): Promise<void> {
  const problems = passwordProblems(input.new_password, { username: auth.session.username, email: auth.session.email });
  const ok = await checkOwnPassword(deps, auth, input.old_password, limits);
  // Both fields' problems at once, as a DRF serializer reports them.
  const errors: FieldErrors = {};
  if (!ok) errors.old_password = [WRONG_OLD_PASSWORD];
  if (problems.length > 0) errors.new_password = problems;
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);

  const now = nowSeconds(deps.clock);
  const userId = auth.session.userId;
  const passwordHash = await hashPassword(input.new_password, deps.config.passwordHashParams);
  // One batch: the new hash and the end of every other session happen together or not at all.
  // The epoch moves with the hash: every device credential issued before stops earning trust.
  const newHash = deps.db
    .update(users)
    .set({ passwordHash, passwordChangedAt: now, credentialsEpoch: sql`${users.credentialsEpoch} + 1` })
    .where(eq(users.id, userId));
  await revokeOtherSessionsWith(deps.db, newHash, userId, auth.claims.sid, "password_changed", now);
  audit(deps, "info", "password_changed", { user_id: userId });
}

/**
 * PATCH /api/auth/me/: only the email is writable (validated as at registration), with `current_password`, at most
 * EMAIL_CHANGES_PER_HOUR tries per user whatever their outcome (each one tells whether an address is taken).
 */
export async function updateAccount(
  deps: Deps,
  auth: Authenticated,
  input: z.output<typeof accountPatchSchema>,
  limits: RateLimits = NO_RATE_LIMITS,
): Promise<PublicUser> {
  if (input.email === undefined) return publicUser(auth.session);
  if (input.current_password === undefined) throw new ValidationError({ current_password: ["This field is required."] });
  await limits.passwordAttempt({ kind: "email_change", userId: auth.session.userId });
  if (!(await checkOwnPassword(deps, auth, input.current_password, limits)))
    throw new ValidationError({ current_password: [INVALID_PASSWORD] });
  let rows;
  try {
    rows = await deps.db.update(users).set({ email: input.email }).where(eq(users.id, auth.session.userId)).returning();
  } catch (error) {
    // The unique index on lower(email) decides, so two concurrent PATCHes cannot both take one address.
    if (isUniqueViolation(error)) throw new ValidationError({ email: [EMAIL_TAKEN] });
    throw error;
  }
  // Cached session rows carry the user's fields: the next request must show the new email.
  sessionCache.evictUser(auth.session.userId);
  const user = rows[0];
  if (!user) throw new ApiError("user_not_found");
  return publicUser(user);
}

function isUniqueViolation(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e.message.includes("UNIQUE constraint failed")) return true;
  }
  return false;
}

/** DELETE /api/auth/me/: with the password, deletes the user; foreign keys cascade to sessions and data. */
export async function deleteAccount(
  deps: Deps,
  auth: Authenticated,
  input: z.output<typeof accountDeleteSchema>,
  limits: RateLimits = NO_RATE_LIMITS,
): Promise<void> {
  if (!(await checkOwnPassword(deps, auth, input.password, limits))) throw new ValidationError({ password: [WRONG_PASSWORD] });
  await deps.db.delete(users).where(eq(users.id, auth.session.userId));
  // The cascade removed every session row and the user's data: none may live on in this isolate's caches.
  sessionCache.evictUser(auth.session.userId);
  announceUserDeleted(auth.session.userId);
  audit(deps, "info", "account_deleted", { user_id: auth.session.userId });
}
