/**
 * @module djoser Routes — /api/auth/users/…: djoser's endpoints, request and answer shapes and status codes, so a front
 * end written for djoser works with its base URL at /api/auth/. Thin bindings over ./lifecycle and ./account.
 */
import { lazy } from "../lib/lazy";
import type { Context } from "hono";
import { eq } from "drizzle-orm";
import * as z from "zod";
import { users } from "../db/schema";
import { defineRoute } from "../http/endpoint";
import { ApiError, ValidationError } from "../http/errors";
import { limitByIp, rateLimitsOf } from "../http/ratelimit";
import type { AppEnv } from "../http/types";
import { MailUnavailable, mailerFor, type Defer } from "../mail/mailer";
import { changePassword } from "./account";
import {
  INVALID_TOKEN,
  STALE_TOKEN,
  activate,
  confirmEmailChange,
  emailConfirmSchema,
  mePatchSchema,
  requestEmailChange,
  confirmPasswordReset,
  emailOnlySchema,
  requestPasswordReset,
  resendActivation,
  resetConfirmSchema,
  sendActivation,
  uidTokenSchema,
} from "./lifecycle";
import { PASSWORD_MAX_LENGTH } from "./passwords";
import { afterAnswer, notMe, notMeSchema, noticePasswordChanged } from "./notices";
import { publicUser, register, registerSchema } from "./service";
import { djoserUserSchema, userSchema, type PublicUser } from "./wire";

/** ctx.waitUntil when the request has an execution context (app.request() in tests may not): mail after the answer. */
function deferrer(c: Context<AppEnv>): Defer | null {
  try {
    const ctx = c.executionCtx;
    return (work) => ctx.waitUntil(work);
  } catch {
    return null;
  }
}

/**
 * Holds the answer until `floorMs` after `startedMs` (wall time): whatever a known address costs more (building the
 * mail, handing it over) stays under the floor, so the answer's time says nothing about the address.
 */
async function padTo(startedMs: number, floorMs: number): Promise<void> {
  const rest = startedMs + floorMs - Date.now();
  if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
}

/** Per address asked for, whether or not it has an account: a 429 says nothing about it. */
async function throttleAddress(c: Context<AppEnv>, email: string): Promise<void> {
  await rateLimitsOf(c).throttle("account_mail_address", `email:${email.toLowerCase()}`);
}

/**
 * Registration by either route (djoser's users/ and our register/): with ACTIVATION_EMAIL=on the account starts
 * inactive and its activation mail goes out after the answer; no route skips that.
 */
export async function createAccount(c: Context<AppEnv>, body: z.output<typeof registerSchema>): Promise<PublicUser> {
  const deps = c.get("deps");
  // Before anything is written: no account is created that could never get its activation mail.
  const mailer = deps.config.activationEmail ? mailerFor(c.env, deps.config) : null;
  const user = await register(deps, body, { active: !mailer });
  if (mailer) {
    const rows = await deps.db.select().from(users).where(eq(users.id, user.id)).limit(1);
    // A failed mail is logged; resend_activation asks again.
    if (rows[0]) await sendActivation(deps, mailer, rows[0], deferrer(c));
  }
  return user;
}

const fieldErrors = (description: string, example: Record<string, string[]>) => ({ description, shape: "FieldErrors", example }) as const;
const noContent = (description: string) => ({ description: `${description} No body.` });
const linkErrors = fieldErrors(
  "A uid that names nobody, or a token that is wrong, used, expired or made before the password or email changed (djoser's messages).",
  { token: [INVALID_TOKEN] },
);

const uidTokenExample = { uid: "MQ", token: "cd2x4k-3f1e0c9a8b7d6e5f4a3b2c1d0e9f8a7b" };

const setPasswordSchema = lazy(() =>
  z.object({
    current_password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
    new_password: z.string().min(1).max(PASSWORD_MAX_LENGTH),
  }),
);

