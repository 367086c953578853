/** The account's security events, GET /api/auth/events/: each action's event, newest first, owner only, paged, no IP, kept as long as stated. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { EVENT_RETENTION_SECONDS } from "../src/auth/events";
import { purgeOldEvents } from "../src/auth/purge";
import { startSession } from "../src/auth/service";
import { getDb } from "../src/db/client";
import { buildDeps } from "../src/deps";
import { ORIGIN, PASSWORD, countingD1, rig, sessionIdOf, signIn, signUp, type Rig, type User } from "./helpers";

const CHROME_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const NEW_PASSWORD = "a brand new passphrase 42";

interface Event {
  id: number;
  type: string;
  created: string;
  session: string | null;
  current: boolean;
  revoked_by: string | null;
  sessions_ended: number | null;
  browser: string | null;
  os: string | null;
  country: string | null;
  city: string | null;
}
interface EventPage {
  count: number;
  next: string | null;
  previous: string | null;
  results: Event[];
}

async function events(r: Rig, token: string, query = ""): Promise<EventPage> {
  const res = await r.call(`/api/auth/events/${query}`, { token });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as EventPage;
}

const types = (page: EventPage) => page.results.map((e) => e.type);

/** Signs in from a browser, an address and a place, as Cloudflare hands them to the worker. */
async function signInFrom(r: Rig, username: string, device: { userAgent: string; ip: string; country?: string; city?: string }) {
  const res = await r.request("/api/token/", {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": device.userAgent, "cf-connecting-ip": device.ip },
    body: JSON.stringify({ username, password: PASSWORD }),
    cf: device.country ? { country: device.country, city: device.city } : undefined,
  } as RequestInit);
  expect(res.status).toBe(200);
  return (await res.json()) as { access: string; refresh: string };
}

async function eventRowsOf(userId: number): Promise<number> {
  return (await env.DB.prepare("SELECT count(*) AS n FROM security_events WHERE user_id = ?").bind(userId).first<{ n: number }>())!.n;
}

