/**
 * @module OpenAPI Paths — every route outside notes: tokens, account, sessions, QR login, JWKS, pages
 * and the service routes. Request bodies come from the zod schemas the routes validate with; response
 * shapes follow the route modules (the contract in README.md). test/openapi.test.ts fails when a served
 * route is missing here or a path here is not served.
 */
import { DEVICE_CREDENTIAL_COOKIE, DEVICE_CREDENTIAL_HEADER } from "../auth/device-credential";
import { z } from "zod";
import { accountDeleteSchema, accountPatchSchema, passwordChangeSchema } from "../auth/account";
import { credentialsSchema, refreshSchema, registerSchema, verifySchema } from "../auth/service";
import { MAX_LISTED_SESSIONS } from "../auth/devices";
import { SESSION_METHODS } from "../db/schema";
import { approveQrBody, createQrBody } from "../qr/routes";
import {
  fromZod,
  jsonResponse,
  operation,
  pathParam,
  ref,
  schemaRef,
  type JsonSchema,
  type Paths,
  type ResponseObject,
} from "./spec";

const dateTime = (description: string): JsonSchema => ({ type: "string", format: "date-time", description });
const nullable = (type: string, description?: string): JsonSchema => ({ type: [type, "null"], ...(description ? { description } : {}) });
const error = (description: string, code: string, detail: string): ResponseObject =>
  jsonResponse(description, schemaRef("Error"), { detail, code });
const tokenError = (description: string, code: string, detail: string): ResponseObject => ({
  description,
  headers: { "WWW-Authenticate": ref("headers", "WWWAuthenticate") },
  content: { "application/json": { schema: schemaRef("TokenError"), example: { detail, code } } },
});

const EXAMPLE_ACCESS = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleS0xIiwidHlwIjoiSldUIn0.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl";
const EXAMPLE_REFRESH = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImtleS0xIiwidHlwIjoiSldUIn0.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJl";
const ID_22 = { type: "string", pattern: "^[A-Za-z0-9_-]{22}$" } as const;
const QR_ID = { type: "string", pattern: "^[A-Za-z0-9_-]{28}$" } as const;
const B64URL = (description: string): JsonSchema => ({ type: "string", pattern: "^[A-Za-z0-9_-]+$", description });
const ecPublicJwk = (description: string): JsonSchema => ({
  type: "object",
  description,
  properties: { kty: { const: "EC" }, crv: { const: "P-256" }, x: B64URL("32 bytes."), y: B64URL("32 bytes.") },
  required: ["kty", "crv", "x", "y"],
});

const QR_STATES = ["pending", "scanned", "approved", "denied", "expired"] as const;
const qrUser: JsonSchema = {
  type: "object",
  properties: { id: { type: "integer" }, username: { type: "string" } },
  required: ["id", "username"],
};

