/** @module Auth Routes — thin HTTP bindings for /api/auth/*, /api/token/*, /api/hello/ and the JWKS. */
import type { Hono } from "hono";
import { deviceFromRequest } from "../http/device";
import { readJsonObject } from "../http/body";
import { ApiError } from "../http/errors";
import { route } from "../http/route";
import type { AppEnv } from "../http/types";
import { limitByIp, rateLimitsOf } from "../http/ratelimit";
import { changePassword, deleteAccount, updateAccount } from "./account";
import { DEVICE_CREDENTIAL_HEADER, deviceCookie, presentedCredentials } from "./device-credential";
import { endOtherSessions, endSession, listSessions } from "./devices";
import { requireAuth } from "./middleware";
import { blacklist, obtainPair, publicUser, refresh, register, verify } from "./service";

export function mountAuth(app: Hono<AppEnv>): void {
  const auth = requireAuth();

  route(app, "/api/auth/register/", {
    POST: [
      limitByIp("register_ip"),
      async function registerUser(c) {
        return c.json(await register(c.get("deps"), await readJsonObject(c.req.raw)), 201);
      },
    ],
  });

  route(app, "/api/token/", {
    POST: [
      limitByIp("signin_ip"),
      async function tokenObtainPair(c) {
        const deps = c.get("deps");
        const signedIn = await obtainPair(deps, await readJsonObject(c.req.raw), deviceFromRequest(c.req.raw), rateLimitsOf(c), presentedCredentials(c.req.raw));
        const lifetime = deps.config.deviceCredentialLifetimeSeconds;
        return c.json({ access: signedIn.access, refresh: signedIn.refresh }, 200, {
          [DEVICE_CREDENTIAL_HEADER]: signedIn.deviceCredential,
          "set-cookie": deviceCookie(c.req.raw, signedIn.deviceCredential, signedIn.accountKey, lifetime),
          // Carries a per-account credential: never stored by a shared cache.
          "cache-control": "no-store",
        });
      },
    ],
  });

  route(app, "/api/token/refresh/", {
    POST: [
      async function tokenRefresh(c) {
        return c.json(await refresh(c.get("deps"), await readJsonObject(c.req.raw)));
      },
    ],
  });

  route(app, "/api/token/verify/", {
    POST: [
      async function tokenVerify(c) {
        await verify(c.get("deps"), await readJsonObject(c.req.raw));
        return c.json({});
      },
    ],
  });

  route(app, "/api/token/blacklist/", {
    POST: [
      async function tokenBlacklist(c) {
        await blacklist(c.get("deps"), await readJsonObject(c.req.raw));
        return c.json({});
      },
    ],
  });

  route(app, "/api/auth/me/", {
    GET: [auth, (c) => c.json(publicUser(c.get("auth").session))],
    PATCH: [
      auth,
      async function updateMe(c) {
        return c.json(await updateAccount(c.get("deps"), c.get("auth"), await readJsonObject(c.req.raw)));
      },
    ],
    DELETE: [
      auth,
      async function deleteMe(c) {
        await deleteAccount(c.get("deps"), c.get("auth"), await readJsonObject(c.req.raw), rateLimitsOf(c));
        return c.body(null, 204);
      },
    ],
  });

  route(app, "/api/auth/password/", {
    POST: [
      auth,
      async function passwordChange(c) {
        await changePassword(c.get("deps"), c.get("auth"), await readJsonObject(c.req.raw), rateLimitsOf(c));
        return c.json({ detail: "New password has been saved." });
      },
    ],
  });

  route(app, "/api/auth/sessions/", {
    GET: [
      auth,
      async function sessionList(c) {
        const { session, claims } = c.get("auth");
        return c.json(await listSessions(c.get("deps"), session.userId, claims.sid));
      },
    ],
    DELETE: [
      auth,
      async function sessionEndOthers(c) {
        const { session, claims } = c.get("auth");
        return c.json({ revoked: await endOtherSessions(c.get("deps"), session.userId, claims.sid) });
      },
    ],
  });

  route(app, "/api/auth/sessions/:id/", {
    DELETE: [
      auth,
      async function sessionEnd(c) {
        await endSession(c.get("deps"), c.get("auth").session.userId, c.req.param("id") ?? "");
        return c.body(null, 204);
      },
    ],
  });

  route(app, "/api/hello/", {
    GET: [auth, (c) => c.json({ message: "Hello, World!" })],
  });

  route(app, "/.well-known/jwks.json", {
    GET: [
      function jwks(c) {
        const published = c.get("deps").tokens.keys.publicJwks;
        if (!published) throw new ApiError("not_found");
        // Verifiers may cache briefly; rotation adds the new key before it signs, so staleness is harmless.
        return c.json(published, 200, { "cache-control": "public, max-age=300" });
      },
    ],
  });
}
