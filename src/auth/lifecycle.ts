/**
 * @module Account Lifecycle — djoser's mailed flows as plain functions over Deps and a Mailer: password reset (ask,
 * confirm), activation (ACTIVATION_EMAIL=on), set_password. Links carry a `uid` and a `token` (./account-tokens.ts).
 *
 * No answer names an address as known or unknown: asking for a reset or an activation mail does the same work (one
 * read, one token) whoever asks, and the mail itself goes out after the answer. A reset's new hash and the end of every
 * session and device credential (credentials_epoch + 1) are one batch, and only the first use of a link wins.
 */
import { built, lazy } from "../lib/lazy";
import { and, eq, ne, sql } from "drizzle-orm";
import * as z from "zod";
import type { Config } from "../config";
import { users, type User } from "../db/schema";
import { nowSeconds, type Deps } from "../deps";
import { ApiError, ValidationError } from "../http/errors";
import { deliverLater, deliverNow, type Defer, type Mailer } from "../mail/mailer";
import { activationMail, emailChangeMail, emailChangeNotice, passwordChangedNotice, passwordResetMail } from "../mail/templates";
import { bytesToBase64Url, base64UrlToBytes } from "../lib/bytes";
import type { RateLimits } from "../http/ratelimit";
import { EMAIL_TAKEN, publicUser } from "./service";
import type { Authenticated } from "../http/types";
import type { PublicUser } from "./wire";
import { sessionCache } from "./session-cache";
import { verifyPassword } from "./passwords";
import { checkAccountToken, decodeUid, encodeUid, makeAccountToken, type TokenPurpose, type TokenUser } from "./account-tokens";
import { PASSWORD_MAX_LENGTH, hashPassword, passwordProblems } from "./passwords";
import { emailSchema } from "./service";
import { revokeAllSessionsWith } from "./sessions";

/** djoser's messages, word for word: front ends written for djoser show or match them. */
export const INVALID_UID = "Invalid user id or user doesn't exist.";
export const INVALID_TOKEN = "Invalid token for given user.";
export const STALE_TOKEN = "Stale token for given user.";

const uidField = () => z.string().min(1).max(64);
const tokenField = () => z.string().min(1).max(64);

export const emailOnlySchema = lazy(() => z.object({ email: built(emailSchema) }));
export const uidTokenSchema = lazy(() => z.object({ uid: uidField(), token: tokenField() }));
export const resetConfirmSchema = lazy(() =>
  z.object({ uid: uidField(), token: tokenField(), new_password: z.string().min(1).max(PASSWORD_MAX_LENGTH) }),
);

/** A user no link is ever made for, so an unknown address costs the same HMAC as a known one. */
const NOBODY: TokenUser = { id: 0, passwordHash: "", lastLogin: null, email: "" };

/** Where a mailed link points: the product's own page (FRONTEND_*_URL template), else ours under JWT_ISSUER. */
function linkFor(config: Config, purpose: TokenPurpose, uid: string, token: string): string {
  const template = purpose === "password_reset" ? config.frontendResetUrl : config.frontendActivationUrl;
  if (template) return template.replaceAll("{uid}", encodeURIComponent(uid)).replaceAll("{token}", encodeURIComponent(token));
  return `${config.issuer}/${purpose === "password_reset" ? "reset" : "activate"}/${uid}/${token}`;
}

function tokenUser(user: User): TokenUser {
  return { id: user.id, passwordHash: user.passwordHash, lastLogin: user.lastLogin, email: user.email };
}

async function userByEmail(deps: Deps, email: string): Promise<User | null> {
  const rows = await deps.db.select().from(users).where(sql`lower(${users.email}) = lower(${email}) AND ${users.email} <> ''`).limit(1);
  return rows[0] ?? null;
}

/** Django's has_usable_password(): an imported "!…" hash can never match, so it is never reset by mail either. */
function hasUsablePassword(user: User): boolean {
  return !user.passwordHash.startsWith("!");
}

function logEvent(event: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ level: "info", event, time: new Date().toISOString(), ...fields }));
}

/** POST …/reset_password/: mails a link to an active account with this address; nothing else, and the same answer. */
export async function requestPasswordReset(
  deps: Deps,
  mailer: Mailer,
  input: z.output<typeof emailOnlySchema>,
  defer: Defer | null,
): Promise<void> {
  const user = await userByEmail(deps, input.email);
  const now = nowSeconds(deps.clock);
  const wanted = user !== null && user.isActive && hasUsablePassword(user);
  const token = await makeAccountToken(deps.config, "password_reset", wanted ? tokenUser(user) : NOBODY, now);
  if (!wanted) return;
  const url = linkFor(deps.config, "password_reset", encodeUid(user.id), token);
  const mail = passwordResetMail({
    to: user.email,
    product: deps.config.productName,
    username: user.username,
    url,
    validMinutes: Math.floor(deps.config.passwordResetTimeoutSeconds / 60),
  });
  logEvent("password_reset_requested", { user_id: user.id });
  await deliverLater(mailer, mail, "password_reset", defer);
}

