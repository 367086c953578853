/**
 * @module QR Routes — /api/qr/*: thin HTTP bindings that validate, authenticate, then call the session's object.
 * Every route that takes an id first proves the worker issued it (ids.ts), so a forged id never addresses an object.
 */
import { built, lazy } from "../lib/lazy";
import { audit } from "../http/log";
import type { Context, MiddlewareHandler } from "hono";
import * as z from "zod";
import type { DeviceInfo } from "../auth/sessions";
import { getConfig } from "../config";
import { deviceFromRequest, placeFromRequest, type Place } from "../http/device";
import { ApiError, ValidationError } from "../http/errors";
import { originAllowed } from "../http/origins";
import { defineRoute, type PathParamSpec } from "../http/endpoint";
import { defineResource } from "../http/resource";
import type { AppEnv, Authenticated } from "../http/types";
import { parseUserAgent } from "../http/user-agent";
import {
  NOW_HEADER,
  TICKET_HEADER,
  getQrIdKeys,
  isIssuedQrId,
  isQrSecret,
  newQrId,
  newQrSecret,
  openQrSecret,
  qrIdExpiresAtMs,
} from "./ids";
import { enforceQrRateLimit } from "./limits";
import { FINISHED_RETENTION_MS, isoMs, type QrUser } from "./policy";
import { renderQrSvg } from "./render";
import { importPublicKey, publicJwkSchema } from "./seal";
import type { BrowserTicket, QrLimitedView, QrLogin, QrView, ViewResult } from "./session";
import { qrCreatedSchema, qrLookupSchema, qrViewSchema, type QrCreated, type QrLimitedBody, type QrRequestBody } from "./wire";
import { compareRequests, proximity } from "./signals";

// Unknown fields are ignored, as DRF ignores them.
const noFields = lazy(() => z.object({}));
const noFieldsBody = {
  schema: noFields,
  name: "EmptyRequest",
  description: "No fields: send no body, or `{}`. Other fields are ignored, as DRF ignores them.",
  required: false,
  example: {},
};

/** POST /api/qr/: the browser's ECDH P-256 public key (its private key never leaves the browser). */
const createQrBody = lazy(() => z.object({ public_key: built(publicJwkSchema) }));

/** The phone approval page the code encodes; never carries the secret. */
function qrPageUrl(origin: string, id: string): string {
  return `${origin}/qr/${id}`;
}

function sessionStub(c: Context<AppEnv>, id: string) {
  return c.env.QR_SESSION.get(c.env.QR_SESSION.idFromName(id));
}

/** Whether the worker issued `id` (format and MAC): the check every id route makes before any object is addressed. */
export async function issuedHere(env: AppEnv["Bindings"], id: string | undefined): Promise<boolean> {
  return isIssuedQrId(await getQrIdKeys(getConfig(env)), id);
}

/** Ids the worker never issued, and ids a minute past their expiry (their object's storage is gone), are 404 here, before anything is billed or authenticated. */
function issuedQrId(): MiddlewareHandler<AppEnv> {
  return async function qrId(c, next) {
    const id = c.req.param("id");
    if (!(await issuedHere(c.env, id))) throw new ApiError("not_found");
    if (c.get("deps").clock() >= qrIdExpiresAtMs(id!) + FINISHED_RETENTION_MS) throw new ApiError("not_found");
    await next();
  };
}

/** The login an issued id names (the id carries its expiry). */
function loginOf(id: string): QrLogin {
  return { id, expiresAtMs: qrIdExpiresAtMs(id) };
}

function unwrap(result: ViewResult): QrView {
  if (!result.ok) throw new ApiError(result.code);
  return result.view;
}

/** Before the caller's scan: the state and expiry, nothing about the browser or anyone who scanned. */
function limitedBody(view: QrLimitedView): QrLimitedBody {
  return { id: view.id, status: view.state, expires_at: isoMs(view.expiresAtMs) };
}

function phoneUser(auth: Authenticated): QrUser {
  const { userId, username } = auth.session;
  return { id: userId, username };
}