describe("each action appears after it", () => {
  it("a password sign-in: signed_in, its session, browser, system and place, and no IP address anywhere", async () => {
    const r = rig();
    const user = await signUp(r.call);
    const laptop = await signInFrom(r, user.username, { userAgent: CHROME_WINDOWS, ip: "203.0.113.7", country: "PT", city: "Lisbon" });
    const res = await r.call("/api/auth/events/", { token: laptop.access });
    const text = await res.text();
    expect(text).not.toContain("203.0.113.7");
    expect(text).not.toMatch(/"ip"/);
    const page = JSON.parse(text) as EventPage;
    expect(page.results[0]).toEqual({
      id: expect.any(Number),
      type: "signed_in",
      created: new Date(Math.floor(r.clock.now / 1000) * 1000).toISOString().replace(".000Z", "Z"),
      session: sessionIdOf(laptop.access),
      current: true,
      revoked_by: null,
      sessions_ended: null,
      browser: "Chrome",
      os: "Windows",
      country: "PT",
      city: "Lisbon",
    });
  });

  it("a QR link: qr_linked for the browser's new session, with the browser's device and place, when the approval starts it", async () => {
    const r = rig();
    const user = await signUp(r.call);
    // What the QR login's Durable Object calls once the pair is released (src/qr/session.ts): the same function, any protocol.
    const deps = await buildDeps(env, () => r.clock.now);
    const linked = await startSession(deps, user.id, "qr", { userAgent: SAFARI_IPHONE, ip: "198.51.100.9", country: "DE", city: "Berlin" });
    const page = await events(r, user.access);
    expect(page.results[0]).toMatchObject({
      type: "qr_linked",
      session: linked.sessionId,
      current: false,
      browser: "Safari",
      os: "iOS",
      country: "DE",
      city: "Berlin",
    });
    expect(JSON.stringify(page)).not.toContain("198.51.100.9");
  });

  it("a password change: password_changed from the current session, with how many other sessions it ended, and no event per ended session", async () => {
    const r = rig();
    const user = await signUp(r.call);
    await signIn(user.username, PASSWORD, r.call);
    await signIn(user.username, PASSWORD, r.call);
    const res = await r.call("/api/auth/password/", { token: user.access, body: { old_password: PASSWORD, new_password: NEW_PASSWORD } });
    expect(res.status).toBe(200);
    const page = await events(r, user.access);
    expect(types(page)).toEqual(["password_changed", "signed_in", "signed_in", "signed_in"]);
    expect(page.results[0]).toMatchObject({ session: sessionIdOf(user.access), current: true, sessions_ended: 2, revoked_by: null });
  });

  it("signing one device out from the list: session_revoked by the user, naming that device", async () => {
    const r = rig();
    const user = await signUp(r.call);
    const phone = await signInFrom(r, user.username, { userAgent: SAFARI_IPHONE, ip: "198.51.100.9" });
    expect((await r.call(`/api/auth/sessions/${sessionIdOf(phone.access)}/`, { method: "DELETE", token: user.access })).status).toBe(204);
    const page = await events(r, user.access);
    expect(page.results[0]).toMatchObject({
      type: "session_revoked",
      revoked_by: "user",
      session: sessionIdOf(phone.access),
      current: false,
      browser: "Safari",
      os: "iOS",
    });
  });

  it("a device's own sign-out: session_revoked by sign_out, once even when the refresh token is sent twice", async () => {
    const r = rig();
    const user = await signUp(r.call);
    const other = await signIn(user.username, PASSWORD, r.call);
    expect((await r.call("/api/token/blacklist/", { body: { refresh: other.refresh } })).status).toBe(200);
    expect((await r.call("/api/token/blacklist/", { body: { refresh: other.refresh } })).status).toBe(401);
    const page = await events(r, user.access);
    expect(types(page)).toEqual(["session_revoked", "signed_in", "signed_in"]);
    expect(page.results[0]).toMatchObject({ revoked_by: "sign_out", session: sessionIdOf(other.access) });
  });

  it("a replayed refresh token: session_revoked by reuse_detection, naming the stolen session", async () => {
    const r = rig();
    const user = await signUp(r.call);
    const victim = await signIn(user.username, PASSWORD, r.call);
    expect((await r.call("/api/token/refresh/", { body: { refresh: victim.refresh } })).status).toBe(200);
    r.advance(11);
    expect((await r.call("/api/token/refresh/", { body: { refresh: victim.refresh } })).status).toBe(401);
    const page = await events(r, user.access);
    expect(page.results[0]).toMatchObject({ type: "session_revoked", revoked_by: "reuse_detection", session: sessionIdOf(victim.access) });
  });

  it("sign out everywhere else: one signed_out_everywhere from the acting session, with how many ended", async () => {
    const r = rig();
    const user = await signUp(r.call);
    for (let i = 0; i < 3; i++) await signIn(user.username, PASSWORD, r.call);
    expect(await (await r.call("/api/auth/sessions/", { method: "DELETE", token: user.access })).json()).toEqual({ revoked: 3 });
    const page = await events(r, user.access);
    expect(types(page)).toEqual(["signed_out_everywhere", "signed_in", "signed_in", "signed_in", "signed_in"]);
    expect(page.results[0]).toMatchObject({ session: sessionIdOf(user.access), current: true, sessions_ended: 3 });
  });
});

