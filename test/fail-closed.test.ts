/**
 * D1 slow or down (issue 14): every route fails closed — 503 {"detail", "code": "service_unavailable"} with
 * Retry-After, within D1_TIMEOUT_MS, nothing half-written — except a bearer request whose session this isolate
 * verified within SESSION_CACHE_TTL, which is still served (bounded, as the cache always is).
 */
import { describe, expect, it } from "vitest";
import { PASSWORD, countingD1, rig, rowCounts, signUp, type Call } from "./helpers";

const TIMEOUT_MS = 150;

function downRig(sessionCacheTtl = "0") {
  const d1 = countingD1();
  // MAIL_FROM: the account-mail routes check their mailer (the pool's MAILER) before they read D1.
  const r = rig({ env: { D1_TIMEOUT_MS: String(TIMEOUT_MS), SESSION_CACHE_TTL: sessionCacheTtl, NOTES_CACHE_TTL: "0", MAIL_FROM: "auth@example.test" } });
  const call = (path: string, c: Call = {}) => r.call(path, { ...c, env: { DB: d1.db } });
  return { ...r, d1, call };
}

async function expectUnavailable(res: Response, where: string) {
  expect([where, res.status]).toEqual([where, 503]);
  expect([where, res.headers.get("retry-after")]).toEqual([where, "5"]);
  expect([where, await res.json()]).toEqual([where, { detail: "The service is briefly unavailable; try again shortly.", code: "service_unavailable" }]);
}

describe.each(["throw", "hang"] as const)("with D1 that does %s", (mode) => {
  it("every route that needs D1 answers 503 with Retry-After, and no table changes", async () => {
    const r = downRig();
    const user = await signUp(r.call);
    const note = await (await r.call("/api/notes/", { method: "POST", token: user.access, body: { title: "kept" } })).json<{ id: string }>();
    const before = await rowCounts();
    r.d1.fail(mode);
    const table: Array<[string, Call]> = [
      ["/api/auth/register/", { body: { username: "newcomer_down", email: "n@example.com", password: PASSWORD } }],
      ["/api/token/", { body: { username: user.username, password: PASSWORD } }],
      ["/api/token/refresh/", { body: { refresh: user.refresh } }],
      ["/api/token/verify/", { body: { token: user.access } }],
      ["/api/token/blacklist/", { body: { refresh: user.refresh } }],
      ["/api/hello/", { token: user.access }],
      ["/api/auth/me/", { token: user.access }],
      ["/api/auth/me/", { method: "PATCH", token: user.access, body: { email: "other@example.com" } }],
      ["/api/auth/password/", { token: user.access, body: { old_password: PASSWORD, new_password: "another long passphrase" } }],
      ["/api/auth/sessions/", { token: user.access }],
      ["/api/auth/events/", { token: user.access }],
      ["/api/auth/sessions/", { method: "DELETE", token: user.access }],
      ["/api/auth/users/", { body: { username: "djoser_down", email: "dj@example.com", password: PASSWORD } }],
      ["/api/auth/users/activation/", { body: { uid: "MQ", token: "1-0123456789abcdef0123456789abcdef" } }],
      ["/api/auth/users/resend_activation/", { body: { email: "someone@example.com" } }],
      ["/api/auth/users/reset_password/", { body: { email: "someone@example.com" } }],
      ["/api/auth/users/reset_password_confirm/", { body: { uid: "MQ", token: "1-0123456789abcdef0123456789abcdef", new_password: "another long passphrase" } }],
      ["/api/auth/users/me/", { token: user.access }],
      ["/api/auth/users/me/", { method: "PATCH", token: user.access, body: { email: "moved-down@example.com", current_password: PASSWORD } }],
      ["/api/auth/users/email_confirm/", { body: { uid: "MQ", email: "YUBleGFtcGxlLmNvbQ", token: "1-0123456789abcdef0123456789abcdef" } }],
      ["/api/auth/users/set_password/", { token: user.access, body: { current_password: PASSWORD, new_password: "another long passphrase" } }],
      ["/api/notes/", { token: user.access }],
      ["/api/notes/", { method: "POST", token: user.access, body: { title: "lost" } }],
      [`/api/notes/${note.id}/`, { token: user.access }],
      [`/api/notes/${note.id}/`, { method: "PATCH", token: user.access, body: { title: "changed" } }],
      [`/api/notes/${note.id}/`, { method: "DELETE", token: user.access }],
    ];
    for (const [path, c] of table) await expectUnavailable(await r.call(path, c), `${c.method ?? (c.body ? "POST" : "GET")} ${path}`);
    r.d1.fail(null);
    expect(await rowCounts()).toEqual(before);
    // D1 back: the same client carries on, nothing lost.
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(200);
  });
});

describe("the isolate's session cache while D1 is down", () => {
  it("serves a session verified within SESSION_CACHE_TTL, and refuses (503) once that copy is older", async () => {
    const r = downRig("5");
    const user = await signUp(r.call);
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(200);
    r.d1.fail("throw");
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(200);
    r.advance(6);
    await expectUnavailable(await r.call("/api/hello/", { token: user.access }), "GET /api/hello/ after the TTL");
  });

  it("never answers 200 for a session it has not verified: a fresh token is 503, not served", async () => {
    const r = downRig("5");
    const user = await signUp(r.call);
    r.d1.fail("throw");
    await expectUnavailable(await r.call("/api/hello/", { token: user.access }), "GET /api/hello/ unverified");
  });
});
