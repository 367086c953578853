/** @module Auth Routes — the specs of /api/auth/*, /api/token/*, /api/hello/ and the JWKS: thin bindings over ./service. */
import { lazy } from "../lib/lazy";
import type { Context } from "hono";
import * as z from "zod";
import { deviceFromRequest } from "../http/device";
import { defineRoute } from "../http/endpoint";
import { ApiError, ValidationError } from "../http/errors";
import type { AppEnv } from "../http/types";
import { pageEnvelope, pageQueryFields, pageRequestOf } from "../http/pagination";
import { limitByIp, rateLimitsOf } from "../http/ratelimit";
import { accountDeleteSchema, accountPatchSchema, changePassword, deleteAccount, passwordChangeSchema, updateAccount } from "./account";
import { listEvents } from "./events";
import { DEVICE_CREDENTIAL_COOKIE, DEVICE_CREDENTIAL_HEADER, deviceCookie, presentedCredentials } from "./device-credential";
import { MAX_LISTED_SESSIONS, endOtherSessions, endSession, listSessions } from "./devices";
import { CSRF_HEADER, REFRESH_COOKIE, checkCookieRequest, clearRefreshCookie, cookieRefresh, setRefreshCookie } from "./refresh-cookie";
import { createAccount } from "./djoser-routes";
import { afterAnswer, noticePasswordChanged, noticeSignIn, sessionIdOfOwnToken, sessionUserOf } from "./notices";
import {
  blacklist,
  credentialsSchema,
  obtainPair,
  publicUser,
  refresh,
  refreshBodySchema,
  registerSchema,
  verify,
  verifySchema,
} from "./service";
import {
  detailSchema,
  emptySchema,
  jwksSchema,
  revokedCountSchema,
  securityEventListSchema,
  sessionListSchema,
  tokenAnswerSchema,
  userSchema,
} from "./wire";

const EXAMPLE_ACCESS = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleS0xIiwidHlwIjoiSldUIn0.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl";
const EXAMPLE_REFRESH = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleS0xIiwidHlwIjoiSldUIn0.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl";

const tokenNotValid = {
  description: "`token_not_valid`: bad signature or claims, expired, wrong type, or its session ended.",
  shape: "TokenError",
  example: { detail: "Token is invalid or expired", code: "token_not_valid" },
} as const;

/**
 * The refresh token a refresh or sign-out acts on: the body's, else (REFRESH_COOKIE=on) the cookie's, which only a
 * request with the CSRF proof may use (src/auth/refresh-cookie.ts). Neither: the field is required, as in simplejwt.
 */
function presentedRefresh(c: Context<AppEnv>, fromBody: string | undefined): string {
  if (fromBody !== undefined) return fromBody;
  const config = c.get("deps").config;
  if (config.refreshCookie) {
    checkCookieRequest(c.req.raw, new URL(c.req.url).origin, config.corsOrigins);
    const token = cookieRefresh(c.req.raw);
    if (token) return token;
  }
  throw new ValidationError({ refresh: ["This field is required."] });
}

const cookieMode = `With REFRESH_COOKIE=on the answer carries \`access\` only and sets the refresh token as \`${REFRESH_COOKIE}\` (HttpOnly; Secure; SameSite=Strict; Path=/).`;
const cookieBody = `\`refresh\` is required unless REFRESH_COOKIE=on, where a browser may leave it out and send the \`${REFRESH_COOKIE}\` cookie instead, with an \`${CSRF_HEADER}\` header and an allowed \`Origin\` (403 \`csrf_failed\` otherwise).`;

const fieldErrors = (description: string, example: Record<string, string[]>) => ({ description, shape: "FieldErrors", example }) as const;

/** GET /api/auth/events/'s query: DRF's page parameters. */
const eventListQuerySchema = lazy(() => z.object(pageQueryFields("Events")));