export const pathsSchemas: Record<string, JsonSchema> = {
  RegisterRequest: fromZod(registerSchema, "input"),
  TokenObtainPairRequest: fromZod(credentialsSchema, "input"),
  TokenRefreshRequest: fromZod(refreshSchema, "input"),
  TokenVerifyRequest: fromZod(verifySchema, "input"),
  TokenBlacklistRequest: fromZod(refreshSchema, "input"),
  PasswordChangeRequest: fromZod(passwordChangeSchema, "input"),
  PatchedUserRequest: fromZod(accountPatchSchema, "input"),
  AccountDeleteRequest: fromZod(accountDeleteSchema, "input"),
  EmptyRequest: {
    ...fromZod(z.object({}), "input"),
    description: "No fields: send no body, or `{}`. Other fields are ignored, as DRF ignores them.",
  },
  QrStartRequest: {
    ...fromZod(createQrBody, "input"),
    description:
      "The browser's ECDH P-256 public key as a JWK (`crypto.subtle.exportKey(\"jwk\", publicKey)`; members other than kty, crv, x and y are ignored). Make the pair with the private key non-extractable: the approved token pair is sealed to this key. A private key (`d`), another curve or a point off the curve is 400 naming `public_key`.",
  },
  QrApproveRequest: {
    ...fromZod(approveQrBody, "input"),
    description: "The number the browser shows (the `code` of its `scanned` event), picked among the view's `choices`. A wrong one ends the login (403 `qr_code_mismatch`).",
  },
  Empty: { type: "object", additionalProperties: false, description: "`{}`" },
  User: {
    type: "object",
    properties: {
      id: { type: "integer" },
      username: { type: "string" },
      email: { type: "string", format: "email" },
      date_joined: dateTime("ISO 8601 UTC."),
      last_login: { ...nullable("string", "ISO 8601 UTC; null until the first sign-in."), format: "date-time" },
    },
    required: ["id", "username", "email", "date_joined", "last_login"],
  },
  TokenPair: {
    type: "object",
    properties: {
      access: { type: "string", description: "JWT, lifetime ACCESS_TOKEN_LIFETIME (default 300 s). Send as `Authorization: Bearer <access>`." },
      refresh: { type: "string", description: "JWT, lifetime REFRESH_TOKEN_LIFETIME (default 1 day). Rotated on every refresh." },
    },
    required: ["access", "refresh"],
  },
  Detail: { type: "object", properties: { detail: { type: "string" } }, required: ["detail"] },
  Session: {
    type: "object",
    description: "One signed-in device.",
    properties: {
      id: { ...ID_22, description: "Pass to DELETE /api/auth/sessions/{id}/." },
      method: { type: "string", enum: [...SESSION_METHODS], description: "How it signed in." },
      browser: nullable("string", "From the user agent."),
      os: nullable("string", "From the user agent."),
      ip: nullable("string"),
      country: nullable("string", "ISO 3166-1 alpha-2, from Cloudflare."),
      city: nullable("string"),
      created: dateTime("ISO 8601 UTC."),
      last_used: dateTime("ISO 8601 UTC; updated on refresh and at most once a minute by use."),
      expires: dateTime("When its refresh token expires."),
      current: { type: "boolean", description: "The session this request's token belongs to." },
    },
    required: ["id", "method", "browser", "os", "ip", "country", "city", "created", "last_used", "expires", "current"],
  },
  Jwks: {
    type: "object",
    description: "RFC 7517 JWK set: public keys only (`kid`, `kty`, `crv`, `x`, `y`, `alg`, `use`).",
    properties: {
      keys: {
        type: "array",
        items: {
          type: "object",
          properties: {
            kid: { type: "string" },
            kty: { type: "string", enum: ["EC", "OKP"] },
            crv: { type: "string", enum: ["P-256", "Ed25519"] },
            x: { type: "string" },
            y: { type: "string" },
            alg: { type: "string", enum: ["ES256", "EdDSA"] },
            use: { type: "string", const: "sig" },
          },
          required: ["kid", "kty", "crv", "x", "alg", "use"],
        },
      },
    },
    required: ["keys"],
  },
  QrLogin: {
    type: "object",
    description: "A new QR login. Keep `secret` in the page that asked: it is the only way to open `ws_url`.",
    properties: {
      id: { ...QR_ID, description: "104 random bits and a 64-bit MAC: ids the worker did not issue are 404 before any Durable Object is addressed." },
      secret: { type: "string", pattern: "^[A-Za-z0-9_-]{43}$", description: "The browser's secret; append `?secret=` to `ws_url`. Stored only as a SHA-256 digest." },
      qr_url: { type: "string", format: "uri", description: "What the code encodes: the phone page `/qr/{id}`. Never contains the secret." },
      ws_url: { type: "string", format: "uri", description: "The browser's WebSocket (ws: or wss:), without the secret." },
      svg_url: { type: "string", format: "uri", description: "The code as SVG." },
      expires_at: dateTime("ISO 8601 UTC; QR_LOGIN_TTL after creation (default 120 s)."),
    },
    required: ["id", "secret", "qr_url", "ws_url", "svg_url", "expires_at"],
  },
  QrLimitedView: {
    type: "object",
    description: "Before the caller's scan: the state and expiry only. Nothing about the browser, nor about whoever scanned.",
    properties: { id: QR_ID, status: { type: "string", enum: [...QR_STATES] }, expires_at: dateTime("ISO 8601 UTC.") },
    required: ["id", "status", "expires_at"],
    additionalProperties: false,
  },
  QrView: {
    type: "object",
    description: "What the phone that scanned is shown: who is asking, until when, whether the browser looks like it is somewhere else, and the three numbers to pick from.",
    properties: {
      id: QR_ID,
      status: { type: "string", enum: [...QR_STATES] },
      created_at: dateTime("ISO 8601 UTC."),
      expires_at: dateTime("ISO 8601 UTC."),
      requester: {
        type: "object",
        description: "The browser that asked to sign in.",
        properties: {
          ip: nullable("string"),
          country: nullable("string"),
          city: nullable("string"),
          user_agent: nullable("string"),
          browser: nullable("string"),
          browser_version: nullable("string"),
          os: nullable("string"),
          os_version: nullable("string"),
          device_type: { type: "string", enum: ["desktop", "mobile", "tablet", "bot", "unknown"] },
          description: { type: "string", examples: ["Firefox 128 on Windows 10"] },
        },
      },
      phone: {
        type: "object",
        description: "This request, as Cloudflare saw it.",
        properties: { ip: nullable("string"), country: nullable("string"), city: nullable("string") },
      },
      mismatch: {
        type: "object",
        description: "true: differs; false: same; null: unknown (or address families differ).",
        properties: { country: nullable("boolean"), network: nullable("boolean") },
      },
      warnings: {
        type: "array",
        items: { type: "string", enum: ["different_country", "different_network"] },
        description: "The cross-device phishing signal: warn before approving.",
      },
      choices: {
        type: ["array", "null"],
        items: { type: "string", pattern: "^[1-9][0-9]$" },
        minItems: 3,
        maxItems: 3,
        description: "Number matching: three distinct 2-digit codes in random order, fixed at the scan; the one the browser shows approves. null once the login is finished.",
      },
    },
    required: ["id", "status", "created_at", "expires_at", "requester", "warnings", "choices"],
  },
  QrEvent: {
    description: "A message the server sends on the browser's WebSocket (JSON text frames). After `approved`, `denied` or `expired` the server closes the socket.",
    oneOf: [
      {
        type: "object",
        title: "pending",
        properties: { type: { const: "pending" }, expires_at: dateTime("ISO 8601 UTC.") },
        required: ["type", "expires_at"],
      },
      {
        type: "object",
        title: "scanned",
        properties: {
          type: { const: "scanned" },
          user: qrUser,
          code: { type: "string", pattern: "^[1-9][0-9]$", description: "The check code: show it large (\"Pick 47 on your phone\")." },
          expires_at: dateTime("ISO 8601 UTC."),
        },
        required: ["type", "user", "code", "expires_at"],
      },
      {
        type: "object",
        title: "approved",
        description:
          "The pair and user, sealed to the browser's key: ECDH(its private key, `epk`) → HKDF-SHA256(salt = the login id, info = \"qr-login pair v1\") → AES-256-GCM key; decrypt `ciphertext` with `iv` and the login id as additional data to get `{\"access\", \"refresh\", \"user\"}`.",
        properties: {
          type: { const: "approved" },
          sealed: {
            type: "object",
            properties: { epk: ecPublicJwk("The worker's ephemeral ECDH public key."), iv: B64URL("12 bytes."), ciphertext: B64URL("AES-GCM output, tag included.") },
            required: ["epk", "iv", "ciphertext"],
          },
        },
        required: ["type", "sealed"],
      },
      {
        type: "object",
        title: "denied",
        properties: { type: { const: "denied" }, reason: { enum: ["code_mismatch", "cancelled"], description: "code_mismatch: the phone picked a wrong number; cancelled: the browser sent cancel." } },
        required: ["type"],
      },
      { type: "object", title: "expired", properties: { type: { const: "expired" } }, required: ["type"] },
    ],
  },
};

