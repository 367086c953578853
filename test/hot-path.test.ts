/**
 * The bearer hot path: the per-isolate session cache (SESSION_CACHE_TTL) and the verified-claims cache.
 * Revocation contract under test: a revocation made by this code base is refused on the very next
 * request in the isolate that made it, even with the cache warm; one made behind the cache's back
 * (another isolate, another location, plain SQL) is honoured once SESSION_CACHE_TTL has passed;
 * SESSION_CACHE_TTL=0 reads D1 on every request.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SessionCache } from "../src/auth/session-cache";
import type { SessionWithUser } from "../src/http/types";
import { PASSWORD, countingD1, decodeJwt, registerUser, rig, sessionIdOf, signIn } from "./helpers";

const NEW_PASSWORD = "a brand new passphrase 42";

/** A user signed in on a movable clock, with the session cache on for `ttl` seconds. */
async function signedIn(ttl = "10", extra: Record<string, unknown> = {}) {
  const r = rig({ env: { SESSION_CACHE_TTL: ttl, ...extra } });
  const { username } = await registerUser();
  const pair = await signIn(username, PASSWORD, r.call);
  const hello = (access = pair.access) => r.call("/api/hello/", { token: access });
  return { r, username, pair, hello };
}

/** Warms the cache for `access` (two accepted requests) so a later refusal cannot come from a cold read. */
async function warm(hello: (access?: string) => Promise<Response>, access?: string): Promise<void> {
  expect((await hello(access)).status).toBe(200);
  expect((await hello(access)).status).toBe(200);
}

describe("revocation in the same isolate beats a warm cache (SESSION_CACHE_TTL=10, clock not moved)", () => {
  it("logout (POST /api/token/blacklist/): the very next request with its access token is refused", async () => {
    const { r, pair, hello } = await signedIn();
    await warm(hello);
    expect((await r.call("/api/token/blacklist/", { body: { refresh: pair.refresh } })).status).toBe(200);
    const res = await hello();
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: "token_not_valid" });
  });

  it("DELETE /api/auth/sessions/{id}/: the ended session is refused on the very next request", async () => {
    const { r, username, pair, hello } = await signedIn();
    const other = await signIn(username, PASSWORD, r.call);
    await warm(hello, other.access);
    expect((await r.call(`/api/auth/sessions/${sessionIdOf(other.access)}/`, { method: "DELETE", token: pair.access })).status).toBe(204);
    expect((await hello(other.access)).status).toBe(401);
    expect((await hello(pair.access)).status).toBe(200);
  });

  it("DELETE /api/auth/sessions/ (all others): every other session is refused on the very next request", async () => {
    const { r, username, pair, hello } = await signedIn();
    const others = [await signIn(username, PASSWORD, r.call), await signIn(username, PASSWORD, r.call)];
    for (const other of others) await warm(hello, other.access);
    const res = await r.call("/api/auth/sessions/", { method: "DELETE", token: pair.access });
    expect(await res.json()).toEqual({ revoked: 2 });
    for (const other of others) expect((await hello(other.access)).status).toBe(401);
    expect((await hello(pair.access)).status).toBe(200);
  });

  it("password change: the user's other sessions are refused on the very next request, the current one goes on", async () => {
    const { r, username, pair, hello } = await signedIn();
    const other = await signIn(username, PASSWORD, r.call);
    await warm(hello, other.access);
    await warm(hello, pair.access);
    const res = await r.call("/api/auth/password/", { body: { old_password: PASSWORD, new_password: NEW_PASSWORD }, token: pair.access });
    expect(res.status).toBe(200);
    expect((await hello(other.access)).status).toBe(401);
    expect((await hello(pair.access)).status).toBe(200);
  });

  it("refresh reuse: replaying a rotated-out refresh token revokes the session, refused on the very next request", async () => {
    const { r, pair, hello } = await signedIn("10", { REFRESH_REUSE_INTERVAL: "0" });
    await warm(hello);
    const rotated = await r.call("/api/token/refresh/", { body: { refresh: pair.refresh } });
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as { access: string };
    await warm(hello, next.access);
    r.advance(1); // past the reuse interval of 0; the cached copy (TTL 10) is still fresh
    expect((await r.call("/api/token/refresh/", { body: { refresh: pair.refresh } })).status).toBe(401);
    expect((await hello(next.access)).status).toBe(401);
    expect((await hello(pair.access)).status).toBe(401);
  });

  it("account deletion: the deleted user's token is refused on the very next request", async () => {
    const { r, pair, hello } = await signedIn();
    await warm(hello);
    const res = await r.call("/api/auth/me/", { method: "DELETE", body: { password: PASSWORD }, token: pair.access });
    expect(res.status).toBeLessThan(300);
    expect((await hello()).status).toBe(401);
  });
});

