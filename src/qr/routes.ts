/**
 * @module QR Routes — /api/qr/*: thin HTTP bindings that validate, authenticate, then call the session's object.
 * Every route that takes an id first proves the worker issued it (ids.ts), so a forged id never addresses an object.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import { sha256Base64Url } from "../lib/bytes";
import { requireAuth } from "../auth/middleware";
import type { DeviceInfo } from "../auth/sessions";
import { getConfig } from "../config";
import { readJsonObject } from "../http/body";
import { deviceFromRequest } from "../http/device";
import { ApiError, ValidationError } from "../http/errors";
import { originAllowed } from "../http/origins";
import { route } from "../http/route";
import type { AppEnv } from "../http/types";
import { parseUserAgent } from "../http/user-agent";
import { validate } from "../http/validation";
import { NOW_HEADER, SECRET_HEADER, getQrIdKeys, isIssuedQrId, isQrSecret, newQrId, newQrSecret } from "./ids";
import { enforceQrRateLimit } from "./limits";
import { isoMs, type QrUser } from "./policy";
import { renderQrSvg } from "./render";
import { importPublicKey, publicJwkSchema } from "./seal";
import type { QrLimitedView, QrView, ViewResult } from "./session";
import type { QrCreated, QrLimitedBody, QrRequestBody } from "./wire";
import { compareRequests } from "./signals";

// Unknown fields are ignored, as DRF ignores them.
const noFields = z.object({});

/** POST /api/qr/: the browser's ECDH P-256 public key (its private key never leaves the browser). */
export const createQrBody = z.object({ public_key: publicJwkSchema });

/** POST /api/qr/{id}/approve/: the check code the user picked; DRF's CharField also takes a number. */
export const approveQrBody = z.object({
  code: z.preprocess((v) => (typeof v === "number" && Number.isInteger(v) ? String(v) : v), z.string().regex(/^\d{2}$/)),
});

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

/** Ids the worker never issued are 404 here, before anything is billed or authenticated. */
function issuedQrId(): MiddlewareHandler<AppEnv> {
  return async function qrId(c, next) {
    if (!(await issuedHere(c.env, c.req.param("id")))) throw new ApiError("not_found");
    await next();
  };
}

function qrId(c: Context<AppEnv>): string {
  return c.req.param("id")!;
}

function unwrap(result: ViewResult): QrView {
  if (!result.ok) throw new ApiError(result.code);
  return result.view;
}

/** Before the caller's scan: the state and expiry, nothing about the browser or anyone who scanned. */
function limitedBody(view: QrLimitedView): QrLimitedBody {
  return { id: view.id, status: view.state, expires_at: isoMs(view.expiresAtMs) };
}

function phoneUser(c: Context<AppEnv>): QrUser {
  const { userId, username } = c.get("auth").session;
  return { id: userId, username };
}