/** This request as the QR routes see it: its device, and its place (QR_DEV_PLACES lets tests name one). */
function caller(c: Context<AppEnv>): { device: DeviceInfo; place: Place | null } {
  const devPlaces = c.get("deps").config.qrDevPlaces;
  return { device: deviceFromRequest(c.req.raw, { devPlaces }), place: placeFromRequest(c.req.raw, { devPlaces }) };
}

/** What the phone page shows: who is asking (device and approximate place, never the IP), how far, until when, and the code. */
function viewBody(c: Context<AppEnv>, view: QrView): QrRequestBody {
  const phone = caller(c);
  const agent = parseUserAgent(view.browser.userAgent);
  const mismatch = compareRequests(view.browser, phone.device);
  const distance = proximity(view.browserPlace, phone.place, c.get("deps").config.qrMaxDistanceKm);
  const warnings = [...mismatch.warnings, ...(distance.far ? (["far_apart"] as const) : [])];
  return {
    id: view.id,
    status: view.state,
    created_at: isoMs(view.createdAtMs),
    expires_at: isoMs(view.expiresAtMs),
    requester: {
      country: view.browser.country,
      city: view.browser.city,
      user_agent: view.browser.userAgent,
      browser: agent.browser,
      browser_version: agent.browserVersion,
      os: agent.os,
      os_version: agent.osVersion,
      device_type: agent.deviceType,
      description: agent.label,
    },
    phone: { country: phone.device.country, city: phone.device.city },
    mismatch: { country: mismatch.country, network: mismatch.network },
    distance: distance.km === null ? null : { km: distance.km, far: distance.far, over_limit: distance.overLimit },
    warnings,
    code: view.code,
    phone_approved: view.phoneApproved,
    code_entered: view.codeEntered,
  };
}

// Before the id check, so forged ids count against the caller too.
const lookup: MiddlewareHandler<AppEnv> = async function qrLookupLimit(c, next) {
  await enforceQrRateLimit(c, "lookup");
  await next();
};

// Checked by the handler, not the schema: a socket without its secret is 403, as a wrong one is.
const socketQuery = lazy(() =>
  z.object({
    secret: z
      .string()
      .meta({
        description: "The `secret` from POST /api/qr/ (opaque base64url). Required: without it, 403.",
        pattern: "^[A-Za-z0-9_-]{43,4096}$",
      })
      .optional(),
  }),
);

const idParam: Record<"id", PathParamSpec> = {
  id: {
    description:
      "The QR login's id (28 base64url characters, MAC'd by the worker); a malformed id, or one the worker never issued, is 404 before anything else.",
    schema: { type: "string", pattern: "^[A-Za-z0-9_-]{28}$" },
  },
};

const qrRefusals = {
  409: {
    description:
      "`qr_claimed`: another account scanned it first; `qr_not_scanned`: approve or deny before this account's scan; `qr_not_pending`: already approved, denied or being completed; `qr_browser_away`: a scan while nobody has acted and the browser's socket is not open (nothing is known yet about who is asking; try again once it reconnects).",
    shape: "Error",
    example: { code: "qr_not_pending", detail: "This login request is already finished." },
  },
  410: {
    description: "`qr_expired`: the code's time is up.",
    shape: "Error",
    example: { code: "qr_expired", detail: "This login code has expired." },
  },
} as const;

const PHONE_ACTIONS = {
  scan: {
    summary: "Scan (the phone)",
    description:
      "The user's deliberate tap (never on page load): binds the QR login to the phone's user and draws the two-digit `code`, which only this answer (and GET for this account) carries; the browser sees `scanned` with the account's name and no code. Repeating it as the same user changes nothing; anyone else then gets 409 `qr_claimed`.",
  },
  deny: {
    summary: "Deny (the phone)",
    description: "Needs this account's scan first (409 `qr_not_scanned`). The browser sees `denied`; nothing is issued.",
  },
} as const;