export const djoserRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/auth/users/me/",
    operationId: "users_me_retrieve",
    d1: "replica",
    summary: "Who am I (djoser)",
    auth: "bearer",
    responses: { 200: { description: "The signed-in user.", schema: userSchema } },
    handler: (_c, { auth, json }) => json(200, publicUser(auth.session)),
  }),

  defineRoute({
    method: "PATCH",
    path: "/api/auth/users/me/",
    operationId: "users_me_partial_update",
    summary: "Change your email, verified (djoser)",
    description:
      "Only `email` is writable, with `current_password`. Nothing changes now: a link goes to the new address (and a notice to the old one), and the address changes when that link is used (POST /api/auth/users/email_confirm/, or our /confirm-email/… page). The answer is the user as it still is. At most 5 tries a user an hour; wrong passwords count toward the per-user password limit. 503 when the link cannot be mailed.",
    auth: "bearer",
    throttled: true,
    body: {
      schema: mePatchSchema,
      name: "PatchedUserEmailRequest",
      example: { email: "alice@example.org", current_password: "correct horse battery staple" },
    },
    responses: {
      200: { description: "The user, unchanged until the link is used.", schema: userSchema },
      400: fieldErrors("Invalid email, an address already taken, or a missing or wrong current password.", {
        current_password: ["Invalid password."],
      }),
      503: {
        description: "`service_unavailable`: the link could not be mailed (logged naming MAILER); nothing changed.",
        shape: "Error",
        example: { detail: "The service is briefly unavailable; try again shortly.", code: "service_unavailable" },
      },
    },
    handler: async (c, { auth, body, json }) => {
      const deps = c.get("deps");
      const mailer = mailerFor(c.env, deps.config);
      try {
        return json(200, await requestEmailChange(deps, mailer, auth, body, rateLimitsOf(c), deferrer(c)));
      } catch (error) {
        if (error instanceof MailUnavailable) throw new ApiError("service_unavailable");
        throw error;
      }
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/auth/users/email_confirm/",
    operationId: "users_email_confirm",
    summary: "Use a mailed email-change link",
    description:
      "The `uid`, `email` (the new address, base64url, as in the link) and `token` of the link mailed by PATCH /api/auth/users/me/. Works once, for PASSWORD_RESET_TIMEOUT seconds, and dies when the password or the address changes first.",
    auth: "anonymous",
    throttled: true,
    before: [limitByIp("account_mail_ip")],
    body: {
      schema: emailConfirmSchema,
      name: "EmailConfirmRequest",
      example: { uid: "MQ", email: "YWxpY2VAZXhhbXBsZS5vcmc", token: uidTokenExample.token },
    },
    responses: { 204: noContent("The address is changed."), 400: linkErrors },
    handler: async (c, { body }) => {
      await confirmEmailChange(c.get("deps"), body);
      return c.body(null, 204);
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/auth/users/",
    operationId: "users_create",
    summary: "Create an account (djoser)",
    description:
      "djoser's registration: the rules of POST /api/auth/register/. With ACTIVATION_EMAIL=on the account stays inactive (sign-in answers `no_active_account`) until the link mailed to it is opened (POST /api/auth/users/activation/).",
    auth: "anonymous",
    private: true,
    before: [limitByIp("register_ip")],
    throttled: true,
    body: {
      schema: registerSchema,
      name: "UserCreateRequest",
      example: { username: "alice", email: "alice@example.com", password: "correct horse battery staple" },
    },
    responses: {
      201: { description: "Created.", schema: djoserUserSchema, example: { username: "alice", id: 1, email: "alice@example.com" } },
      400: fieldErrors("Invalid fields, or the username or email is taken.", { username: ["A user with that username already exists."] }),
    },
    handler: async (c, { body, json }) => {
      const user = await createAccount(c, body);
      return json(201, { username: user.username, id: user.id, email: user.email });
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/auth/users/activation/",
    operationId: "users_activation",
    summary: "Activate an account from its mailed link",
    description:
      "The `uid` and `token` of the activation link. Wrong, expired or tampered: 400; the account already active (the link used): 403 `stale_token`.",
    auth: "anonymous",
    body: { schema: uidTokenSchema, name: "ActivationRequest", example: uidTokenExample },
    responses: {
      204: noContent("Active; sign in now."),
      400: linkErrors,
      403: {
        description: "`stale_token`: the account is already active.",
        shape: "Error",
        example: { detail: STALE_TOKEN, code: "stale_token" },
      },
    },
    handler: async (c, { body }) => {
      await activate(c.get("deps"), body);
      return c.body(null, 204);
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/auth/users/resend_activation/",
    operationId: "users_resend_activation",
    summary: "Mail a new activation link",
    description: "204 whether or not the address belongs to an inactive account (no enumeration); limited per IP and per address.",
    auth: "anonymous",
    before: [limitByIp("account_mail_ip")],
    throttled: true,
    body: { schema: emailOnlySchema, name: "SendEmailResetRequest", example: { email: "alice@example.com" } },
    responses: { 204: noContent("Asked."), 400: fieldErrors("Not an email address.", { email: ["Enter a valid email address."] }) },
    handler: async (c, { body }) => {
      const deps = c.get("deps");
      const mailer = mailerFor(c.env, deps.config);
      await throttleAddress(c, body.email);
      const started = Date.now();
      await resendActivation(deps, mailer, body, deferrer(c));
      await padTo(started, deps.config.accountMailFloorMs);
      return c.body(null, 204);
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/auth/users/reset_password/",
    operationId: "users_reset_password",
    summary: "Forgot password: mail a reset link",
    description:
      "204 whether or not the address belongs to an account, after the same work either way (no enumeration); the mail goes out after the answer, to active accounts only. The link (our /reset/{uid}/{token} page, or FRONTEND_RESET_URL) works once, for PASSWORD_RESET_TIMEOUT seconds, and dies when the password changes or the user signs in. Limited per IP and per address.",
    auth: "anonymous",
    before: [limitByIp("account_mail_ip")],
    throttled: true,
    body: { schema: emailOnlySchema, name: "SendEmailResetRequest", example: { email: "alice@example.com" } },
    responses: { 204: noContent("Asked."), 400: fieldErrors("Not an email address.", { email: ["Enter a valid email address."] }) },
    handler: async (c, { body }) => {
      const deps = c.get("deps");
      // Checked for every request, known address or not: a misconfiguration is a 500 for all alike.
      const mailer = mailerFor(c.env, deps.config);
      await throttleAddress(c, body.email);
      const started = Date.now();
      await requestPasswordReset(deps, mailer, body, deferrer(c));
      await padTo(started, deps.config.accountMailFloorMs);
      return c.body(null, 204);
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/auth/users/reset_password_confirm/",
    operationId: "users_reset_password_confirm",
    summary: "Set a new password from a reset link",
    description:
      "The `uid` and `token` of the link and the new password (the registration rules). Every session of the account ends and every device credential is void; the owner is mailed a notice. Wrong, used, expired or tampered: 400 in djoser's shape, nothing changed.",
    auth: "anonymous",
    throttled: true,
    before: [limitByIp("account_mail_ip")],
    body: {
      schema: resetConfirmSchema,
      name: "PasswordResetConfirmRequest",
      example: { ...uidTokenExample, new_password: "a new horse battery staple" },
    },
    responses: { 204: noContent("Saved; sign in with the new password."), 400: linkErrors },
    handler: async (c, { body }) => {
      const deps = c.get("deps");
      let mailer = null;
      try {
        mailer = mailerFor(c.env, deps.config);
      } catch {
        // The notice is a courtesy: a reset must work even where mail is not configured.
        mailer = null;
      }
      await confirmPasswordReset(deps, mailer, body, deferrer(c));
      return c.body(null, 204);
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/auth/users/set_password/",
    operationId: "users_set_password",
    summary: "Change your password (djoser)",
    description:
      "`current_password` and `new_password` (the registration rules). Every other session ends and every device credential is void; this one keeps working. Wrong passwords count toward the per-user password limit.",
    auth: "bearer",
    throttled: true,
    body: {
      schema: setPasswordSchema,
      name: "SetPasswordRequest",
      example: { current_password: "correct horse battery staple", new_password: "a new horse battery staple" },
    },
    responses: {
      204: noContent("Saved."),
      400: fieldErrors("Wrong current password, or the new one breaks the rules.", { current_password: ["Invalid password."] }),
    },
    handler: async (c, { auth, body }) => {
      try {
        await changePassword(
          c.get("deps"),
          auth,
          { old_password: body.current_password, new_password: body.new_password },
          rateLimitsOf(c),
        );
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        // djoser's field and message for a wrong current password.
        const { old_password, ...rest } = error.fields;
        throw new ValidationError({ ...(old_password ? { current_password: ["Invalid password."] } : {}), ...rest });
      }
      await afterAnswer(
        c,
        noticePasswordChanged(c.env, c.get("deps"), { userId: auth.session.userId, sessionId: auth.claims.sid, how: "changed" }),
      );
      return c.body(null, 204);
    },
  }),
];

/** djoser-shaped, but of the sessions resource: "this wasn't me" ends the session a notice names. */
export const notMeRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/auth/users/not_me/",
    operationId: "users_not_me",
    summary: '"This wasn\'t me": end the session a notice names',
    description:
      "The `uid`, `sid` and `token` of the link in a new-sign-in or password-changed notice. Ends that session (its tokens fail on their next request). Works once, until the refresh lifetime has passed.",
    auth: "anonymous",
    throttled: true,
    before: [limitByIp("account_mail_ip")],
    body: {
      schema: notMeSchema,
      name: "NotMeRequest",
      example: { uid: "MQ", sid: "AAAAAAAAAAAAAAAAAAAAAA", token: uidTokenExample.token },
    },
    responses: { 204: noContent("That session is ended."), 400: linkErrors },
    handler: async (c, { body }) => {
      await notMe(c.get("deps"), body);
      return c.body(null, 204);
    },
  }),
];