describe("nothing is invented or lost", () => {
  it("refused actions record nothing: a wrong password, a wrong old password, another user's session, an ended one", async () => {
    const r = rig();
    const user = await signUp(r.call);
    const other = await signUp(r.call);
    const before = await eventRowsOf(user.id);
    expect((await r.call("/api/token/", { body: { username: user.username, password: "not the password" } })).status).toBe(401);
    expect(
      (await r.call("/api/auth/password/", { token: user.access, body: { old_password: "wrong", new_password: NEW_PASSWORD } })).status,
    ).toBe(400);
    expect((await r.call(`/api/auth/sessions/${sessionIdOf(other.access)}/`, { method: "DELETE", token: user.access })).status).toBe(404);
    const ended = await signIn(user.username, PASSWORD, r.call);
    expect((await r.call("/api/token/blacklist/", { body: { refresh: ended.refresh } })).status).toBe(200);
    expect((await r.call(`/api/auth/sessions/${sessionIdOf(ended.access)}/`, { method: "DELETE", token: user.access })).status).toBe(404);
    // The sign-in and its sign-out only.
    expect(await eventRowsOf(user.id)).toBe(before + 2);
    expect(await eventRowsOf(other.id)).toBe(1);
  });

  it("when the event cannot be written, neither is the session nor the revocation (one batch)", async () => {
    const r = rig();
    const user = await signUp(r.call);
    const trigger = `refuse_events_${user.id}`;
    // A stand-in for any failure of the event's insert, for this user only.
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON security_events WHEN NEW.user_id = ${user.id} BEGIN SELECT RAISE(ABORT, 'refused'); END`,
    ).run();
    const sessionsBefore = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    try {
      // A D1 error fails closed (src/db/guard.ts): 503, nothing half-written.
      expect((await r.call("/api/token/", { body: { username: user.username, password: PASSWORD } })).status).toBe(503);
      expect((await r.call("/api/token/blacklist/", { body: { refresh: user.refresh } })).status).toBe(503);
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    expect(await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?").bind(user.id).first<{ n: number }>()).toEqual(
      sessionsBefore,
    );
    // The sign-out did not happen either: the session is still live.
    expect((await r.call("/api/hello/", { token: user.access })).status).toBe(200);
  });
});

describe("the list", () => {
  it("is newest first, by time and within one second by the order things happened", async () => {
    const r = rig();
    const user = await signUp(r.call);
    r.advance(5);
    const second = await signIn(user.username, PASSWORD, r.call);
    // Same second: the insertion order decides.
    expect((await r.call("/api/token/blacklist/", { body: { refresh: second.refresh } })).status).toBe(200);
    r.advance(5);
    await signIn(user.username, PASSWORD, r.call);
    const page = await events(r, user.access);
    expect(page.results.map((e) => [e.type, e.session])).toEqual([
      ["signed_in", expect.any(String)],
      ["session_revoked", sessionIdOf(second.access)],
      ["signed_in", sessionIdOf(second.access)],
      ["signed_in", sessionIdOf(user.access)],
    ]);
    const times = page.results.map((e) => Date.parse(e.created));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it("never shows another user's events", async () => {
    const r = rig();
    const alice = await signUp(r.call);
    const bob = await signUp(r.call);
    await signIn(bob.username, PASSWORD, r.call);
    const page = await events(r, alice.access);
    expect(page.count).toBe(1);
    expect(page.results.map((e) => e.session)).toEqual([sessionIdOf(alice.access)]);
    expect((await events(r, bob.access)).count).toBe(2);
  });

  it("is paged the DRF way: count, next and previous links, page_size, page=last, 404 past the last page", async () => {
    const r = rig();
    const user = await signUp(r.call);
    for (let i = 0; i < 4; i++) await signIn(user.username, PASSWORD, r.call);
    const all = await events(r, user.access, "?page_size=100");
    expect(all.count).toBe(5);
    const first = await events(r, user.access, "?page_size=2");
    expect(first).toMatchObject({ count: 5, next: `${ORIGIN}/api/auth/events/?page_size=2&page=2`, previous: null });
    expect(first.results.map((e) => e.id)).toEqual(all.results.slice(0, 2).map((e) => e.id));
    const second = await events(r, user.access, "?page_size=2&page=2");
    expect(second).toMatchObject({
      next: `${ORIGIN}/api/auth/events/?page_size=2&page=3`,
      previous: `${ORIGIN}/api/auth/events/?page_size=2`,
    });
    expect(second.results.map((e) => e.id)).toEqual(all.results.slice(2, 4).map((e) => e.id));
    const last = await events(r, user.access, "?page_size=2&page=last");
    expect(last).toMatchObject({ next: null, previous: `${ORIGIN}/api/auth/events/?page_size=2&page=2` });
    expect(last.results.map((e) => e.id)).toEqual(all.results.slice(4).map((e) => e.id));
    const past = await r.call("/api/auth/events/?page=4&page_size=2", { token: user.access });
    expect(past.status).toBe(404);
    expect(await past.json()).toEqual({ detail: "Invalid page." });
  });

  it("answers 401 with WWW-Authenticate without a bearer token, or with an ended session's token", async () => {
    const r = rig();
    const user = await signUp(r.call);
    const res = await r.call("/api/auth/events/");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    expect(await res.json()).toMatchObject({ code: "not_authenticated" });
    expect((await r.call("/api/token/blacklist/", { body: { refresh: user.refresh } })).status).toBe(200);
    expect((await r.call("/api/auth/events/", { token: user.access })).status).toBe(401);
  });
});

describe("cost", () => {
  it("adds no D1 round trip: a sign-in and a sign-out are each one batch with their event, a page of events is one batch", async () => {
    const r = rig({ env: { SESSION_CACHE_TTL: "5" } });
    const user = await signUp(r.call);
    const d1 = countingD1();
    const via = (path: string, call: Parameters<Rig["call"]>[1] = {}) => r.call(path, { ...call, env: { DB: d1.db } });
    const rounds = async (work: () => Promise<Response>) => {
      const before = d1.total();
      expect((await work()).status).toBeLessThan(300);
      return d1.total() - before;
    };
    // The account's row, then the session with its event and last_login.
    expect(await rounds(() => via("/api/token/", { body: { username: user.username, password: PASSWORD } }))).toBe(2);
    // The session read, then its revocation with its event.
    expect(await rounds(() => via("/api/token/blacklist/", { body: { refresh: user.refresh } }))).toBe(2);
    const other = await signIn(user.username, PASSWORD, r.call);
    expect((await via("/api/hello/", { token: other.access })).status).toBe(200);
    // The bearer check is served by the isolate's copy: the page and its count are one batch.
    expect(await rounds(() => via("/api/auth/events/", { token: other.access }))).toBe(1);
  });
});

describe("retention", () => {
  it("deleting the account deletes its events", async () => {
    const r = rig();
    const user: User = await signUp(r.call);
    await signIn(user.username, PASSWORD, r.call);
    expect(await eventRowsOf(user.id)).toBe(2);
    expect((await r.call("/api/auth/me/", { method: "DELETE", token: user.access, body: { password: PASSWORD } })).status).toBe(204);
    expect(await eventRowsOf(user.id)).toBe(0);
  });

  it("the cron deletes events older than 90 days, in bounded batches, and keeps the rest", async () => {
    const r = rig();
    const user = await signUp(r.call);
    const now = Math.floor(r.clock.now / 1000);
    const insert = (createdAt: number) =>
      env.DB.prepare("INSERT INTO security_events (user_id, type, session_id, created_at) VALUES (?, 'signed_in', NULL, ?) RETURNING id")
        .bind(user.id, createdAt)
        .first<{ id: number }>();
    const old = [
      await insert(now - EVENT_RETENTION_SECONDS - 1),
      await insert(now - EVENT_RETENTION_SECONDS - 86_400),
      await insert(now - 2 * EVENT_RETENTION_SECONDS),
    ];
    const kept = await insert(now - EVENT_RETENTION_SECONDS + 60);
    const db = getDb(env.DB, 3000);
    expect(await purgeOldEvents(db, now, { batchSize: 2, maxBatches: 1 })).toEqual({ deleted: 2, batches: 1, more: true });
    expect(await purgeOldEvents(db, now, { batchSize: 2, maxBatches: 5 })).toEqual({ deleted: 1, batches: 1, more: false });
    const left = await env.DB.prepare("SELECT id FROM security_events WHERE user_id = ?").bind(user.id).all<{ id: number }>();
    const ids = left.results.map((row) => row.id);
    for (const row of old) expect(ids).not.toContain(row!.id);
    expect(ids).toContain(kept!.id);
    // The sign-in of a moment ago stays too.
    expect((await events(r, user.access)).results.some((e) => e.session === sessionIdOf(user.access))).toBe(true);
  });
});