/** POST /api/qr/{id}/scan|approve|deny/: the phone acts on the login; answers the session as it now is. */
async function phoneAct(
  c: Context<AppEnv>,
  auth: Authenticated,
  action: "scan" | "approve" | "deny",
  id: string,
  json: (status: 200, body: QrRequestBody, headers: Record<string, string>) => Response,
) {
  const user = phoneUser(auth);
  await enforceQrRateLimit(c, action, user.id);
  const stub = sessionStub(c, id);
  const nowMs = c.get("deps").clock();
  const login = loginOf(id);
  const result =
    action === "scan"
      ? await stub.scan(login, user, nowMs)
      : action === "approve"
        ? await stub.approve(login, user, nowMs, { phonePlace: caller(c).place, maxDistanceKm: c.get("deps").config.qrMaxDistanceKm })
        : await stub.deny(login, user, nowMs);
  const view = unwrap(result);
  if (action !== "scan") audit(c.get("deps"), "info", action === "approve" ? "qr_approved" : "qr_denied", { user_id: user.id });
  return json(200, viewBody(c, view), { "cache-control": "no-store" });
}

const qrRoutes = [
  defineRoute({
    method: "POST",
    path: "/api/qr/",
    operationId: "qr_create",
    usesD1: false,
    summary: "Start a QR login (the browser)",
    description:
      "Takes the browser's ECDH public key, records who is asking (IP, user agent, and where Cloudflare places it: country, city, coordinates) and answers the code's URLs and the browser's secret. The browser shows `svg_url` (or renders `qr_url` itself) and opens `ws_url` + `?secret=`.",
    auth: "anonymous",
    private: true,
    throttled: true,
    body: {
      schema: createQrBody,
      name: "QrStartRequest",
      description:
        'The browser\'s ECDH P-256 public key as a JWK (`crypto.subtle.exportKey("jwk", publicKey)`; members other than kty, crv, x and y are ignored). Make the pair with the private key non-extractable: the approved token pair is sealed to this key. A private key (`d`), another curve or a point off the curve is 400 naming `public_key`.',
      example: {
        public_key: {
          kty: "EC",
          crv: "P-256",
          x: "pICB4TWjf7-YeMVjftvNyKwOUQy6p1HpJsRxa0lKJl8",
          y: "bLNtpB7UUgj08PWedQ3YNpIFEmY44hl2lc6_58iXYTs",
        },
      },
    },
    responses: { 201: { description: "Started. Not cacheable: it holds the secret.", schema: qrCreatedSchema } },
    handler: async (c, { body, json }) => {
      const publicKey = body.public_key;
      try {
        await importPublicKey(publicKey);
      } catch {
        throw new ValidationError({ public_key: ["Not a valid P-256 public key."] });
      }
      await enforceQrRateLimit(c, "create");
      const deps = c.get("deps");
      const keys = await getQrIdKeys(deps.config);
      const nowMs = deps.clock();
      const expiresAtMs = nowMs + deps.config.qrLoginTtlSeconds * 1000;
      // No object is addressed: the id carries its expiry, the secret what the object will need (ids.ts).
      const qrId = await newQrId(keys, expiresAtMs);
      const { device, place } = caller(c);
      const secret = await newQrSecret(keys, qrId, {
        publicKey,
        browser: device,
        browserPlace: place,
        createdAtMs: nowMs,
      } satisfies BrowserTicket);
      // The configured origin (JWT_ISSUER), never the request's Host: these URLs are handed to other devices.
      const origin = deps.config.issuer;
      const created: QrCreated = {
        id: qrId,
        secret,
        qr_url: qrPageUrl(origin, qrId),
        ws_url: `${origin.replace(/^http/, "ws")}/api/qr/${qrId}/ws/`,
        svg_url: `${origin}/api/qr/${qrId}/svg/`,
        expires_at: isoMs(expiresAtMs),
      };
      // The body holds the browser's secret: no cache may keep it.
      return json(201, created, { "cache-control": "no-store" });
    },
  }),

  defineRoute({
    method: "GET",
    path: "/api/qr/{id}/svg/",
    operationId: "qr_svg",
    usesD1: false,
    summary: "The code as SVG",
    description: "Encodes `qr_url`. Private cache only, until the code expires. Limited per IP, with the socket and the phone page.",
    auth: "anonymous",
    before: [lookup, issuedQrId()],
    throttled: true,
    params: idParam,
    notFound: true,
    responses: { 200: { description: "The QR code.", content: { type: "image/svg+xml", schema: { type: "string" } } }, ...qrRefusals },
    handler: async (c, { params }) => {
      const nowMs = c.get("deps").clock();
      const login = loginOf(params.id);
      const { state } = await sessionStub(c, params.id).peek(login, nowMs);
      if (state === "expired") throw new ApiError("qr_expired");
      if (state === "approved" || state === "denied") throw new ApiError("qr_not_pending");
      const maxAge = Math.max(0, Math.floor((login.expiresAtMs - nowMs) / 1000));
      return c.body(await renderQrSvg(qrPageUrl(c.get("deps").config.issuer, params.id)), 200, {
        "content-type": "image/svg+xml; charset=utf-8",
        // Only the browser that asked may keep it, and only while the code is valid.
        "cache-control": `private, max-age=${maxAge}`,
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
      });
    },
  }),

  defineRoute({
    method: "GET",
    path: "/api/qr/{id}/ws/",
    operationId: "qr_socket",
    usesD1: false,
    summary: "The browser's WebSocket",
    description:
      'A WebSocket upgrade (`Upgrade: websocket`) with `?secret=`. A browser\'s `Origin` must be the worker\'s own or one of CORS_ORIGINS (403 `origin_not_allowed` otherwise, before the object is called); a client that sends no Origin is not a browser page and is let in. On connect the server sends the current state, so a reconnecting browser misses nothing; then each change as it happens (see the QrEvent schema): `pending` → `scanned` (the account about to sign in; no code) → `approved` (the token pair sealed to the browser\'s key, delivered exactly once) | `denied` | `expired`. After a final event the server closes the socket. The browser sends (see QrBrowserMessage) `{"type": "code", "code": "42"}` once its user typed the code the phone shows, before or after the phone approves: the pair is released when both happened, and only on a socket that sent the right code (after a reconnect, send it again); a wrong code ends the login (`denied`, `reason: "code_mismatch"`). `{"type": "cancel"}` walks away from an open login ("Not you? Get a new code"): it ends denied (`reason: "cancelled"`), so whoever scanned it can no longer approve it. Anything else is ignored ("ping" is answered "pong").',
    auth: "anonymous",
    before: [lookup, issuedQrId()],
    throttled: true,
    params: idParam,
    notFound: true,
    query: socketQuery,
    responses: {
      101: {
        description: "Switching protocols; server messages are QrEvent JSON.",
        content: { type: "application/json", schema: { $ref: "#/components/schemas/QrEvent" } },
      },
      403: {
        description: "`permission_denied`: missing or wrong secret; `origin_not_allowed`: a page from another origin.",
        shape: "Error",
        example: { code: "permission_denied", detail: "Wrong secret for this login code." },
      },
      426: {
        description: "`upgrade_required`: not a WebSocket upgrade.",
        shape: "Error",
        example: { code: "upgrade_required", detail: "This endpoint only accepts a WebSocket upgrade." },
      },
    },
    handler: async (c, { params, query }) => {
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        // RFC 9110 §15.5.22: a 426 names the protocol to switch to.
        throw new ApiError("upgrade_required", undefined, {}, { upgrade: "websocket", connection: "Upgrade" });
      }
      // RFC 6455 §10.2: a browser always names the page's origin; only ours and CORS_ORIGINS may listen.
      if (!originAllowed(c.req.header("origin"), new URL(c.req.url).origin, c.get("deps").config.corsOrigins)) {
        throw new ApiError("origin_not_allowed");
      }
      const secret = query.secret;
      if (!secret) throw new ApiError("permission_denied", "The secret query parameter is required.");
      const ticket = isQrSecret(secret)
        ? await openQrSecret<BrowserTicket>(await getQrIdKeys(c.get("deps").config), params.id, secret)
        : null;
      if (!ticket) throw new ApiError("permission_denied", "Wrong secret for this login code.");
      const headers = new Headers(c.req.raw.headers);
      headers.set(TICKET_HEADER, JSON.stringify({ login: loginOf(params.id), ticket }));
      headers.set(NOW_HEADER, String(c.get("deps").clock()));
      const res = await sessionStub(c, params.id).fetch("https://qr-session/ws", { headers });
      // A stub's response has immutable headers; re-wrapped, header middleware cannot turn it into a 500.
      if (res.status !== 101 || !res.webSocket) return new Response(res.body, res);
      return new Response(null, { status: 101, webSocket: res.webSocket });
    },
  }),

  defineRoute({
    method: "GET",
    path: "/api/qr/{id}/",
    operationId: "qr_retrieve",
    summary: "Who is asking (the phone)",
    description:
      "Reading changes nothing and tells the browser nothing. Before this account's scan: only the state and expiry (QrLimitedView). After it (QrView): the requesting browser's device and approximate place (never its IP), the distance and warnings when it is elsewhere than the phone, the `code` to read out, and whether each side has acted (poll it to see the login complete).",
    auth: "bearer",
    before: [issuedQrId()],
    throttled: true,
    params: idParam,
    notFound: true,
    responses: {
      200: { description: "The QR login: QrView after this account's scan, QrLimitedView before it.", schema: qrLookupSchema },
      ...qrRefusals,
    },
    handler: async (c, { auth, params, json }) => {
      await enforceQrRateLimit(c, "view", auth.session.userId);
      const result = await sessionStub(c, params.id).view(loginOf(params.id), auth.session.userId, c.get("deps").clock());
      if (!result.ok) throw new ApiError(result.code);
      const body = result.detail === "full" ? viewBody(c, result.view) : limitedBody(result.view);
      return json(200, body, { "cache-control": "no-store" });
    },
  }),

  defineRoute({
    method: "POST",
    path: "/api/qr/{id}/scan/",
    operationId: "qr_scan",
    ...PHONE_ACTIONS.scan,
    auth: "bearer",
    before: [issuedQrId()],
    throttled: true,
    params: idParam,
    notFound: true,
    body: noFieldsBody,
    responses: { 200: { description: "Done; the session as it now is.", schema: qrViewSchema }, ...qrRefusals },
    handler: (c, { auth, params, json }) => phoneAct(c, auth, "scan", params.id, json),
  }),

  defineRoute({
    method: "POST",
    path: "/api/qr/{id}/approve/",
    operationId: "qr_approve",
    summary: "Approve (the phone)",
    description:
      "The phone's half: needs this account's scan first (409 `qr_not_scanned`); the body's fields (a `code`, say) are ignored. When the browser has also sent the right code, creates a new session for the phone's user (method `qr`, with the browser's details) and delivers its token pair, sealed to the browser's key, in the `approved` event (`status: approved`); before that the answer is `status: scanned` with `phone_approved: true`, and the pair follows the browser's code. Repeating it meanwhile changes nothing; after completion 409. Beyond QR_MAX_DISTANCE_KM (when set and both places are known): 403 `qr_too_far`, the login stays open.",
    auth: "bearer",
    before: [issuedQrId()],
    throttled: true,
    params: idParam,
    notFound: true,
    body: noFieldsBody,
    responses: {
      200: { description: "Done; the session as it now is.", schema: qrViewSchema },
      403: {
        description: "`qr_too_far`: QR_MAX_DISTANCE_KM is set and this phone is known to be farther than that from the browser.",
        shape: "Error",
        example: { code: "qr_too_far", detail: "This phone is too far from the computer asking to sign in." },
      },
      ...qrRefusals,
    },
    handler: (c, { auth, params, json }) => phoneAct(c, auth, "approve", params.id, json),
  }),

  defineRoute({
    method: "POST",
    path: "/api/qr/{id}/deny/",
    operationId: "qr_deny",
    ...PHONE_ACTIONS.deny,
    auth: "bearer",
    before: [issuedQrId()],
    throttled: true,
    params: idParam,
    notFound: true,
    body: noFieldsBody,
    responses: { 200: { description: "Done; the session as it now is.", schema: qrViewSchema }, ...qrRefusals },
    handler: (c, { auth, params, json }) => phoneAct(c, auth, "deny", params.id, json),
  }),
];

/** QR login as src/app.ts lists it: its state lives in Durable Objects, so it owns no table. */
export const qrResource = defineResource({
  tag: "qr",
  description: "QR login: a browser shows a code, a signed-in phone scans and approves it, the browser is signed in over its WebSocket.",
  routes: qrRoutes,
});
