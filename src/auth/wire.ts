/**
 * @module Auth Wire — the answers of the token, account and sessions routes as zod schemas: the route specs
 * declare them, the OpenAPI document shows them, tests in check mode parse every real answer with them, and
 * the types the services return are inferred from them.
 */
import { built } from "../lib/lazy";
import * as z from "zod";
import { REVOKED_BY, SECURITY_EVENT_TYPES, SESSION_METHODS } from "../db/schema";
import { pageSchema } from "../http/pagination";
import { isoDateTime } from "../http/wire";
import { named } from "../openapi/named";

const ID_22 = /^[A-Za-z0-9_-]{22}$/;

export const userSchema = named("User", () =>
  z.strictObject({
    id: z.number().int(),
    username: z.string(),
    email: z.string().meta({ format: "email" }),
    date_joined: isoDateTime("ISO 8601 UTC."),
    last_login: z.string().nullable().meta({ format: "date-time", description: "ISO 8601 UTC; null until the first sign-in." }),
  }),
);
export type PublicUser = z.output<typeof userSchema>;

const tokenPairSchema = named("TokenPair", () =>
  z.strictObject({
    access: z
      .string()
      .meta({ description: "JWT, lifetime ACCESS_TOKEN_LIFETIME (default 300 s). Send as `Authorization: Bearer <access>`." }),
    refresh: z.string().meta({ description: "JWT, lifetime REFRESH_TOKEN_LIFETIME (default 1 day). Rotated on every refresh." }),
  }),
);
export type TokenPair = z.output<typeof tokenPairSchema>;

/** With REFRESH_COOKIE=on a browser's answers carry the access token only; the refresh token is in the cookie. */
const accessOnlySchema = named("AccessToken", () =>
  z.strictObject({
    access: z
      .string()
      .meta({ description: "JWT, lifetime ACCESS_TOKEN_LIFETIME. The refresh token is in the HttpOnly `__Host-refresh` cookie." }),
  }),
);

export const tokenAnswerSchema = named("TokenAnswer", () =>
  z.union([built(tokenPairSchema), built(accessOnlySchema)]).meta({ description: "TokenPair; AccessToken alone when REFRESH_COOKIE=on." }),
);

export const detailSchema = named("Detail", () => z.strictObject({ detail: z.string() }));

export const emptySchema = named("Empty", () => z.strictObject({}).meta({ description: "`{}`" }));

const sessionSchema = named("Session", () =>
  z
    .strictObject({
      id: z.string().regex(ID_22).meta({ description: "Pass to DELETE /api/auth/sessions/{id}/." }),
      method: z.enum(SESSION_METHODS).meta({ description: "How it signed in." }),
      browser: z.string().nullable().meta({ description: "From the user agent." }),
      os: z.string().nullable().meta({ description: "From the user agent." }),
      ip: z.string().nullable(),
      country: z.string().nullable().meta({ description: "ISO 3166-1 alpha-2, from Cloudflare." }),
      city: z.string().nullable(),
      created: isoDateTime("ISO 8601 UTC."),
      last_used: isoDateTime("ISO 8601 UTC; updated on refresh and at most once a minute by use."),
      expires: isoDateTime("When its refresh token expires."),
      current: z.boolean().meta({ description: "The session this request's token belongs to." }),
    })
    .meta({ description: "One signed-in device." }),
);
export type DeviceSession = z.output<typeof sessionSchema>;

export const sessionListSchema = named("SessionList", () => z.array(built(sessionSchema)));

const securityEventSchema = named("SecurityEvent", () =>
  z
    .strictObject({
      id: z.number().int(),
      type: z.enum(SECURITY_EVENT_TYPES).meta({
        description:
          "`signed_in`: a password sign-in started the session; `qr_linked`: a QR login you approved on your phone signed a browser in; `password_changed`: the password was changed from the session; `password_reset`: the password was reset by a mailed link (every session ended); `session_revoked`: the session ended (see `revoked_by`); `signed_out_everywhere`: the session signed out every other one.",
      }),
      created: isoDateTime("When it happened, ISO 8601 UTC."),
      session: z.string().regex(ID_22).nullable().meta({
        description: "The session it concerns: the new one for a sign-in, the ended one for a revocation, the acting one otherwise.",
      }),
      current: z.boolean().meta({ description: "That session is the one making this request." }),
      revoked_by: z.enum(REVOKED_BY).nullable().meta({
        description:
          "`session_revoked` only: `user` (signed out from the sessions list), `reuse_detection` (a rotated-out refresh token came back: presumed stolen), `sign_out` (the device signed itself out).",
      }),
      sessions_ended: z
        .number()
        .int()
        .min(0)
        .nullable()
        .meta({ description: "`password_changed`, `password_reset` and `signed_out_everywhere`: how many other live sessions ended." }),
      browser: z.string().nullable().meta({ description: "From the session's user agent, as the sessions list shows it." }),
      os: z.string().nullable().meta({ description: "From the session's user agent." }),
      country: z
        .string()
        .nullable()
        .meta({ description: "ISO 3166-1 alpha-2, from Cloudflare, when the session started. Never the IP address." }),
      city: z.string().nullable().meta({ description: "From Cloudflare, when the session started." }),
    })
    .meta({ description: "One thing that happened to the account's sign-ins." }),
);
export type SecurityEventOut = z.output<typeof securityEventSchema>;

export const securityEventListSchema = named("PaginatedSecurityEventList", () => pageSchema(built(securityEventSchema)));

export const revokedCountSchema = named("RevokedCount", () => z.strictObject({ revoked: z.number().int().min(0) }));

export const jwksSchema = named("Jwks", () =>
  z
    .strictObject({
      keys: z.array(
        z.strictObject({
          kid: z.string(),
          kty: z.enum(["EC", "OKP"]),
          crv: z.enum(["P-256", "Ed25519"]),
          x: z.string(),
          y: z.string().optional(),
          alg: z.enum(["ES256", "EdDSA"]),
          use: z.literal("sig"),
        }),
      ),
    })
    .meta({ description: "RFC 7517 JWK set: public keys only (`kid`, `kty`, `crv`, `x`, `y`, `alg`, `use`)." }),
);

/** djoser's user answer at registration: `{username, id, email}`. */
export const djoserUserSchema = named("UserCreated", () =>
  z.strictObject({ username: z.string(), id: z.number().int(), email: z.string().meta({ format: "email" }) }),
);