describe("revocation behind the cache's back (D1 row changed directly, as another isolate would)", () => {
  it("is honoured once SESSION_CACHE_TTL has passed (documented staleness: up to TTL seconds), never later", async () => {
    const { r, pair, hello } = await signedIn("2");
    await warm(hello);
    await env.DB.prepare("UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE id = ?")
      .bind(Math.floor(r.clock.now / 1000), sessionIdOf(pair.access))
      .run();
    // Within the TTL this isolate may still answer from its copy: that is the documented bound.
    expect((await hello()).status).toBe(200);
    r.advance(1.999);
    expect((await hello()).status).toBe(200);
    r.advance(0.001);
    expect((await hello()).status).toBe(401);
  });

  it("with SESSION_CACHE_TTL=0 it is refused on the very next request (every request reads D1)", async () => {
    const { pair, hello } = await signedIn("0");
    await warm(hello);
    await env.DB.prepare("UPDATE sessions SET revoked_at = unixepoch(), revoked_reason = 'logout' WHERE id = ?")
      .bind(sessionIdOf(pair.access))
      .run();
    expect((await hello()).status).toBe(401);
  });

  it("a session row deleted behind the cache's back is refused after the TTL and never cached as missing-but-live", async () => {
    const { r, pair, hello } = await signedIn("2");
    await warm(hello);
    await env.DB.prepare("DELETE FROM sessions WHERE id = ?").bind(sessionIdOf(pair.access)).run();
    r.advance(2);
    expect((await hello()).status).toBe(401);
    expect((await hello()).status).toBe(401);
  });
});

