/**
 * D1 read replication through the Sessions API (issue 14): each request reads through one D1 session started where
 * its route allows (the nearest replica for bounded reads, the primary elsewhere), answers its bookmark in
 * X-D1-Bookmark, and a client that sends the bookmark back reads its own writes — its revocation included — wherever
 * it lands. Locally there is one D1 and no replica: these tests check the plumbing and the decisions.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { countingD1, rig, signUp, type Call } from "./helpers";

const BOOKMARK = /^[0-9a-f]{8}(?:-[0-9a-f]+)+$/i;

function countedRig(ttl = "10") {
  const d1 = countingD1();
  const r = rig({ env: { SESSION_CACHE_TTL: ttl, NOTES_CACHE_TTL: "0" } });
  return { ...r, d1, call: (path: string, c: Call = {}) => r.call(path, { ...c, env: { DB: d1.db } }) };
}

describe("D1 sessions per request", () => {
  it("reads that may be stale go to the nearest replica, writes and sign-in to the primary", async () => {
    const r = countedRig("0");
    const user = await signUp(r.call);
    const before = r.d1.sessions().length;
    await r.call("/api/hello/", { token: user.access });
    await r.call("/api/notes/", { token: user.access });
    await r.call("/api/notes/", { method: "POST", token: user.access, body: { title: "t" } });
    await r.call("/api/token/refresh/", { body: { refresh: user.refresh } });
    expect(r.d1.sessions().slice(before)).toEqual(["first-unconstrained", "first-unconstrained", "first-primary", "first-primary"]);
  });

  it("a request that touches D1 answers its bookmark; one that does not opens no session", async () => {
    const r = countedRig();
    const user = await signUp(r.call);
    const created = await r.call("/api/notes/", { method: "POST", token: user.access, body: { title: "t" } });
    expect(created.headers.get("x-d1-bookmark")).toMatch(BOOKMARK);
    const before = r.d1.sessions().length;
    const health = await r.call("/health");
    expect(health.headers.get("x-d1-bookmark")).toBeNull();
    expect(r.d1.sessions().length).toBe(before);
  });

  it("a write's bookmark sent back starts the next request's session at it, so the client reads its own write", async () => {
    const r = countedRig();
    const user = await signUp(r.call);
    const created = await r.call("/api/notes/", { method: "POST", token: user.access, body: { title: "mine" } });
    const bookmark = created.headers.get("x-d1-bookmark")!;
    const list = await r.call("/api/notes/", { token: user.access, headers: { "x-d1-bookmark": bookmark } });
    expect(r.d1.sessions().at(-1)).toBe(bookmark);
    expect((await list.json<{ results: Array<{ title: string }> }>()).results.map((n) => n.title)).toContain("mine");
    // A malformed bookmark is ignored (the route's own constraint applies), never an error.
    await r.call("/api/notes/", { token: user.access, headers: { "x-d1-bookmark": "'; DROP TABLE notes" } });
    expect(r.d1.sessions().at(-1)).toBe("first-unconstrained");
  });

  it("the revoking client is refused at once, even where an isolate still holds the session as live", async () => {
    const r = countedRig("10");
    const user = await signUp(r.call);
    // This isolate verifies the session and keeps its copy (SESSION_CACHE_TTL = 10 s)...
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(200);
    // ...then the client signs out through another edge location: D1 changes, this isolate's copy does not.
    const elsewhere = env.DB.withSession("first-primary");
    const sid = JSON.parse(atob(user.access.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).sid as string;
    await elsewhere.prepare("UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE id = ?").bind(Math.floor(r.clock.now / 1000), sid).run();
    const bookmark = elsewhere.getBookmark()!;
    // Without the bookmark: this isolate's copy answers, within its bound (README: the revocation bound).
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(200);
    // With the bookmark the sign-out answered: no cached copy, a read at least as fresh as the revocation.
    const refused = await r.call("/api/hello/", { token: user.access, headers: { "x-d1-bookmark": bookmark } });
    expect(refused.status).toBe(401);
    // And the stale copy is gone for everyone in this isolate.
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(401);
  });

  it("sign-out answers the bookmark a client sends back", async () => {
    const r = countedRig();
    const user = await signUp(r.call);
    const out = await r.call("/api/token/blacklist/", { body: { refresh: user.refresh } });
    expect(out.status).toBe(200);
    expect(out.headers.get("x-d1-bookmark")).toMatch(BOOKMARK);
  });
});
