/**
 * @module Notices — "new sign-in" and "your password was changed" mails, each with a one-click "this wasn't me" link
 * that ends the session concerned. The link is `/not-me/{uid}/{sid}/{token}`: the token (./account-tokens.ts, its own
 * key) is bound to the user id and that session id, expires with the refresh lifetime (the session cannot outlive it),
 * and is single-use because its use ends the session. Notices are sent after the answer and never fail a request.
 */
import { lazy } from "../lib/lazy";
import { eq } from "drizzle-orm";
import type { Context } from "hono";
import type { AppEnv } from "../http/types";
import * as z from "zod";
import { users } from "../db/schema";
import { nowSeconds, type Deps } from "../deps";
import type { Env } from "../env";
import { ValidationError } from "../http/errors";
import { deliverLater, mailerFor, type Mailer } from "../mail/mailer";
import { newSignInNotice, passwordChangedNotice } from "../mail/templates";
import { checkAccountToken, decodeUid, encodeUid, makeAccountToken, type TokenUser } from "./account-tokens";
import { deviceCredentialFor } from "./device-credential";
import { accountKey } from "./identity";
import { INVALID_TOKEN, INVALID_UID } from "./lifecycle";
import { revokeUserSession, type DeviceInfo } from "./sessions";

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

export const notMeSchema = lazy(() =>
  z.object({ uid: z.string().min(1).max(64), sid: z.string().min(1).max(64), token: z.string().min(1).max(64) }),
);

function binding(userId: number, sid: string): TokenUser {
  return { id: userId, passwordHash: "", lastLogin: null, email: `session:${sid}` };
}

/** The mailer, or null where mail is not configured: a notice is never worth failing a sign-in for. */
function optionalMailer(env: Env, deps: Deps): Mailer | null {
  try {
    return mailerFor(env, deps.config);
  } catch {
    return null;
  }
}

async function notMeUrl(deps: Deps, userId: number, sid: string): Promise<string> {
  const token = await makeAccountToken(deps.config, "not_me", binding(userId, sid), nowSeconds(deps.clock));
  return `${deps.config.issuer}/not-me/${encodeUid(userId)}/${sid}/${token}`;
}

function where(device: DeviceInfo): string {
  const place = [device.city, device.country].filter(Boolean).join(", ");
  return [device.userAgent ? device.userAgent.slice(0, 120) : "an unknown browser", place ? `near ${place}` : ""]
    .filter(Boolean)
    .join(", ");
}

/**
 * After a sign-in: mails the owner unless the client presented a valid device credential for the account (a device
 * seen before). QR sign-ins always mail. Never throws; failures are logged by the mailer.
 */
export async function noticeSignIn(
  env: Env,
  deps: Deps,
  input: { userId: number; sessionId: string; method: "password" | "qr"; device: DeviceInfo; presented?: readonly string[] },
): Promise<void> {
  try {
    const mailer = optionalMailer(env, deps);
    if (!mailer) return;
    const rows = await deps.db.select().from(users).where(eq(users.id, input.userId)).limit(1);
    const user = rows[0];
    if (!user || !user.email) return;
    if (input.method === "password" && input.presented && input.presented.length > 0) {
      const known = await deviceCredentialFor(
        deps.tokens,
        input.presented,
        { userId: user.id, accountKey: accountKey(user.username), epoch: user.credentialsEpoch },
        deps.clock(),
      );
      if (known) return;
    }
    const url = await notMeUrl(deps, user.id, input.sessionId);
    const mail = newSignInNotice({
      to: user.email,
      product: deps.config.productName,
      username: user.username,
      how: input.method === "qr" ? "with a QR code" : "with your password on a new device",
      where: where(input.device),
      url,
    });
    await deliverLater(mailer, mail, "sign_in_notice", null);
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        event: "notice_failed",
        kind: "sign_in_notice",
        time: new Date().toISOString(),
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }
}

/** After a password change by a session: the owner's notice, whose "this wasn't me" ends that session. */
export async function noticePasswordChanged(
  env: Env,
  deps: Deps,
  input: { userId: number; sessionId: string | null; how: "changed" | "reset" },
): Promise<void> {
  try {
    const mailer = optionalMailer(env, deps);
    if (!mailer) return;
    const rows = await deps.db.select().from(users).where(eq(users.id, input.userId)).limit(1);
    const user = rows[0];
    if (!user || !user.email) return;
    const url = input.sessionId ? await notMeUrl(deps, user.id, input.sessionId) : undefined;
    await deliverLater(
      mailer,
      passwordChangedNotice({ to: user.email, product: deps.config.productName, username: user.username, how: input.how, notMeUrl: url }),
      "password_changed",
      null,
    );
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        event: "notice_failed",
        kind: "password_changed",
        time: new Date().toISOString(),
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  }
}

/** POST …/users/not_me/: ends the session the link names; a used, expired or altered link is 400 in djoser's shape. */
export async function notMe(deps: Deps, input: z.output<typeof notMeSchema>): Promise<void> {
  const userId = decodeUid(input.uid);
  if (userId === null) throw new ValidationError({ uid: [INVALID_UID] });
  const ok =
    SESSION_ID.test(input.sid) &&
    (await checkAccountToken(
      deps.config,
      "not_me",
      binding(userId, input.sid),
      input.token,
      nowSeconds(deps.clock),
      deps.config.refreshTokenLifetimeSeconds,
    ));
  if (!ok) throw new ValidationError({ token: [INVALID_TOKEN] });
  // Its use ends the session: a second use finds nothing live to end.
  const ended = await revokeUserSession(deps.db, userId, input.sid, "user_revoked", nowSeconds(deps.clock));
  if (!ended) throw new ValidationError({ token: [INVALID_TOKEN] });
  console.log(JSON.stringify({ level: "info", event: "session_revoked_not_me", user_id: userId, time: new Date().toISOString() }));
}

function claimsOfOwnToken(access: string): { sid: string; user_id: number } {
  const payload = access.split(".")[1] ?? "";
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { sid: string; user_id: number };
}

/** The `sid` of an access token this worker just signed (no check needed: it never left the worker). */
export function sessionIdOfOwnToken(access: string): string {
  return claimsOfOwnToken(access).sid;
}

/** The `user_id` of an access token this worker just signed. */
export function sessionUserOf(access: string): number {
  return claimsOfOwnToken(access).user_id;
}

/** Keeps `work` (already started) alive after the answer with ctx.waitUntil; without a context (app.request in tests), awaits it. */
export async function afterAnswer(c: Context<AppEnv>, work: Promise<void>): Promise<void> {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    await work;
  }
}