/** Sign in, refresh, verify, sign out, and the public keys: simplejwt's contract (src/auth/resources.ts lists them). */
export const tokenRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/token/",
    operationId: "token_obtain_pair",
    summary: "Sign in: get an access and a refresh token",
    description:
      "simplejwt's TokenObtainPairView. Starts a new session (a device in the sessions list). Unknown user and wrong password answer the same, in about the same time; unknown fields (`remember_me`) are ignored. Failed attempts are limited per account (SIGNIN_FAILURE_LIMIT a window, from any IPs): then 429 with Retry-After, also for the right password, so a lock-out reveals nothing. A client that presents a valid device credential for the account (the `X-Device-Credential` header, or the `__Host-device` cookie a browser keeps) has its own budget (SIGNIN_DEVICE_FAILURE_LIMIT) and still signs in while strangers have the account locked.",
    auth: "anonymous",
    private: true,
    before: [limitByIp("signin_ip")],
    throttled: true,
    headers: {
      [DEVICE_CREDENTIAL_HEADER]: {
        description: "Device credential(s) from earlier successful sign-ins (`~`-separated): OWASP's device cookie for API clients.",
      },
    },
    cookies: {
      [DEVICE_CREDENTIAL_COOKIE]: { description: "The browser's device credentials, set by an earlier successful sign-in." },
    },
    body: {
      schema: credentialsSchema,
      name: "TokenObtainPairRequest",
      example: { username: "alice", password: "correct horse battery staple" },
    },
    responses: {
      200: {
        description: `Signed in. ${cookieMode}`,
        schema: tokenAnswerSchema,
        example: { access: EXAMPLE_ACCESS, refresh: EXAMPLE_REFRESH },
        headers: {
          [DEVICE_CREDENTIAL_HEADER]: {
            description:
              "A fresh device credential for this account (a JWT with `typ: device+jwt`, valid DEVICE_CREDENTIAL_LIFETIME): keep it and send it back on later sign-ins.",
            schema: { type: "string" },
          },
          "Set-Cookie": {
            description: `\`${DEVICE_CREDENTIAL_COOKIE}=<credentials>; Max-Age=…; Path=/; Secure; HttpOnly; SameSite=Strict\`: the same credential for browsers (up to 5 accounts, \`~\`-separated).`,
            schema: { type: "string" },
          },
        },
      },
      401: {
        description: "`no_active_account`: wrong username or password, or an inactive account.",
        shape: "TokenError",
        example: { detail: "No active account found with the given credentials", code: "no_active_account" },
      },
    },
    handler: async (c, { body, json }) => {
      const deps = c.get("deps");
      const device = deviceFromRequest(c.req.raw);
      const presented = presentedCredentials(c.req.raw);
      const signedIn = await obtainPair(deps, body, device, rateLimitsOf(c), presented);
      // A sign-in from a device not seen before: the owner's notice, after the answer (src/auth/notices.ts).
      await afterAnswer(
        c,
        noticeSignIn(c.env, deps, {
          userId: sessionUserOf(signedIn.access),
          sessionId: sessionIdOfOwnToken(signedIn.access),
          method: "password",
          device,
          presented,
        }),
      );
      const lifetime = deps.config.deviceCredentialLifetimeSeconds;
      const cookies = [deviceCookie(c.req.raw, signedIn.deviceCredential, signedIn.accountKey, lifetime)];
      if (deps.config.refreshCookie) cookies.push(setRefreshCookie(signedIn.refresh, deps.config.refreshTokenLifetimeSeconds));
      return json(200, deps.config.refreshCookie ? { access: signedIn.access } : { access: signedIn.access, refresh: signedIn.refresh }, {
        [DEVICE_CREDENTIAL_HEADER]: signedIn.deviceCredential,
        "set-cookie": cookies,
        // Carries a per-account credential: never stored by a shared cache.
        "cache-control": "no-store",
      });
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/token/refresh/",
    operationId: "token_refresh",
    summary: "Rotate the refresh token",
    description:
      "Answers a new pair; the old refresh token stops working. Presented again within REFRESH_REUSE_INTERVAL (default 10 s) it gets the same successor (two tabs refreshing at once); later, it is treated as stolen and its whole session is revoked. " +
      `${cookieMode} A browser page that holds a refresh token (a QR login's unsealed pair) sends it once in the body to move it into the cookie.`,
    auth: "anonymous",
    private: true,
    cookies: { [REFRESH_COOKIE]: { description: "REFRESH_COOKIE=on: the refresh token, when the body has none." } },
    headers: { [CSRF_HEADER]: { description: "Required with the cookie (any non-empty value)." } },
    body: {
      schema: refreshBodySchema,
      name: "TokenRefreshRequest",
      description: cookieBody,
      example: { refresh: "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl" },
    },
    responses: {
      200: { description: "A fresh pair.", schema: tokenAnswerSchema },
      401: tokenNotValid,
      403: {
        description: "`csrf_failed`: the cookie was used without the header or from another origin.",
        shape: "Error",
        example: {
          code: "csrf_failed",
          detail: "A request authenticated by cookie needs the X-Requested-With header and an allowed Origin.",
        },
      },
    },
    handler: async (c, { body, json }) => {
      const deps = c.get("deps");
      const pair = await refresh(deps, { refresh: presentedRefresh(c, body.refresh) });
      if (!deps.config.refreshCookie) return json(200, pair);
      return json(
        200,
        { access: pair.access },
        { "set-cookie": setRefreshCookie(pair.refresh, deps.config.refreshTokenLifetimeSeconds), "cache-control": "no-store" },
      );
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/token/verify/",
    operationId: "token_verify",
    summary: "Check a token",
    description: "Signature, claims and — unlike simplejwt — that its session is still live (and, for a refresh token, still current).",
    auth: "anonymous",
    body: {
      schema: verifySchema,
      name: "TokenVerifyRequest",
      example: { token: "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl" },
    },
    responses: { 200: { description: "Valid.", schema: emptySchema, example: {} }, 401: tokenNotValid },
    handler: async (c, { body, json }) => {
      await verify(c.get("deps"), body);
      return json(200, {});
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/token/blacklist/",
    operationId: "token_blacklist",
    summary: "Sign out (this device)",
    description: `Ends the refresh token's session; its access tokens stop working on their next request too. With REFRESH_COOKIE=on it also clears the \`${REFRESH_COOKIE}\` cookie, whatever the outcome.`,
    auth: "anonymous",
    cookies: { [REFRESH_COOKIE]: { description: "REFRESH_COOKIE=on: the refresh token, when the body has none." } },
    headers: { [CSRF_HEADER]: { description: "Required with the cookie (any non-empty value)." } },
    body: {
      schema: refreshBodySchema,
      name: "TokenBlacklistRequest",
      description: cookieBody,
      example: { refresh: "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl" },
    },
    responses: {
      200: { description: "Signed out.", schema: emptySchema, example: {} },
      401: tokenNotValid,
      403: {
        description: "`csrf_failed`: the cookie was used without the header or from another origin.",
        shape: "Error",
        example: {
          code: "csrf_failed",
          detail: "A request authenticated by cookie needs the X-Requested-With header and an allowed Origin.",
        },
      },
    },
    handler: async (c, { body, json }) => {
      const deps = c.get("deps");
      const clear: Record<string, string> = deps.config.refreshCookie ? { "set-cookie": clearRefreshCookie() } : {};
      try {
        await blacklist(deps, { refresh: presentedRefresh(c, body.refresh) });
      } catch (error) {
        // A refused sign-out still forgets the browser's cookie (CSRF refusals aside: those were not the page's).
        if (error instanceof ApiError && error.code !== "csrf_failed")
          throw new ApiError(error.code, error.message, error.extra, { ...error.headers, ...clear });
        throw error;
      }
      return json(200, {}, clear);
    },
  }),

  defineRoute({
    method: "GET",
    path: "/.well-known/jwks.json",
    operationId: "jwks",
    usesD1: false,
    summary: "Public signing keys",
    description:
      "For services that verify access tokens themselves (they cannot see revocation: they should keep access lifetimes short or call /api/token/verify/). Cacheable for 5 minutes. With HS256 there is no public key: 404.",
    auth: "anonymous",
    notFound: true,
    responses: { 200: { description: "The JWK set.", schema: jwksSchema } },
    handler: (c, { json }) => {
      const published = c.get("deps").tokens.keys.publicJwks;
      if (!published) throw new ApiError("not_found");
      // Verifiers may cache briefly; rotation adds the new key before it signs, so staleness is harmless.
      return json(200, published as z.input<typeof jwksSchema>, { "cache-control": "public, max-age=300" });
    },
  }),
];