/** The user a uid/token pair names, checked for `purpose`; 400 in djoser's shape otherwise. */
async function userOfLink(deps: Deps, purpose: TokenPurpose, uid: string, token: string): Promise<User> {
  const id = decodeUid(uid);
  const rows = id === null ? [] : await deps.db.select().from(users).where(eq(users.id, id)).limit(1);
  const user = rows[0];
  if (!user) throw new ValidationError({ uid: [INVALID_UID] });
  if (!(await checkAccountToken(deps.config, purpose, tokenUser(user), token, nowSeconds(deps.clock))))
    throw new ValidationError({ token: [INVALID_TOKEN] });
  return user;
}

/**
 * POST …/reset_password_confirm/: the new password (validated as at registration) replaces the one the token was made
 * for, every session ends and every device credential is void, in one batch; the owner gets a notice.
 */
export async function confirmPasswordReset(
  deps: Deps,
  mailer: Mailer | null,
  input: z.output<typeof resetConfirmSchema>,
  defer: Defer | null,
): Promise<void> {
  const user = await userOfLink(deps, "password_reset", input.uid, input.token);
  const problems = passwordProblems(input.new_password, { username: user.username, email: user.email });
  if (problems.length > 0) throw new ValidationError({ new_password: problems });
  const now = nowSeconds(deps.clock);
  const passwordHash = await hashPassword(input.new_password, deps.config.passwordHashParams);
  // Compare-and-set on the hash the token was made for: of two uses of one link, one wins.
  const newHash = deps.db
    .update(users)
    .set({ passwordHash, passwordChangedAt: now, credentialsEpoch: sql`${users.credentialsEpoch} + 1` })
    .where(sql`${users.id} = ${user.id} AND ${users.passwordHash} = ${user.passwordHash}`)
    .returning({ id: users.id });
  const changed = await revokeAllSessionsWith<Array<{ id: number }>>(deps.db, newHash, user.id, passwordHash, "password_reset", now);
  if (changed.length === 0) throw new ValidationError({ token: [INVALID_TOKEN] });
  logEvent("password_reset", { user_id: user.id });
  if (mailer && user.email)
    await deliverLater(
      mailer,
      passwordChangedNotice({ to: user.email, product: deps.config.productName, username: user.username, how: "reset" }),
      "password_changed",
      defer,
    );
}

/** The activation mail for a new, inactive account (registration or resend). */
export async function sendActivation(deps: Deps, mailer: Mailer, user: User, defer: Defer | null): Promise<void> {
  const token = await makeAccountToken(deps.config, "activation", tokenUser(user), nowSeconds(deps.clock));
  const url = linkFor(deps.config, "activation", encodeUid(user.id), token);
  const mail = activationMail({
    to: user.email,
    product: deps.config.productName,
    username: user.username,
    url,
    validMinutes: Math.floor(deps.config.passwordResetTimeoutSeconds / 60),
  });
  await deliverLater(mailer, mail, "activation", defer);
}

/** POST …/resend_activation/: a fresh link for an inactive account with this address; the same answer otherwise. */
export async function resendActivation(
  deps: Deps,
  mailer: Mailer,
  input: z.output<typeof emailOnlySchema>,
  defer: Defer | null,
): Promise<void> {
  const user = await userByEmail(deps, input.email);
  const wanted = user !== null && !user.isActive && hasUsablePassword(user);
  if (!wanted) {
    await makeAccountToken(deps.config, "activation", NOBODY, nowSeconds(deps.clock));
    return;
  }
  await sendActivation(deps, mailer, user, defer);
}

/**
 * POST …/activation/: a valid link activates its inactive account (once: the update is conditional); an account
 * already active answers 403 `stale_token`, as djoser does.
 */
export async function activate(deps: Deps, input: z.output<typeof uidTokenSchema>): Promise<void> {
  const user = await userOfLink(deps, "activation", input.uid, input.token);
  if (user.isActive) throw new ApiError("stale_token");
  const rows = await deps.db
    .update(users)
    .set({ isActive: true })
    .where(sql`${users.id} = ${user.id} AND ${users.isActive} = 0`)
    .returning({ id: users.id });
  if (rows.length === 0) throw new ApiError("stale_token");
  logEvent("account_activated", { user_id: user.id });
}

export const mePatchSchema = lazy(() =>
  z.object({
    email: built(emailSchema).optional(),
    current_password: z.string().min(1).max(PASSWORD_MAX_LENGTH).optional(),
  }),
);
export const emailConfirmSchema = lazy(() => z.object({ uid: uidField(), email: z.string().min(1).max(400), token: tokenField() }));

