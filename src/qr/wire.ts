/**
 * @module QR Wire — the QR login's HTTP answers and socket events as zod schemas: the route specs declare
 * them, the OpenAPI document shows them, tests in check mode parse every real answer with them. client/
 * imports the inferred types (type-only), so a change to a body breaks the browser build too.
 */
import { z } from "zod";
import { named } from "../openapi/named";
import type { BrowserEvent, QrUser } from "./policy";

const QR_STATES = ["pending", "scanned", "approved", "denied", "expired"] as const;
const QR_ID = /^[A-Za-z0-9_-]{28}$/;
const CHECK_CODE = /^[1-9][0-9]$/;
const isoDateTime = (description = "ISO 8601 UTC.") => z.string().meta({ format: "date-time", description });
const base64url = (description: string) => z.string().regex(/^[A-Za-z0-9_-]+$/).meta({ description });
const qrId = z.string().regex(QR_ID);

/** POST /api/qr/ 201: the code to show and the socket to follow; `secret` is the browser's alone. */
export const qrCreatedSchema = named(
  "QrLogin",
  z
    .strictObject({
      id: z.string().regex(QR_ID).meta({ description: "104 random bits and a 64-bit MAC: ids the worker did not issue are 404 before any Durable Object is addressed." }),
      secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/).meta({ description: "The browser's secret; append `?secret=` to `ws_url`. Stored only as a SHA-256 digest." }),
      qr_url: z.string().meta({ format: "uri", description: "What the code encodes: the phone page `/qr/{id}`. Never contains the secret." }),
      ws_url: z.string().meta({ format: "uri", description: "The browser's WebSocket (ws: or wss:), without the secret." }),
      svg_url: z.string().meta({ format: "uri", description: "The code as SVG." }),
      expires_at: isoDateTime("ISO 8601 UTC; QR_LOGIN_TTL after creation (default 120 s)."),
    })
    .meta({ description: "A new QR login. Keep `secret` in the page that asked: it is the only way to open `ws_url`." }),
);
export type QrCreated = z.output<typeof qrCreatedSchema>;

/** GET /api/qr/{id}/ before the caller's scan: state and expiry only. */
const qrLimitedSchema = named(
  "QrLimitedView",
  z
    .strictObject({ id: qrId, status: z.enum(QR_STATES), expires_at: isoDateTime() })
    .meta({ description: "Before the caller's scan: the state and expiry only. Nothing about the browser, nor about whoever scanned." }),
);
export type QrLimitedBody = z.output<typeof qrLimitedSchema>;

const nullableText = (description?: string) => (description ? z.string().nullable().meta({ description }) : z.string().nullable());

/** GET /api/qr/{id}/ after the caller's scan, and the phone actions' answers: who is asking, and the choices. */
export const qrViewSchema = named(
  "QrView",
  z
    .strictObject({
      id: qrId,
      status: z.enum(QR_STATES),
      created_at: isoDateTime(),
      expires_at: isoDateTime(),
      requester: z
        .strictObject({
          ip: nullableText(),
          country: nullableText(),
          city: nullableText(),
          user_agent: nullableText(),
          browser: nullableText(),
          browser_version: nullableText(),
          os: nullableText(),
          os_version: nullableText(),
          device_type: z.enum(["desktop", "mobile", "tablet", "bot", "unknown"]),
          description: z.string().meta({ description: "What a person reads.", examples: ["Firefox 128 on Windows 10"] }),
        })
        .meta({ description: "The browser that asked to sign in." }),
      phone: z.strictObject({ ip: nullableText(), country: nullableText(), city: nullableText() }).meta({ description: "This request, as Cloudflare saw it." }),
      mismatch: z
        .strictObject({ country: z.boolean().nullable(), network: z.boolean().nullable() })
        .meta({ description: "true: differs; false: same; null: unknown (or address families differ)." }),
      warnings: z.array(z.enum(["different_country", "different_network"])).meta({ description: "The cross-device phishing signal: warn before approving." }),
      choices: z
        .array(z.string().regex(CHECK_CODE))
        .length(3)
        .nullable()
        .meta({ description: "Number matching: three distinct 2-digit codes in random order, fixed at the scan; the one the browser shows approves. null once the login is finished." }),
    })
    .meta({ description: "What the phone that scanned is shown: who is asking, until when, whether the browser looks like it is somewhere else, and the three numbers to pick from." }),
);
export type QrRequestBody = z.output<typeof qrViewSchema>;

/** GET /api/qr/{id}/: the full view to the account that scanned, the limited one before its scan. */
export const qrLookupSchema = named("QrLookup", z.union([qrViewSchema, qrLimitedSchema]));

const ecPublicJwk = (description: string) =>
  z.object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: base64url("32 bytes."), y: base64url("32 bytes.") }).meta({ description });
const qrUser = z.strictObject({ id: z.number().int(), username: z.string() });

/** What the server sends on the browser's socket (JSON text frames); the document's QrEvent. */
const qrEventSchema = named(
  "QrEvent",
  z
    .union([
      z.strictObject({ type: z.literal("pending"), expires_at: isoDateTime() }).meta({ title: "pending" }),
      z
        .strictObject({
          type: z.literal("scanned"),
          user: qrUser,
          code: z.string().regex(CHECK_CODE).meta({ description: "The check code: show it large (\"Pick 47 on your phone\")." }),
          expires_at: isoDateTime(),
        })
        .meta({ title: "scanned" }),
      z
        .strictObject({
          type: z.literal("approved"),
          sealed: z.strictObject({ epk: ecPublicJwk("The worker's ephemeral ECDH public key."), iv: base64url("12 bytes."), ciphertext: base64url("AES-GCM output, tag included.") }),
        })
        .meta({
          title: "approved",
          description:
            "The pair and user, sealed to the browser's key: ECDH(its private key, `epk`) → HKDF-SHA256(salt = the login id, info = \"qr-login pair v1\") → AES-256-GCM key; decrypt `ciphertext` with `iv` and the login id as additional data to get `{\"access\", \"refresh\", \"user\"}`.",
        }),
      z
        .strictObject({
          type: z.literal("denied"),
          reason: z.enum(["code_mismatch", "cancelled"]).optional().meta({ description: "code_mismatch: the phone picked a wrong number; cancelled: the browser sent cancel." }),
        })
        .meta({ title: "denied" }),
      z.strictObject({ type: z.literal("expired") }).meta({ title: "expired" }),
    ])
    .meta({ description: "A message the server sends on the browser's WebSocket (JSON text frames). After `approved`, `denied` or `expired` the server closes the socket." }),
);

// The object's event type and this schema describe the same frames: a change to one breaks the build here.
type QrEventCheck = BrowserEvent extends z.input<typeof qrEventSchema> ? true : never;
const _eventsAgree: QrEventCheck = true;
void _eventsAgree;

/** What a SealedPair opens to in the browser. */
export interface QrPairContents {
  access: string;
  refresh: string;
  user: QrUser;
}