/** Register, read and change the account, change the password, delete the account. */
export const accountRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/auth/register/",
    operationId: "auth_register",
    summary: "Create an account",
    description:
      "Username rules are Django's (letters, digits and @ . + - _), case-insensitively unique. Password rules are Django's default validators: at least 8 characters, not too similar to the username or email, not common, not all digits.",
    auth: "anonymous",
    private: true,
    before: [limitByIp("register_ip")],
    throttled: true,
    body: {
      schema: registerSchema,
      name: "RegisterRequest",
      example: { username: "alice", email: "alice@example.com", password: "correct horse battery staple" },
    },
    responses: {
      201: { description: "Created.", schema: userSchema },
      400: fieldErrors("Invalid fields, or the username is taken.", { username: ["A user with that username already exists."] }),
    },
    handler: async (c, { body, json }) => json(201, await createAccount(c, body)),
  }),

  defineRoute({
    method: "GET",
    path: "/api/auth/me/",
    operationId: "auth_me_retrieve",
    d1: "replica",
    summary: "Who am I",
    auth: "bearer",
    responses: { 200: { description: "The signed-in user.", schema: userSchema } },
    handler: (_c, { auth, json }) => json(200, publicUser(auth.session)),
  }),

  defineRoute({
    method: "PATCH",
    path: "/api/auth/me/",
    operationId: "auth_me_partial_update",
    summary: "Change your email",
    description:
      "Only `email` is writable; validated as at registration. Changing it needs `current_password` (djoser's field); wrong passwords count toward the per-user password limit, and at most 5 changes a user an hour are tried (429 beyond), so a stolen access token neither takes the account nor probes which addresses exist.",
    auth: "bearer",
    throttled: true,
    body: {
      schema: accountPatchSchema,
      name: "PatchedUserRequest",
      example: { email: "alice@example.org", current_password: "correct horse battery staple" },
    },
    responses: {
      200: { description: "The user as saved.", schema: userSchema },
      400: fieldErrors("Invalid email, an address already taken, or a missing or wrong current password.", {
        current_password: ["Invalid password."],
      }),
    },
    handler: async (c, { auth, body, json }) => json(200, await updateAccount(c.get("deps"), auth, body, rateLimitsOf(c))),
  }),

  defineRoute({
    method: "DELETE",
    path: "/api/auth/me/",
    operationId: "auth_me_destroy",
    summary: "Delete your account",
    description:
      "Needs the password. Every session ends and the user's data (notes included) is deleted with the account. Wrong passwords count toward the same per-account limit as sign-in.",
    auth: "bearer",
    throttled: true,
    body: { schema: accountDeleteSchema, name: "AccountDeleteRequest", example: { password: "correct horse battery staple" } },
    responses: {
      204: { description: "Deleted; no body." },
      400: fieldErrors("Missing or wrong password.", { password: ["Incorrect password."] }),
    },
    handler: async (c, { auth, body }) => {
      await deleteAccount(c.get("deps"), auth, body, rateLimitsOf(c));
      return c.body(null, 204);
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/auth/password/",
    operationId: "auth_password_change",
    summary: "Change your password",
    description: "Every other session ends (their tokens fail on the next request); the current one keeps working.",
    auth: "bearer",
    throttled: true,
    body: {
      schema: passwordChangeSchema,
      name: "PasswordChangeRequest",
      example: { old_password: "correct horse battery staple", new_password: "a new horse battery staple" },
    },
    responses: {
      200: { description: "Saved.", schema: detailSchema, example: { detail: "New password has been saved." } },
      400: fieldErrors("Wrong old password, or the new one breaks the rules.", {
        old_password: ["Your old password was entered incorrectly. Please enter it again."],
      }),
    },
    handler: async (c, { auth, body, json }) => {
      await changePassword(c.get("deps"), auth, body, rateLimitsOf(c));
      await afterAnswer(
        c,
        noticePasswordChanged(c.env, c.get("deps"), { userId: auth.session.userId, sessionId: auth.claims.sid, how: "changed" }),
      );
      return json(200, { detail: "New password has been saved." });
    },
  }),
];

