/**
 * @module QR Wire — the QR login's HTTP answers and socket events as zod schemas: the route specs declare
 * them, the OpenAPI document shows them, tests in check mode parse every real answer with them. client/
 * imports the inferred types (type-only), so a change to a body breaks the browser build too.
 */
import { built } from "../lib/lazy";
import * as z from "zod";
import { isoDateTime } from "../http/wire";
import { named } from "../openapi/named";
import type { BrowserCancel, BrowserCode, BrowserEvent, QrUser } from "./policy";

const QR_STATES = ["pending", "scanned", "approved", "denied", "expired"] as const;
const QR_ID = /^[A-Za-z0-9_-]{28}$/;
const CHECK_CODE = /^[0-9]{2}$/;
const base64url = (description: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .meta({ description });
const qrId = () => z.string().regex(QR_ID);

/** POST /api/qr/ 201: the code to show and the socket to follow; `secret` is the browser's alone. */
export const qrCreatedSchema = named("QrLogin", () =>
  z
    .strictObject({
      id: z.string().regex(QR_ID).meta({
        description: "104 random bits and a 64-bit MAC: ids the worker did not issue are 404 before any Durable Object is addressed.",
      }),
      secret: z
        .string()
        .regex(/^[A-Za-z0-9_-]{43,4096}$/)
        .meta({
          description:
            "The browser's secret (opaque base64url, a few hundred characters); append `?secret=` to `ws_url`. Sealed by the worker, never stored.",
        }),
      qr_url: z
        .string()
        .meta({ format: "uri", description: "What the code encodes: the phone page `/qr/{id}`. Never contains the secret." }),
      ws_url: z.string().meta({ format: "uri", description: "The browser's WebSocket (ws: or wss:), without the secret." }),
      svg_url: z.string().meta({ format: "uri", description: "The code as SVG." }),
      expires_at: isoDateTime("ISO 8601 UTC; QR_LOGIN_TTL after creation (default 120 s)."),
    })
    .meta({ description: "A new QR login. Keep `secret` in the page that asked: it is the only way to open `ws_url`." }),
);
export type QrCreated = z.output<typeof qrCreatedSchema>;

/** GET /api/qr/{id}/ before the caller's scan: state and expiry only. */
const qrLimitedSchema = named("QrLimitedView", () =>
  z
    .strictObject({ id: qrId(), status: z.enum(QR_STATES), expires_at: isoDateTime() })
    .meta({ description: "Before the caller's scan: the state and expiry only. Nothing about the browser, nor about whoever scanned." }),
);
export type QrLimitedBody = z.output<typeof qrLimitedSchema>;

const nullableText = (description?: string) => (description ? z.string().nullable().meta({ description }) : z.string().nullable());

/** GET /api/qr/{id}/ after the caller's scan, and the phone actions' answers: who is asking, from how far, and the code. */
export const qrViewSchema = named("QrView", () =>
  z
    .strictObject({
      id: qrId(),
      status: z.enum(QR_STATES),
      created_at: isoDateTime(),
      expires_at: isoDateTime(),
      requester: z
        .strictObject({
          country: nullableText("ISO 3166-1 alpha-2, as Cloudflare placed the browser; null when unknown (always, locally)."),
          city: nullableText("Approximate: Cloudflare's city for the browser's address. The address itself is never shown."),
          user_agent: nullableText(),
          browser: nullableText(),
          browser_version: nullableText(),
          os: nullableText(),
          os_version: nullableText(),
          device_type: z.enum(["desktop", "mobile", "tablet", "bot", "unknown"]),
          description: z.string().meta({ description: "What a person reads.", examples: ["Firefox 128 on Windows 10"] }),
        })
        .meta({ description: "The browser that asked to sign in: its device and approximate place, never its IP address." }),
      phone: z
        .strictObject({ country: nullableText(), city: nullableText() })
        .meta({ description: "This request's place, as Cloudflare saw it." }),
      mismatch: z
        .strictObject({ country: z.boolean().nullable(), network: z.boolean().nullable() })
        .meta({ description: "true: differs; false: same; null: unknown (or address families differ)." }),
      distance: z
        .strictObject({
          km: z
            .number()
            .int()
            .min(0)
            .meta({ description: "Great-circle distance between the two places, rounded; city-level accuracy at best." }),
          far: z.boolean().meta({ description: "More than 300 km: not one metropolitan area." }),
          over_limit: z.boolean().meta({ description: "Beyond QR_MAX_DISTANCE_KM: approving is refused (403 `qr_too_far`)." }),
        })
        .nullable()
        .meta({ description: "How far the browser is from this phone; null when either place is unknown (always, locally)." }),
      warnings: z
        .array(z.enum(["different_country", "different_network", "far_apart"]))
        .meta({ description: "The cross-device phishing signal: warn before approving." }),
      code: z.string().regex(CHECK_CODE).nullable().meta({
        description:
          'The two digits ("00"–"99") the browser\'s user must type; shown only to this phone, drawn at the scan. null once the login is finished.',
      }),
      phone_approved: z.boolean().meta({ description: "This phone approved; the pair is released when the browser sends the right code." }),
      code_entered: z.boolean().meta({ description: "The browser sent the right code; the pair is released when this phone approves." }),
    })
    .meta({
      description: "What the phone that scanned is shown: who is asking, from where and how far, until when, and the code to read out.",
    }),
);
export type QrRequestBody = z.output<typeof qrViewSchema>;

/** GET /api/qr/{id}/: the full view to the account that scanned, the limited one before its scan. */
export const qrLookupSchema = named("QrLookup", () => z.union([built(qrViewSchema), built(qrLimitedSchema)]));

const ecPublicJwk = (description: string) =>
  z.object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: base64url("32 bytes."), y: base64url("32 bytes.") }).meta({ description });
