/**
 * REFRESH_COOKIE=on: the refresh token lives in an HttpOnly __Host-refresh cookie. Sign-in sets it, refresh works
 * from the cookie alone (with the CSRF proof), sign-out revokes and clears it, and an old cookie is refused.
 * Off (the default), simplejwt's contract is unchanged (the other suites).
 */
import { describe, expect, it } from "vitest";
import { ORIGIN, PASSWORD, registerUser, rig, rowCounts } from "./helpers";

const APP = "https://app.example.com";
const { call } = rig({ env: { REFRESH_COOKIE: "on", CORS_ORIGINS: APP } });
const plain = rig();

/** The value of the __Host-refresh cookie a response sets (the whole Set-Cookie line too). */
function refreshCookieOf(res: Response): { value: string; line: string } | null {
  const line = res.headers.getAll("set-cookie").find((c: string) => c.startsWith("__Host-refresh="));
  if (!line) return null;
  return { value: line.slice("__Host-refresh=".length, line.indexOf(";")), line };
}

const CSRF = { "x-requested-with": "fetch", origin: ORIGIN };

async function signedIn() {
  const user = await registerUser(undefined, PASSWORD, call);
  const res = await call("/api/token/", { body: { username: user.username, password: PASSWORD } });
  expect(res.status).toBe(200);
  const cookie = refreshCookieOf(res)!;
  return { user, res, cookie, body: await res.json<{ access: string; refresh?: string }>() };
}

function withCookie(value: string, headers: Record<string, string> = CSRF) {
  return { ...headers, cookie: `__Host-device=x; __Host-refresh=${value}` };
}

describe("REFRESH_COOKIE=on", () => {
  it("sign-in sets the refresh token as a __Host- cookie with every attribute, and the JSON carries the access token only", async () => {
    const { res, cookie, body } = await signedIn();
    expect(Object.keys(body)).toEqual(["access"]);
    expect(cookie.line).toMatch(/^__Host-refresh=[\w-]+\.[\w-]+\.[\w-]+; Max-Age=86400; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    // The device credential's cookie is still set beside it.
    expect(res.headers.getAll("set-cookie").some((c: string) => c.startsWith("__Host-device="))).toBe(true);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("refresh with only the cookie: a new access token and a rotated cookie; the old cookie is then refused", async () => {
    const { cookie } = await signedIn();
    const res = await call("/api/token/refresh/", { method: "POST", headers: withCookie(cookie.value) });
    expect(res.status).toBe(200);
    expect(Object.keys(await res.json<object>())).toEqual(["access"]);
    const rotated = refreshCookieOf(res)!;
    expect(rotated.value).not.toBe(cookie.value);
    expect(
      (
        await call("/api/hello/", {
          token: (
            await (await call("/api/token/refresh/", { method: "POST", headers: withCookie(rotated.value) })).json<{ access: string }>()
          ).access,
        })
      ).status,
    ).toBe(200);
  });

  it("refuses the cookie without the X-Requested-With header, without an Origin, or from a foreign origin: 403 csrf_failed, nothing rotated", async () => {
    const { cookie } = await signedIn();
    const before = await rowCounts();
    for (const headers of <Array<Record<string, string>>>[
      { origin: ORIGIN },
      { "x-requested-with": "fetch" },
      { "x-requested-with": "fetch", origin: "https://evil.example" },
      { "x-requested-with": " ", origin: ORIGIN },
    ]) {
      const res = await call("/api/token/refresh/", { method: "POST", headers: withCookie(cookie.value, headers) });
      expect([JSON.stringify(headers), res.status]).toEqual([JSON.stringify(headers), 403]);
      expect(await res.json()).toMatchObject({ code: "csrf_failed" });
    }
    expect(await rowCounts()).toEqual(before);
    // The same cookie still works with the proof: nothing was rotated by the refusals.
    expect((await call("/api/token/refresh/", { method: "POST", headers: withCookie(cookie.value) })).status).toBe(200);
  });

  it("an allowed other origin may use the cookie, and its CORS answers allow credentials and the header", async () => {
    const { cookie } = await signedIn();
    const preflight = await call("/api/token/refresh/", {
      method: "OPTIONS",
      headers: { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "x-requested-with" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBe(APP);
    expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("x-requested-with");
    const res = await call("/api/token/refresh/", {
      method: "POST",
      headers: withCookie(cookie.value, { "x-requested-with": "fetch", origin: APP }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
  });

  it("a page exchanges a refresh token it holds (a QR login's pair) for the cookie: body in, cookie out, access only", async () => {
    const user = await registerUser(undefined, PASSWORD, plain.call);
    const pair = await (await plain.call("/api/token/", { body: { username: user.username, password: PASSWORD } })).json<{
      refresh: string;
    }>();
    const res = await call("/api/token/refresh/", { body: { refresh: pair.refresh } });
    expect(res.status).toBe(200);
    expect(Object.keys(await res.json<object>())).toEqual(["access"]);
    expect(refreshCookieOf(res)?.line).toContain("HttpOnly");
  });

  it("sign-out with the cookie revokes the session and clears the cookie; the old cookie is then refused", async () => {
    const { cookie, body } = await signedIn();
    const res = await call("/api/token/blacklist/", { method: "POST", headers: withCookie(cookie.value) });
    expect(res.status).toBe(200);
    expect(refreshCookieOf(res)?.line).toBe("__Host-refresh=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Strict");
    expect((await call("/api/hello/", { token: body.access })).status).toBe(401);
    const again = await call("/api/token/refresh/", { method: "POST", headers: withCookie(cookie.value) });
    expect(again.status).toBe(401);
    expect(await again.json()).toMatchObject({ code: "token_not_valid" });
    // Signing out twice still clears the cookie.
    const twice = await call("/api/token/blacklist/", { method: "POST", headers: withCookie(cookie.value) });
    expect(twice.status).toBe(401);
    expect(refreshCookieOf(twice)?.value).toBe("");
  });

  it("no body token and no cookie: 400 refresh required, as simplejwt answers", async () => {
    const res = await call("/api/token/refresh/", { method: "POST", headers: CSRF });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ refresh: ["This field is required."] });
  });
});

describe("REFRESH_COOKIE=off (the default)", () => {
  it("sets no refresh cookie, answers the pair in the JSON, and ignores a refresh cookie sent anyway", async () => {
    const user = await registerUser(undefined, PASSWORD, plain.call);
    const res = await plain.call("/api/token/", { body: { username: user.username, password: PASSWORD } });
    expect(refreshCookieOf(res)).toBeNull();
    const pair = await res.json<{ access: string; refresh: string }>();
    expect(Object.keys(pair).sort()).toEqual(["access", "refresh"]);
    const cookieOnly = await plain.call("/api/token/refresh/", { method: "POST", headers: withCookie(pair.refresh) });
    expect(cookieOnly.status).toBe(400);
    expect(await cookieOnly.json()).toEqual({ refresh: ["This field is required."] });
  });
});
