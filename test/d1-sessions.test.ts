/**
 * D1 read replication through the Sessions API (issue 14): each request reads through one D1 session started where
 * its route allows (the nearest replica for bounded reads, the primary elsewhere), answers its bookmark in
 * X-D1-Bookmark, and a client that sends the bookmark back reads its own writes — its revocation included — wherever
 * it lands. Locally there is one D1 and no replica: these tests check the plumbing and the decisions.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config";
import { sealBookmark } from "../src/http/bookmark";
import { countingD1, rig, signUp, type Call } from "./helpers";

/** D1's bookmark, the time it was handed out (base 36) and the deployment's tag. */
const BOOKMARK = /^[0-9a-f]{8}(?:-[0-9a-f]+)+\.[0-9a-z]+\.[\w-]{22}$/i;

/** A bookmark as another isolate of this deployment hands it out (same keys), at `nowMs`. */
function handedOut(d1Bookmark: string, nowMs: number): Promise<string> {
  return sealBookmark(parseConfig(env), d1Bookmark, nowMs);
}

const SESSION_READS = /FROM sessions AS s INNER JOIN users/;

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
    expect(r.d1.sessions().at(-1)).toBe(bookmark.split(".")[0]);
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
    await elsewhere
      .prepare("UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE id = ?")
      .bind(Math.floor(r.clock.now / 1000), sid)
      .run();
    r.advance(1);
    const bookmark = await handedOut(elsewhere.getBookmark()!, r.clock.now);
    // Without the bookmark: this isolate's copy answers, within its bound (docs/d1-replicas.md: the revocation bound).
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(200);
    // With the bookmark the sign-out answered: no cached copy, a read at least as fresh as the revocation.
    const refused = await r.call("/api/hello/", { token: user.access, headers: { "x-d1-bookmark": bookmark } });
    expect(refused.status).toBe(401);
    // And the stale copy is gone for everyone in this isolate.
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(401);
  });

  it("a made-up bookmark, even a well-formed future one, is ignored: 30 requests are answered from the isolate's copy, none from D1", async () => {
    const r = countedRig("10");
    const user = await signUp(r.call);
    const real = (await r.call("/api/hello/", { token: user.access })).headers.get("x-d1-bookmark")!;
    const [d1, time] = real.split(".");
    const forged = [
      "00000000-ffffffff-00000000-0000000000000000",
      `${d1}.${(r.clock.now + 3_600_000).toString(36)}.AAAAAAAAAAAAAAAAAAAAAA`,
      // A genuine tag moved onto a later time.
      `${d1}.${(Number.parseInt(time!, 36) + 60_000).toString(36)}.${real.split(".")[2]}`,
    ];
    const before = r.d1.count(SESSION_READS);
    for (let i = 0; i < 30; i++) {
      const res = await r.call("/api/hello/", { token: user.access, headers: { "x-d1-bookmark": forged[i % forged.length]! } });
      expect(res.status).toBe(200);
    }
    expect(r.d1.count(SESSION_READS) - before).toBe(0);
    // Ignored means the route's own constraint applies: no session was started at the made-up value.
    expect(r.d1.sessions().filter((s) => s.startsWith("00000000-ffffffff"))).toEqual([]);
  });

  it("a genuine bookmark skips the isolate's copy only while that copy is older than it", async () => {
    const r = countedRig("10");
    const user = await signUp(r.call);
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(200);
    r.advance(1);
    const bookmark = await handedOut(env.DB.withSession("first-primary").getBookmark() ?? "00000000-00000001", r.clock.now);
    const before = r.d1.count(SESSION_READS);
    for (let i = 0; i < 30; i++)
      expect((await r.call("/api/hello/", { token: user.access, headers: { "x-d1-bookmark": bookmark } })).status).toBe(200);
    // The copy read before the bookmark is replaced once; the fresh copy then answers the other 29.
    expect(r.d1.count(SESSION_READS) - before).toBe(1);
  });

  it("sign-out answers the bookmark a client sends back", async () => {
    const r = countedRig();
    const user = await signUp(r.call);
    const out = await r.call("/api/token/blacklist/", { body: { refresh: user.refresh } });
    expect(out.status).toBe(200);
    expect(out.headers.get("x-d1-bookmark")).toMatch(BOOKMARK);
  });
});