const qrUser = () => z.strictObject({ id: z.number().int(), username: z.string() });

/** What the server sends on the browser's socket (JSON text frames); the document's QrEvent. */
const qrEventSchema = named("QrEvent", () =>
  z
    .union([
      z.strictObject({ type: z.literal("pending"), expires_at: isoDateTime() }).meta({ title: "pending" }),
      z
        .strictObject({
          type: z.literal("scanned"),
          user: qrUser().meta({
            description: 'The account about to sign in: show it ("alice scanned this code — type the number shown on your phone").',
          }),
          expires_at: isoDateTime(),
        })
        .meta({
          title: "scanned",
          description: 'No code: only the bound phone shows it. Answer with `{"type": "code", "code": "42"}` once the user typed it.',
        }),
      z
        .strictObject({
          type: z.literal("approved"),
          sealed: z.strictObject({
            epk: ecPublicJwk("The worker's ephemeral ECDH public key."),
            iv: base64url("12 bytes."),
            ciphertext: base64url("AES-GCM output, tag included."),
          }),
        })
        .meta({
          title: "approved",
          description:
            'The pair and user, sealed to the browser\'s key: ECDH(its private key, `epk`) → HKDF-SHA256(salt = the login id, info = "qr-login pair v1") → AES-256-GCM key; decrypt `ciphertext` with `iv` and the login id as additional data to get `{"access", "refresh", "user"}`.',
        }),
      z
        .strictObject({
          type: z.literal("denied"),
          reason: z.enum(["code_mismatch", "cancelled"]).optional().meta({
            description:
              "code_mismatch: the browser sent a wrong code (one try); cancelled: the browser sent cancel; absent: the phone denied.",
          }),
        })
        .meta({ title: "denied" }),
      z.strictObject({ type: z.literal("expired") }).meta({ title: "expired" }),
    ])
    .meta({
      description:
        "A message the server sends on the browser's WebSocket (JSON text frames). After `approved`, `denied` or `expired` the server closes the socket.",
    }),
);

// The object's event type and this schema describe the same frames: a change to one breaks the build here.
type QrEventCheck = BrowserEvent extends z.input<typeof qrEventSchema> ? true : never;
const _eventsAgree: QrEventCheck = true;
void _eventsAgree;
type QrMessageCheck = BrowserCode | BrowserCancel extends z.input<typeof qrBrowserMessageSchema> ? true : never;
const _messagesAgree: QrMessageCheck = true;
void _messagesAgree;

/** What the browser sends on its socket; the document's QrBrowserMessage. */
const qrBrowserMessageSchema = named("QrBrowserMessage", () =>
  z
    .union([
      z
        .strictObject({
          type: z.literal("code"),
          code: z.string().regex(CHECK_CODE).meta({ description: "The two digits the phone shows, as typed." }),
        })
        .meta({
          title: "code",
          description:
            "Once, before or after the phone approves; a wrong code ends the login. After a reconnect, send the same code again: the right one never counts as a try, and the pair goes only to a socket that sent it.",
        }),
      z
        .strictObject({ type: z.literal("cancel") })
        .meta({ title: "cancel", description: 'Walk away from an open login ("Not you? Get a new code"): it ends denied.' }),
    ])
    .meta({ description: 'A message the browser sends on the QR socket (JSON text frames); "ping" is answered "pong".' }),
);

/** What a SealedPair opens to in the browser. */
export interface QrPairContents {
  access: string;
  refresh: string;
  user: QrUser;
}