/** The signed-in devices and the account's security events. */
export const sessionRoutes = [
  defineRoute({
    method: "GET",
    path: "/api/auth/sessions/",
    operationId: "auth_sessions_list",
    d1: "replica",
    summary: "List your devices",
    description: `Live sessions, most recently used first (at most ${MAX_LISTED_SESSIONS}); the one making this request is marked \`current\`.`,
    auth: "bearer",
    responses: { 200: { description: "Your sessions.", schema: sessionListSchema } },
    handler: async (c, { auth: { session, claims }, json }) => {
      return json(200, await listSessions(c.get("deps"), session.userId, claims.sid));
    },
  }),

  defineRoute({
    method: "DELETE",
    path: "/api/auth/sessions/",
    operationId: "auth_sessions_destroy_others",
    summary: "Sign out everywhere else",
    description: "Ends every live session but the current one.",
    auth: "bearer",
    responses: { 200: { description: "How many sessions ended.", schema: revokedCountSchema, example: { revoked: 2 } } },
    handler: async (c, { auth: { session, claims }, json }) => {
      return json(200, { revoked: await endOtherSessions(c.get("deps"), session.userId, claims.sid) });
    },
  }),

  defineRoute({
    method: "DELETE",
    path: "/api/auth/sessions/{id}/",
    operationId: "auth_sessions_destroy",
    summary: "Sign out one device",
    description: "Its access and refresh tokens fail on their next request. Unknown, ended or someone else's: 404.",
    auth: "bearer",
    notFound: true,
    params: { id: { description: "A session id from the list.", schema: { type: "string", pattern: "^[A-Za-z0-9_-]{22}$" } } },
    responses: { 204: { description: "Ended; no body." } },
    handler: async (c, { auth, params }) => {
      await endSession(c.get("deps"), auth.session.userId, params.id);
      return c.body(null, 204);
    },
  }),

  defineRoute({
    method: "GET",
    path: "/api/auth/events/",
    operationId: "auth_events_list",
    d1: "replica",
    summary: "Your account's security events",
    description:
      "What happened to your sign-ins, newest first, a page at a time as DRF paginates: password sign-ins, QR links, password changes, sessions ended (by you, by refresh-token reuse detection, by their own sign-out) and sign-outs everywhere. " +
      "Each names the session it concerns, its device (browser and OS from the user agent) and approximate place (city, country): never an IP address. Each is recorded in the same D1 batch as the change it describes. Kept 90 days; deleted with the account.",
    auth: "bearer",
    query: eventListQuerySchema,
    responses: {
      200: {
        description: "A page of events.",
        schema: securityEventListSchema,
        example: {
          count: 3,
          next: null,
          previous: null,
          results: [
            {
              id: 3,
              type: "qr_linked",
              created: "2026-12-02T07:10:00Z",
              session: "Zx8Lq0vN3pTa6WbY2cRm4k",
              current: false,
              revoked_by: null,
              sessions_ended: null,
              browser: "Firefox 133",
              os: "Windows",
              country: "PT",
              city: "Lisbon",
            },
          ],
        },
      },
      404: { description: "`page` is not a page of this list.", shape: "NotFound", example: { detail: "Invalid page." } },
    },
    handler: async (c, { auth: { session, claims }, query, json }) => {
      const page = await listEvents(c.get("deps"), session.userId, claims.sid, pageRequestOf(query));
      return json(200, pageEnvelope(c.req.url, page.page, page.count, page.pageSize, page.results));
    },
  }),
];