/** The new address in a link: base64url of its bytes (no `@` or `+` to mangle in a path). */
function encodeAddress(email: string): string {
  return bytesToBase64Url(new TextEncoder().encode(email));
}

function decodeAddress(encoded: string): string | null {
  try {
    const parsed = emailSchema.safeParse(new TextDecoder().decode(base64UrlToBytes(encoded)));
    return parsed.success && encodeAddress(parsed.data) === encoded ? parsed.data : null;
  } catch {
    return null;
  }
}

/** An email-change token is bound to the user's password hash, the current address and the new one (not the last login). */
function emailChangeBinding(user: User, newEmail: string): TokenUser {
  return { id: user.id, passwordHash: user.passwordHash, lastLogin: null, email: `${user.email}\n${newEmail}` };
}

/**
 * PATCH …/users/me/ with a new `email`: needs `current_password` (5 tries a user an hour, and the per-user password
 * budget); mails a link to the new address and a notice to the old one; the address changes when the link is used.
 * A link that cannot be sent is a 503 (MailUnavailable) and nothing changed.
 */
export async function requestEmailChange(
  deps: Deps,
  mailer: Mailer,
  auth: Authenticated,
  input: z.output<typeof mePatchSchema>,
  limits: RateLimits,
  defer: Defer | null,
): Promise<PublicUser> {
  const current = auth.session;
  if (input.email === undefined || input.email.toLowerCase() === current.email.toLowerCase()) return publicUser(current);
  if (input.current_password === undefined) throw new ValidationError({ current_password: ["This field is required."] });
  await limits.passwordAttempt({ kind: "email_change", userId: current.userId });
  const slot = await limits.passwordAttempt({ kind: "user", userId: current.userId });
  const rows = await deps.db.select().from(users).where(eq(users.id, current.userId)).limit(1);
  const user = rows[0];
  if (!user) throw new ApiError("user_not_found");
  if (!(await verifyPassword(input.current_password, user.passwordHash, deps.config.passwordHashParams)).ok)
    throw new ValidationError({ current_password: ["Invalid password."] });
  await slot.release();
  const taken = await deps.db
    .select({ id: users.id })
    .from(users)
    .where(and(sql`lower(${users.email}) = lower(${input.email})`, ne(users.id, user.id)))
    .limit(1);
  if (taken.length > 0) throw new ValidationError({ email: [EMAIL_TAKEN] });
  const token = await makeAccountToken(deps.config, "email_change", emailChangeBinding(user, input.email), nowSeconds(deps.clock));
  const url = `${deps.config.issuer}/confirm-email/${encodeUid(user.id)}/${encodeAddress(input.email)}/${token}`;
  const minutes = Math.floor(deps.config.passwordResetTimeoutSeconds / 60);
  await deliverNow(
    mailer,
    emailChangeMail({ to: input.email, product: deps.config.productName, username: user.username, url, validMinutes: minutes }),
    "email_change",
  );
  if (user.email)
    await deliverLater(
      mailer,
      emailChangeNotice({ to: user.email, product: deps.config.productName, username: user.username, newAddress: input.email }),
      "email_change_notice",
      defer,
    );
  logEvent("email_change_requested", { user_id: user.id });
  return publicUser(user);
}

/** POST …/users/email_confirm/: the link's new address replaces the one it was made for (once: the update is conditional). */
export async function confirmEmailChange(deps: Deps, input: z.output<typeof emailConfirmSchema>): Promise<void> {
  const id = decodeUid(input.uid);
  const rows = id === null ? [] : await deps.db.select().from(users).where(eq(users.id, id)).limit(1);
  const user = rows[0];
  if (!user) throw new ValidationError({ uid: [INVALID_UID] });
  const email = decodeAddress(input.email);
  if (
    email === null ||
    !(await checkAccountToken(deps.config, "email_change", emailChangeBinding(user, email), input.token, nowSeconds(deps.clock)))
  )
    throw new ValidationError({ token: [INVALID_TOKEN] });
  let changed;
  try {
    changed = await deps.db
      .update(users)
      .set({ email })
      .where(sql`${users.id} = ${user.id} AND ${users.email} = ${user.email} AND ${users.passwordHash} = ${user.passwordHash}`)
      .returning({ id: users.id });
  } catch (error) {
    // Taken since the link was mailed: the unique index on lower(email) decides.
    if (String(error).includes("UNIQUE") || String((error as { cause?: unknown }).cause).includes("UNIQUE"))
      throw new ValidationError({ email: [EMAIL_TAKEN] });
    throw error;
  }
  if (changed.length === 0) throw new ValidationError({ token: [INVALID_TOKEN] });
  // Cached session rows carry the address: the next request must show the new one.
  sessionCache.evictUser(user.id);
  logEvent("email_changed", { user_id: user.id });
}