const qrId = pathParam("id", "The QR login's id (28 base64url characters, MAC'd by the worker); a malformed id, or one the worker never issued, is 404 before anything else.", { ...QR_ID });
const qrRefusals = {
  "404": ref("responses", "NotFound"),
  "409": error(
    "`qr_claimed`: another account scanned it first; `qr_not_scanned`: approve or deny before this account's scan; `qr_not_pending`: already approved or denied.",
    "qr_not_pending",
    "This login request is already finished.",
  ),
  "410": error("`qr_expired`: the code's time is up.", "qr_expired", "This login code has expired."),
};
const tokenNotValid = tokenError("`token_not_valid`: bad signature or claims, expired, wrong type, or its session ended.", "token_not_valid", "Token is invalid or expired");

function phoneAction(action: "scan" | "approve" | "deny", summary: string, description: string) {
  const approve = action === "approve";
  return {
    post: operation({
      operationId: `qr_${action}`,
      tag: "qr",
      summary,
      description,
      auth: "bearer",
      throttled: true,
      body: approve ? { schema: schemaRef("QrApproveRequest"), required: true } : { schema: schemaRef("EmptyRequest"), required: false },
      responses: {
        "200": jsonResponse("Done; the session as it now is.", schemaRef("QrView")),
        ...(approve ? { "403": error("`qr_code_mismatch`: not the number the browser shows; the login is now denied.", "qr_code_mismatch", "That is not the code shown on the screen; this sign-in has been cancelled.") } : {}),
        ...qrRefusals,
      },
    }),
  };
}