/** What the phone page shows: who is asking, until when, and whether it looks like someone else's browser. */
function viewBody(view: QrView, phone: DeviceInfo): QrRequestBody {
  const agent = parseUserAgent(view.browser.userAgent);
  const mismatch = compareRequests(view.browser, phone);
  return {
    id: view.id,
    status: view.state,
    created_at: isoMs(view.createdAtMs),
    expires_at: isoMs(view.expiresAtMs),
    requester: {
      ip: view.browser.ip,
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
    phone: { ip: phone.ip, country: phone.country, city: phone.city },
    mismatch: { country: mismatch.country, network: mismatch.network },
    warnings: mismatch.warnings,
    choices: view.choices,
  };
}

export function mountQr(app: Hono<AppEnv>): void {
  const auth = requireAuth();
  const id = issuedQrId();
  // Before the id check, so forged ids count against the caller too.
  const lookup: MiddlewareHandler<AppEnv> = async function qrLookupLimit(c, next) {
    await enforceQrRateLimit(c, "lookup");
    await next();
  };

  route(app, "/api/qr/", {
    POST: [
      async function createQr(c) {
        const { public_key: publicKey } = validate(createQrBody, await readJsonObject(c.req.raw));
        try {
          await importPublicKey(publicKey);
        } catch {
          throw new ValidationError({ public_key: ["Not a valid P-256 public key."] });
        }
        await enforceQrRateLimit(c, "create");
        const deps = c.get("deps");
        const qrId = await newQrId(await getQrIdKeys(deps.config));
        const secret = newQrSecret();
        const origin = new URL(c.req.url).origin;
        const { expiresAtMs } = await sessionStub(c, qrId).create({
          id: qrId,
          secretHash: await sha256Base64Url(secret),
          origin,
          publicKey,
          browser: deviceFromRequest(c.req.raw),
          nowMs: deps.clock(),
          ttlSeconds: deps.config.qrLoginTtlSeconds,
        });
        const body: QrCreated = {
          id: qrId,
          secret,
          qr_url: qrPageUrl(origin, qrId),
          ws_url: `${origin.replace(/^http/, "ws")}/api/qr/${qrId}/ws/`,
          svg_url: `${origin}/api/qr/${qrId}/svg/`,
          expires_at: isoMs(expiresAtMs),
        };
        // The body holds the browser's secret: no cache may keep it.
        return c.json(body, 201, { "cache-control": "no-store" });
      },
    ],
  });

  route(app, "/api/qr/:id/svg/", {
    GET: [
      lookup,
      id,
      async function qrSvg(c) {
        const nowMs = c.get("deps").clock();
        const view = unwrap(await sessionStub(c, qrId(c)).peek(nowMs));
        if (view.state === "expired") throw new ApiError("qr_expired");
        if (view.state === "approved" || view.state === "denied") throw new ApiError("qr_not_pending");
        const maxAge = Math.max(0, Math.floor((view.expiresAtMs - nowMs) / 1000));
        return c.body(renderQrSvg(qrPageUrl(view.origin, view.id)), 200, {
          "content-type": "image/svg+xml; charset=utf-8",
          // Only the browser that asked may keep it, and only while the code is valid.
          "cache-control": `private, max-age=${maxAge}`,
          "x-content-type-options": "nosniff",
          "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
        });
      },
    ],
  });

  route(app, "/api/qr/:id/ws/", {
    GET: [
      lookup,
      id,
      async function qrSocket(c) {
        if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
          // RFC 9110 §15.5.22: a 426 names the protocol to switch to.
          throw new ApiError("upgrade_required", undefined, {}, { upgrade: "websocket", connection: "Upgrade" });
        }
        // RFC 6455 §10.2: a browser always names the page's origin; only ours and CORS_ORIGINS may listen.
        if (!originAllowed(c.req.header("origin"), new URL(c.req.url).origin, c.get("deps").config.corsOrigins)) {
          throw new ApiError("origin_not_allowed");
        }
        const secret = c.req.query("secret");
        if (!secret) throw new ApiError("permission_denied", "The secret query parameter is required.");
        if (!isQrSecret(secret)) throw new ApiError("permission_denied", "Wrong secret for this login code.");
        const headers = new Headers(c.req.raw.headers);
        headers.set(SECRET_HEADER, secret);
        headers.set(NOW_HEADER, String(c.get("deps").clock()));
        const res = await sessionStub(c, qrId(c)).fetch("https://qr-session/ws", { headers });
        // A stub's response has immutable headers; re-wrapped, header middleware cannot turn it into a 500.
        if (res.status !== 101 || !res.webSocket) return new Response(res.body, res);
        return new Response(null, { status: 101, webSocket: res.webSocket });
      },
    ],
  });

  route(app, "/api/qr/:id/", {
    GET: [
      id,
      auth,
      async function qrWhoIsAsking(c) {
        await enforceQrRateLimit(c, "view", qrId(c));
        const result = await sessionStub(c, qrId(c)).view(phoneUser(c).id, c.get("deps").clock());
        if (!result.ok) throw new ApiError(result.code);
        const body = result.detail === "full" ? viewBody(result.view, deviceFromRequest(c.req.raw)) : limitedBody(result.view);
        return c.json(body, 200, { "cache-control": "no-store" });
      },
    ],
  });

  for (const action of ["scan", "approve", "deny"] as const) {
    route(app, `/api/qr/:id/${action}/`, {
      POST: [
        id,
        auth,
        async function qrPhoneAction(c) {
          const body = await readJsonObject(c.req.raw);
          const code = action === "approve" ? validate(approveQrBody, body).code : (validate(noFields, body), "");
          await enforceQrRateLimit(c, action, qrId(c));
          const stub = sessionStub(c, qrId(c));
          const user = phoneUser(c);
          const nowMs = c.get("deps").clock();
          const result = action === "scan" ? await stub.scan(user, nowMs) : action === "approve" ? await stub.approve(user, code, nowMs) : await stub.deny(user, nowMs);
          return c.json(viewBody(unwrap(result), deviceFromRequest(c.req.raw)), 200, { "cache-control": "no-store" });
        },
      ],
    });
  }
}
