/**
 * D1 slow or down (issue 14): every route fails closed — 503 {"detail", "code": "service_unavailable"} with
 * Retry-After, within D1_TIMEOUT_MS, nothing half-written — except a bearer request whose session this isolate
 * verified within SESSION_CACHE_TTL, which is still served (bounded, as the cache always is).
 */
import { describe, expect, it } from "vitest";
import { countingD1, rig, rowCounts, signUp, type Call } from "./helpers";
import { startBody } from "./qr-helpers";
import { appRoutes, failClosedPlan } from "./route-table";

const TIMEOUT_MS = 150;

function downRig(sessionCacheTtl = "0") {
  const d1 = countingD1();
  // MAIL_FROM: the account-mail routes check their mailer (the pool's MAILER) before they read D1.
  const r = rig({
    env: { D1_TIMEOUT_MS: String(TIMEOUT_MS), SESSION_CACHE_TTL: sessionCacheTtl, NOTES_CACHE_TTL: "0", MAIL_FROM: "auth@example.test" },
  });
  const call = (path: string, c: Call = {}) => r.call(path, { ...c, env: { DB: d1.db } });
  return { ...r, d1, call };
}

async function expectUnavailable(res: Response, where: string) {
  expect([where, res.status]).toEqual([where, 503]);
  expect([where, res.headers.get("retry-after")]).toEqual([where, "5"]);
  expect([where, await res.json()]).toEqual([
    where,
    { detail: "The service is briefly unavailable; try again shortly.", code: "service_unavailable" },
  ]);
}

describe.each(["throw", "hang"] as const)("with D1 that does %s", (mode) => {
  it("every route that needs D1 answers 503 with Retry-After, the others answer without it, and no table changes", async () => {
    const r = downRig();
    const user = await signUp(r.call);
    const note = await (await r.call("/api/notes/", { method: "POST", token: user.access, body: { title: "kept" } })).json<{
      id: string;
    }>();
    // A QR login lives in its Durable Object: made now, it is there for the phone's routes while D1 is down.
    const qr = await (await r.call("/api/qr/", { body: await startBody() })).json<{ id: string }>();
    const before = await rowCounts();
    r.d1.fail(mode);
    // Every route of every resource (test/route-table.ts); live tokens where a made-up one would be refused before D1.
    const table = failClosedPlan(
      appRoutes(),
      { notes: { id: note.id }, qr: { id: qr.id } },
      {
        token_refresh: { refresh: user.refresh },
        token_verify: { token: user.access },
        token_blacklist: { refresh: user.refresh },
      },
    );
    const unavailable: string[] = [];
    for (const row of table) {
      const d1Calls = r.d1.total();
      const res = await r.call(row.path, { method: row.method, token: row.bearer ? user.access : undefined, body: row.body });
      // A request refused on its face (a link whose MAC fails) never asked D1: a 4xx is then as closed as a 503.
      if (row.needsD1 && (r.d1.total() > d1Calls || res.status < 400 || res.status >= 500)) {
        await expectUnavailable(res, row.route);
        unavailable.push(row.route);
      } else expect([row.route, res.status < 500]).toEqual([row.route, true]);
    }
    // 34 routes need D1; of them only "this wasn't me" refuses its example link before reading it (the hand-written table had 26).
    expect(unavailable.length).toBeGreaterThanOrEqual(33);
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