describe("the cache never turns a dead session into a live one", () => {
  it("a missing session is refused, and each retry reads D1 again (a miss is not cached): the replica, then the primary", async () => {
    const { r, pair } = await signedIn("10");
    await env.DB.prepare("DELETE FROM sessions WHERE id = ?").bind(sessionIdOf(pair.access)).run();
    const d1 = countingD1();
    const counted = rig({ clock: r.clock.now, env: { SESSION_CACHE_TTL: "10", DB: d1.db } });
    expect((await counted.call("/api/hello/", { token: pair.access })).status).toBe(401);
    // A replica may lack a session created a moment ago elsewhere: only the primary's "not there" refuses it.
    expect(d1.total()).toBe(2);
    expect((await counted.call("/api/hello/", { token: pair.access })).status).toBe(401);
    expect(d1.total()).toBe(4);
  });

  it("a cached session is refused the moment its expires_at passes, even while the copy is fresh", async () => {
    const { r, pair, hello } = await signedIn("10");
    const now = Math.floor(r.clock.now / 1000);
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE id = ?")
      .bind(now + 1, sessionIdOf(pair.access))
      .run();
    await warm(hello);
    r.advance(1);
    const res = await hello();
    expect(res.status).toBe(401);
  });

  it("cached verified claims still expire at exp: an access token is refused at exp on the bearer path and on verify", async () => {
    const { r, pair, hello } = await signedIn("10");
    await warm(hello);
    expect((await r.call("/api/token/verify/", { body: { token: pair.access } })).status).toBe(200);
    const exp = decodeJwt(pair.access).payload.exp as number;
    r.clock.now = exp * 1000 - 1;
    expect((await hello()).status).toBe(200);
    r.clock.now = exp * 1000;
    const res = await hello();
    expect(res.status).toBe(401);
    expect(JSON.stringify(await res.json())).toContain("expired");
    expect((await r.call("/api/token/verify/", { body: { token: pair.access } })).status).toBe(401);
  });

  it("a token refused once (bad signature) stays refused: only verified claims are cached", async () => {
    const { pair, hello } = await signedIn("10");
    const [h, p, s] = pair.access.split(".");
    const forged = `${h}.${p}.${s!.slice(0, -4)}${s!.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    expect((await hello(forged)).status).toBe(401);
    await warm(hello);
    expect((await hello(forged)).status).toBe(401);
  });
});

describe("a session read in flight when the isolate revokes (the cache itself)", () => {
  const NOW = 1_900_000_000_000;
  const liveRow = (sessionId: string, userId: number): SessionWithUser => ({
    sessionId,
    userId,
    method: "password",
    expiresAt: NOW / 1000 + 3600,
    revokedAt: null,
    lastUsedAt: NOW / 1000,
    username: `u${userId}`,
    email: `u${userId}@example.com`,
    isActive: true,
    dateJoined: NOW / 1000,
    lastLogin: null,
  });

  /** A D1 read held open until `release` is called, counting reads of each sid. */
  function heldLoader() {
    const reads: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = async (sid: string) => {
      reads.push(sid);
      if (reads.length === 1) await gate;
      return liveRow(sid, 7);
    };
    return { reads, load, release: () => release() };
  }

  it.each([
    ["the session is evicted", (cache: SessionCache) => cache.evict("s1")],
    ["its user is evicted (the read does not know its user yet)", (cache: SessionCache) => cache.evictUser(7)],
    ["another user is evicted (the read does not know its user yet)", (cache: SessionCache) => cache.evictUser(8)],
    ["the cache is cleared", (cache: SessionCache) => cache.clear()],
  ])("does not keep the row it saw when %s: the next check reads D1 again", async (_label, revoke) => {
    const cache = new SessionCache();
    const { reads, load, release } = heldLoader();
    const first = cache.read("s1", NOW, 10_000, load);
    revoke(cache);
    release();
    expect(await first).toMatchObject({ sessionId: "s1" });
    await cache.read("s1", NOW, 10_000, load);
    expect(reads).toEqual(["s1", "s1"]);
  });

  it("keeps the row when only another session is evicted meanwhile", async () => {
    const cache = new SessionCache();
    const { reads, load, release } = heldLoader();
    const first = cache.read("s1", NOW, 10_000, load);
    cache.evict("s2");
    release();
    await first;
    await cache.read("s1", NOW, 10_000, load);
    expect(reads).toEqual(["s1"]);
  });
});

describe("D1 round trips on the bearer path", () => {
  it("a cold authenticated request reads D1 once; a warm one reads it zero times", async () => {
    const { r, pair } = await signedIn("10");
    const d1 = countingD1();
    const counted = rig({ clock: r.clock.now, env: { SESSION_CACHE_TTL: "10", DB: d1.db } });
    expect((await counted.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect(d1.total()).toBe(1);
    expect((await counted.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect((await counted.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect(d1.total()).toBe(1);
    expect((await counted.call("/api/token/verify/", { body: { token: pair.access } })).status).toBe(200);
    expect(d1.total()).toBe(1);
  });

  it("SESSION_CACHE_TTL=0: every authenticated request reads D1", async () => {
    const { r, pair } = await signedIn("0");
    const d1 = countingD1();
    const counted = rig({ clock: r.clock.now, env: { SESSION_CACHE_TTL: "0", DB: d1.db } });
    for (let i = 1; i <= 3; i++) {
      expect((await counted.call("/api/hello/", { token: pair.access })).status).toBe(200);
      expect(d1.total()).toBe(i);
    }
  });

  it("the once-a-minute last_used_at write happens once, not again on each cached hit", async () => {
    const { r, pair } = await signedIn("10");
    const d1 = countingD1();
    const counted = rig({ clock: r.clock.now + 61_000, env: { SESSION_CACHE_TTL: "10", DB: d1.db } });
    expect((await counted.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect(d1.total()).toBe(2); // the read and the last_used_at write
    expect((await counted.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect((await counted.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect(d1.total()).toBe(2);
    const row = await env.DB.prepare("SELECT last_used_at FROM sessions WHERE id = ?")
      .bind(sessionIdOf(pair.access))
      .first<{ last_used_at: number }>();
    expect(row!.last_used_at).toBe(Math.floor((r.clock.now + 61_000) / 1000));
  });
});

// Both per-isolate caches are bounded the same way: "a few seconds at most", 0 = off (docs/configuration.md).
describe.each([
  ["SESSION_CACHE_TTL", "sessionCacheTtlSeconds"],
  ["NOTES_CACHE_TTL", "notesCacheTtlSeconds"],
] as const)("%s setting", (setting, field) => {
  it.each(["-1", "abc", "11", "1.5"])(`a bad value (%s) is a configuration error naming ${setting}`, async (value) => {
    const { parseConfig, ConfigError } = await import("../src/config");
    expect(() => parseConfig({ ...env, [setting]: value } as never)).toThrow(ConfigError);
    expect(() => parseConfig({ ...env, [setting]: value } as never)).toThrow(new RegExp(setting));
  });

  it("defaults to 2 seconds and accepts 0 (off)", async () => {
    const { parseConfig } = await import("../src/config");
    const { [setting]: _omit, ...rest } = env as unknown as Record<string, unknown>;
    expect(parseConfig(rest as never)[field]).toBe(2);
    expect(parseConfig({ ...env, [setting]: "0" } as never)[field]).toBe(0);
  });
});