const html = (description: string): ResponseObject => ({ description, content: { "text/html": { schema: { type: "string" } } } });

export const otherPaths: Paths = {
  "/api/auth/register/": {
    post: operation({
      operationId: "auth_register",
      tag: "account",
      summary: "Create an account",
      description: "Username rules are Django's (letters, digits and @ . + - _), case-insensitively unique. Password rules are Django's default validators: at least 8 characters, not too similar to the username or email, not common, not all digits.",
      auth: "anonymous",
      throttled: true,
      body: { schema: schemaRef("RegisterRequest"), example: { username: "alice", email: "alice@example.com", password: "correct horse battery staple" } },
      responses: {
        "201": jsonResponse("Created.", schemaRef("User")),
        "400": jsonResponse("Invalid fields, or the username is taken.", schemaRef("FieldErrors"), { username: ["A user with that username already exists."] }),
      },
    }),
  },
  "/api/auth/me/": {
    get: operation({
      operationId: "auth_me_retrieve",
      tag: "account",
      summary: "Who am I",
      auth: "bearer",
      responses: { "200": jsonResponse("The signed-in user.", schemaRef("User")) },
    }),
    patch: operation({
      operationId: "auth_me_partial_update",
      tag: "account",
      summary: "Change your email",
      description: "Only `email` is writable; validated as at registration.",
      auth: "bearer",
      body: { schema: schemaRef("PatchedUserRequest"), example: { email: "alice@example.org" } },
      responses: { "200": jsonResponse("The user as saved.", schemaRef("User")) },
    }),
    delete: operation({
      operationId: "auth_me_destroy",
      tag: "account",
      summary: "Delete your account",
      description: "Needs the password. Every session ends and the user's data (notes included) is deleted with the account. Wrong passwords count toward the same per-account limit as sign-in.",
      auth: "bearer",
      throttled: true,
      body: { schema: schemaRef("AccountDeleteRequest") },
      responses: {
        "204": { description: "Deleted; no body." },
        "400": jsonResponse("Missing or wrong password.", schemaRef("FieldErrors"), { password: ["Incorrect password."] }),
      },
    }),
  },
  "/api/auth/password/": {
    post: operation({
      operationId: "auth_password_change",
      tag: "account",
      summary: "Change your password",
      description: "Every other session ends (their tokens fail on the next request); the current one keeps working.",
      auth: "bearer",
      throttled: true,
      body: { schema: schemaRef("PasswordChangeRequest") },
      responses: {
        "200": jsonResponse("Saved.", schemaRef("Detail"), { detail: "New password has been saved." }),
        "400": jsonResponse("Wrong old password, or the new one breaks the rules.", schemaRef("FieldErrors"), {
          old_password: ["Your old password was entered incorrectly. Please enter it again."],
        }),
      },
    }),
  },
  "/api/auth/sessions/": {
    get: operation({
      operationId: "auth_sessions_list",
      tag: "sessions",
      summary: "List your devices",
      description: `Live sessions, most recently used first (at most ${MAX_LISTED_SESSIONS}); the one making this request is marked \`current\`.`,
      auth: "bearer",
      responses: { "200": jsonResponse("Your sessions.", { type: "array", items: schemaRef("Session") }) },
    }),
    delete: operation({
      operationId: "auth_sessions_destroy_others",
      tag: "sessions",
      summary: "Sign out everywhere else",
      description: "Ends every live session but the current one.",
      auth: "bearer",
      responses: {
        "200": jsonResponse(
          "How many sessions ended.",
          { type: "object", properties: { revoked: { type: "integer", minimum: 0 } }, required: ["revoked"] },
          { revoked: 2 },
        ),
      },
    }),
  },
  "/api/auth/sessions/{id}/": {
    parameters: [pathParam("id", "A session id from the list.", { ...ID_22 })],
    delete: operation({
      operationId: "auth_sessions_destroy",
      tag: "sessions",
      summary: "Sign out one device",
      description: "Its access and refresh tokens fail on their next request. Unknown, ended or someone else's: 404.",
      auth: "bearer",
      notFound: true,
      responses: { "204": { description: "Ended; no body." } },
    }),
  },
  "/api/token/": {
    post: operation({
      operationId: "token_obtain_pair",
      tag: "tokens",
      summary: "Sign in: get an access and a refresh token",
      description:
        "simplejwt's TokenObtainPairView. Starts a new session (a device in the sessions list). Unknown user and wrong password answer the same, in about the same time; unknown fields (`remember_me`) are ignored. Failed attempts are limited per account (SIGNIN_FAILURE_LIMIT a window, from any IPs): then 429 with Retry-After, also for the right password, so a lock-out reveals nothing. A client that presents a valid device credential for the account (the `X-Device-Credential` header, or the `__Host-device` cookie a browser keeps) has its own budget (SIGNIN_DEVICE_FAILURE_LIMIT) and still signs in while strangers have the account locked.",
      auth: "anonymous",
      throttled: true,
      parameters: [
        {
          name: DEVICE_CREDENTIAL_HEADER,
          in: "header",
          required: false,
          description: "Device credential(s) from earlier successful sign-ins (`~`-separated): OWASP's device cookie for API clients.",
          schema: { type: "string" },
        },
        {
          name: DEVICE_CREDENTIAL_COOKIE,
          in: "cookie",
          required: false,
          description: "The browser's device credentials, set by an earlier successful sign-in.",
          schema: { type: "string" },
        },
      ],
      body: { schema: schemaRef("TokenObtainPairRequest"), example: { username: "alice", password: "correct horse battery staple" } },
      responses: {
        "200": {
          ...jsonResponse("Signed in.", schemaRef("TokenPair"), { access: EXAMPLE_ACCESS, refresh: EXAMPLE_REFRESH }),
          headers: {
            [DEVICE_CREDENTIAL_HEADER]: { description: "A fresh device credential for this account (a JWT with `typ: device+jwt`, valid DEVICE_CREDENTIAL_LIFETIME): keep it and send it back on later sign-ins.", schema: { type: "string" } },
            "Set-Cookie": { description: `\`${DEVICE_CREDENTIAL_COOKIE}=<credentials>; Max-Age=…; Path=/; Secure; HttpOnly; SameSite=Strict\`: the same credential for browsers (up to 5 accounts, \`~\`-separated).`, schema: { type: "string" } },
          },
        },
        "401": tokenError("`no_active_account`: wrong username or password, or an inactive account.", "no_active_account", "No active account found with the given credentials"),
      },
    }),
  },
  "/api/token/refresh/": {
    post: operation({
      operationId: "token_refresh",
      tag: "tokens",
      summary: "Rotate the refresh token",
      description:
        "Answers a new pair; the old refresh token stops working. Presented again within REFRESH_REUSE_INTERVAL (default 10 s) it gets the same successor (two tabs refreshing at once); later, it is treated as stolen and its whole session is revoked.",
      auth: "anonymous",
      body: { schema: schemaRef("TokenRefreshRequest") },
      responses: { "200": jsonResponse("A fresh pair.", schemaRef("TokenPair")), "401": tokenNotValid },
    }),
  },
  "/api/token/verify/": {
    post: operation({
      operationId: "token_verify",
      tag: "tokens",
      summary: "Check a token",
      description: "Signature, claims and — unlike simplejwt — that its session is still live (and, for a refresh token, still current).",
      auth: "anonymous",
      body: { schema: schemaRef("TokenVerifyRequest") },
      responses: { "200": jsonResponse("Valid.", schemaRef("Empty"), {}), "401": tokenNotValid },
    }),
  },
  "/api/token/blacklist/": {
    post: operation({
      operationId: "token_blacklist",
      tag: "tokens",
      summary: "Sign out (this device)",
      description: "Ends the refresh token's session; its access tokens stop working on their next request too.",
      auth: "anonymous",
      body: { schema: schemaRef("TokenBlacklistRequest") },
      responses: { "200": jsonResponse("Signed out.", schemaRef("Empty"), {}), "401": tokenNotValid },
    }),
  },
  "/api/hello/": {
    get: operation({
      operationId: "hello",
      tag: "meta",
      summary: "The smallest protected route",
      auth: "bearer",
      responses: {
        "200": jsonResponse(
          "Hello.",
          { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
          { message: "Hello, World!" },
        ),
      },
    }),
  },
  "/.well-known/jwks.json": {
    get: operation({
      operationId: "jwks",
      tag: "tokens",
      summary: "Public signing keys",
      description: "For services that verify access tokens themselves (they cannot see revocation: they should keep access lifetimes short or call /api/token/verify/). Cacheable for 5 minutes. With HS256 there is no public key: 404.",
      auth: "anonymous",
      notFound: true,
      responses: { "200": jsonResponse("The JWK set.", schemaRef("Jwks")) },
    }),
  },
  "/api/qr/": {
    post: operation({
      operationId: "qr_create",
      tag: "qr",
      summary: "Start a QR login (the browser)",
      description:
        "Takes the browser's ECDH public key, records who is asking (IP, user agent, country and city) and answers the code's URLs and the browser's secret. The browser shows `svg_url` (or renders `qr_url` itself) and opens `ws_url` + `?secret=`.",
      auth: "anonymous",
      throttled: true,
      body: { schema: schemaRef("QrStartRequest"), required: true },
      responses: { "201": jsonResponse("Started. Not cacheable: it holds the secret.", schemaRef("QrLogin")) },
    }),
  },
  "/api/qr/{id}/svg/": {
    parameters: [qrId],
    get: operation({
      operationId: "qr_svg",
      tag: "qr",
      summary: "The code as SVG",
      description: "Encodes `qr_url`. Private cache only, until the code expires. Limited per IP, with the socket and the phone page.",
      auth: "anonymous",
      throttled: true,
      responses: { "200": { description: "The QR code.", content: { "image/svg+xml": { schema: { type: "string" } } } }, ...qrRefusals },
    }),
  },
  "/api/qr/{id}/ws/": {
    parameters: [qrId],
    get: operation({
        operationId: "qr_socket",
        tag: "qr",
        summary: "The browser's WebSocket",
        description:
          "A WebSocket upgrade (`Upgrade: websocket`) with `?secret=`. A browser's `Origin` must be the worker's own or one of CORS_ORIGINS (403 `origin_not_allowed` otherwise, before the object is called); a client that sends no Origin is not a browser page and is let in. On connect the server sends the current state, so a reconnecting browser misses nothing; then each change as it happens (see the QrEvent schema): `pending` → `scanned` (with the check code to show) → `approved` (the token pair sealed to the browser's key, delivered exactly once) | `denied` | `expired`. After a final event the server closes the socket. The browser may send `{\"type\": \"cancel\"}` to walk away from an open login (\"Not you? Get a new code\"): it ends denied (`reason: \"cancelled\"`), so whoever scanned it can no longer approve it; anything else it sends is ignored (\"ping\" is answered \"pong\").",
        auth: "anonymous",
        throttled: true,
        parameters: [{ name: "secret", in: "query", required: true, description: "The `secret` from POST /api/qr/.", schema: { type: "string", pattern: "^[A-Za-z0-9_-]{43}$" } }],
        responses: {
          "101": { description: "Switching protocols; server messages are QrEvent JSON.", content: { "application/json": { schema: schemaRef("QrEvent") } } },
          "403": error("`permission_denied`: missing or wrong secret; `origin_not_allowed`: a page from another origin.", "permission_denied", "Wrong secret for this login code."),
          "404": ref("responses", "NotFound"),
          "426": error("`upgrade_required`: not a WebSocket upgrade.", "upgrade_required", "This endpoint only accepts a WebSocket upgrade."),
        },
      }),
  },
  "/api/qr/{id}/": {
    parameters: [qrId],
    get: operation({
      operationId: "qr_retrieve",
      tag: "qr",
      summary: "Who is asking (the phone)",
      description:
        "Reading changes nothing and tells the browser nothing. Before this account's scan: only the state and expiry (QrLimitedView). After it: the requesting browser, its place, warnings when it is elsewhere than the phone, and the three `choices` (QrView).",
      auth: "bearer",
      throttled: true,
      responses: { "200": jsonResponse("The QR login.", { oneOf: [schemaRef("QrView"), schemaRef("QrLimitedView")] }), ...qrRefusals },
    }),
  },
  "/api/qr/{id}/scan/": {
    parameters: [qrId],
    ...phoneAction(
      "scan",
      "Scan (the phone)",
      "The user's deliberate tap (never on page load): binds the QR login to the phone's user and draws the check code; the browser sees `scanned` with the code, the answer carries the three `choices`. Repeating it as the same user changes nothing; anyone else then gets 409 `qr_claimed`.",
    ),
  },
  "/api/qr/{id}/approve/": {
    parameters: [qrId],
    ...phoneAction(
      "approve",
      "Approve (the phone)",
      "With the number the browser shows: creates a new session for the phone's user (method `qr`, with the browser's details) and delivers its token pair, sealed to the browser's key, in the `approved` event. Needs this account's scan first (409 `qr_not_scanned`); a wrong number denies the login (403 `qr_code_mismatch`); a replay is 409.",
    ),
  },
  "/api/qr/{id}/deny/": {
    parameters: [qrId],
    ...phoneAction("deny", "Deny (the phone)", "Needs this account's scan first (409 `qr_not_scanned`). The browser sees `denied`; nothing is issued."),
  },
  "/login": {
    get: operation({
      operationId: "page_login",
      tag: "pages",
      summary: "The QR login page (desktop)",
      description: "Makes the browser's key, starts a code, shows it and the check code once scanned, and follows the WebSocket until the phone approves; opens the sealed pair. No external scripts, fonts or styles.",
      auth: "anonymous",
      responses: { "200": html("HTML page.") },
    }),
  },
  "/qr/{id}": {
    parameters: [pathParam("id", "The QR login's id, as encoded in the code.")],
    get: operation({
      operationId: "page_qr_approve",
      tag: "pages",
      summary: "The approval page (phone)",
      description: "What the code opens: signs the phone in if needed; opening it changes nothing until the user taps Continue (the scan); then shows who is asking, three numbers to pick from, and Deny. Ids the worker never issued are 404 without touching any object; limited per IP.",
      auth: "anonymous",
      responses: { "200": html("HTML page (also for unknown or finished sessions, which it explains).") },
    }),
  },
  "/health": {
    get: operation({
      operationId: "health",
      tag: "meta",
      summary: "Liveness",
      auth: "anonymous",
      responses: {
        "200": jsonResponse("Up.", { type: "object", properties: { status: { const: "ok" } }, required: ["status"] }, { status: "ok" }),
      },
    }),
  },
  "/api/schema/": {
    get: operation({
      operationId: "schema",
      tag: "meta",
      summary: "This OpenAPI 3.1 document",
      auth: "anonymous",
      responses: { "200": jsonResponse("OpenAPI 3.1 (JSON).", { type: "object" }) },
    }),
  },
  "/api/docs/": {
    get: operation({
      operationId: "docs",
      tag: "meta",
      summary: "This document as a readable page",
      description: "Rendered on the server from /api/schema/; no scripts, works offline.",
      auth: "anonymous",
      responses: { "200": html("HTML reference.") },
    }),
  },
};
