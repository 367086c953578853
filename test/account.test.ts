/** Account security: devices (list/end sessions), password change, account edit/delete, "last used", the purge cron, no enumeration. */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { purgeEndedSessions } from "../src/auth/purge";
import { getDb } from "../src/db/client";
import { PASSWORD, api, registerUser, rig, rowCounts, sessionIdOf, signIn, signUp, uniqueName } from "./helpers";

const CHROME_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
const NEW_PASSWORD = "a brand new passphrase 42";

type Json = Record<string, unknown>;
async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}
async function list(res: Response): Promise<Json[]> {
  return (await res.json()) as Json[];
}

/** Signs in from a given browser and address, as a device would. */
async function signInFrom(username: string, userAgent: string, ip: string, password = PASSWORD) {
  const res = await api("/api/token/", { body: { username, password }, headers: { "user-agent": userAgent, "cf-connecting-ip": ip } });
  expect(res.status).toBe(200);
  return (await res.json()) as { access: string; refresh: string };
}

async function sessionRow(id: string) {
  return env.DB.prepare("SELECT * FROM sessions WHERE id = ?")
    .bind(id)
    .first<{ last_used_at: number; revoked_at: number | null; revoked_reason: string | null }>();
}

describe("devices: GET /api/auth/sessions/", () => {
  it("lists the caller's live sessions with method, browser, system, place and times, marking the current one", async () => {
    const { username } = await registerUser();
    const laptop = await signInFrom(username, CHROME_WINDOWS, "203.0.113.7");
    const phone = await signInFrom(username, SAFARI_IPHONE, "198.51.100.9");
    const res = await api("/api/auth/sessions/", { token: laptop.access });
    expect(res.status).toBe(200);
    const items = await list(res);
    expect(items).toHaveLength(2);
    const byId = Object.fromEntries(items.map((item) => [item.id, item]));
    expect(byId[sessionIdOf(laptop.access)]).toMatchObject({
      method: "password",
      browser: "Chrome",
      os: "Windows",
      ip: "203.0.113.7",
      current: true,
    });
    expect(byId[sessionIdOf(phone.access)]).toMatchObject({
      method: "password",
      browser: "Safari",
      os: "iOS",
      ip: "198.51.100.9",
      current: false,
    });
    for (const item of items) {
      expect(Object.keys(item).sort()).toEqual([
        "browser",
        "city",
        "country",
        "created",
        "current",
        "expires",
        "id",
        "ip",
        "last_used",
        "method",
        "os",
      ]);
      expect(item.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(item.last_used).toMatch(/Z$/);
      expect(item.expires).toMatch(/Z$/);
    }
    // The other device sees itself as current.
    const fromPhone = await list(await api("/api/auth/sessions/", { token: phone.access }));
    expect(fromPhone.find((item) => item.current)!.id).toBe(sessionIdOf(phone.access));
  });

  it("shows neither other users' sessions nor ended ones", async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const a1 = await signIn(alice.username);
    const a2 = await signIn(alice.username);
    await signIn(bob.username);
    await api("/api/token/blacklist/", { body: { refresh: a2.refresh } });
    const items = await list(await api("/api/auth/sessions/", { token: a1.access }));
    expect(items.map((item) => item.id)).toEqual([sessionIdOf(a1.access)]);
  });

  it("requires a bearer token", async () => {
    const res = await api("/api/auth/sessions/");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
  });
});

describe("devices: DELETE /api/auth/sessions/{id}/", () => {
  it("ends one session: its access and refresh tokens fail on their next request, the caller's keep working", async () => {
    const { username } = await registerUser();
    const mine = await signIn(username);
    const other = await signIn(username);
    expect((await api("/api/hello/", { token: other.access })).status).toBe(200);
    const res = await api(`/api/auth/sessions/${sessionIdOf(other.access)}/`, { method: "DELETE", token: mine.access });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await api("/api/hello/", { token: other.access })).status).toBe(401);
    expect((await api("/api/token/refresh/", { body: { refresh: other.refresh } })).status).toBe(401);
    expect((await api("/api/hello/", { token: mine.access })).status).toBe(200);
    expect((await sessionRow(sessionIdOf(other.access)))!.revoked_reason).toBe("user_revoked");
  });

  it("answers 404 for another user's session, which stays signed in", async () => {
    const alice = await registerUser();
    const bob = await registerUser();
    const a = await signIn(alice.username);
    const b = await signIn(bob.username);
    const res = await api(`/api/auth/sessions/${sessionIdOf(b.access)}/`, { method: "DELETE", token: a.access });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ detail: "Not found." });
    expect((await api("/api/hello/", { token: b.access })).status).toBe(200);
  });

  it.each([
    ["an unknown id", "AAAAAAAAAAAAAAAAAAAAAA"],
    ["a malformed id", "not-a-session"],
    ["an overlong id", "x".repeat(300)],
  ])("answers 404 for %s", async (_label, id) => {
    const { username } = await registerUser();
    const a = await signIn(username);
    const before = await rowCounts();
    const res = await api(`/api/auth/sessions/${id}/`, { method: "DELETE", token: a.access });
    expect(res.status).toBe(404);
    expect(await rowCounts()).toEqual(before);
  });

  it("answers 404 for a session already ended", async () => {
    const { username } = await registerUser();
    const a = await signIn(username);
    const b = await signIn(username);
    expect((await api(`/api/auth/sessions/${sessionIdOf(b.access)}/`, { method: "DELETE", token: a.access })).status).toBe(204);
    expect((await api(`/api/auth/sessions/${sessionIdOf(b.access)}/`, { method: "DELETE", token: a.access })).status).toBe(404);
  });

  it("may end the current session itself, like a logout", async () => {
    const { username } = await registerUser();
    const a = await signIn(username);
    expect((await api(`/api/auth/sessions/${sessionIdOf(a.access)}/`, { method: "DELETE", token: a.access })).status).toBe(204);
    expect((await api("/api/hello/", { token: a.access })).status).toBe(401);
  });
});

describe("devices: DELETE /api/auth/sessions/", () => {
  it("ends every session but the current one and says how many", async () => {
    const { username } = await registerUser();
    const current = await signIn(username);
    const others = [await signIn(username), await signIn(username), await signIn(username)];
    const stranger = await signUp();
    const res = await api("/api/auth/sessions/", { method: "DELETE", token: current.access });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ revoked: 3 });
    for (const other of others) {
      expect((await api("/api/hello/", { token: other.access })).status).toBe(401);
      expect((await api("/api/token/refresh/", { body: { refresh: other.refresh } })).status).toBe(401);
    }
    expect((await api("/api/hello/", { token: current.access })).status).toBe(200);
    expect((await api("/api/hello/", { token: stranger.access })).status).toBe(200);
    expect(await list(await api("/api/auth/sessions/", { token: current.access }))).toHaveLength(1);
    expect(await json(await api("/api/auth/sessions/", { method: "DELETE", token: current.access }))).toEqual({ revoked: 0 });
  });
});

describe("last used", () => {
  it("is written at most once a minute by use, and on every refresh", async () => {
    const start = Math.floor(Date.now() / 1000) * 1000;
    const r = rig({ clock: start });
    const { username } = await registerUser();
    const pair = await signIn(username, PASSWORD, r.call);
    const id = sessionIdOf(pair.access);
    const startSeconds = start / 1000;
    expect((await sessionRow(id))!.last_used_at).toBe(startSeconds);

    r.advance(30);
    expect((await r.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect((await sessionRow(id))!.last_used_at).toBe(startSeconds);

    r.advance(31);
    expect((await r.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect((await sessionRow(id))!.last_used_at).toBe(startSeconds + 61);

    r.advance(59);
    expect((await r.call("/api/hello/", { token: pair.access })).status).toBe(200);
    expect((await sessionRow(id))!.last_used_at).toBe(startSeconds + 61);

    r.advance(10);
    const refreshed = await r.call("/api/token/refresh/", { body: { refresh: pair.refresh } });
    expect(refreshed.status).toBe(200);
    expect((await sessionRow(id))!.last_used_at).toBe(startSeconds + 130);
  });

  it("is moved after the response (waitUntil) when the worker has an execution context", async () => {
    const { username } = await registerUser();
    const pair = await signIn(username);
    const id = sessionIdOf(pair.access);
    const stale = Math.floor(Date.now() / 1000) - 3600;
    await env.DB.prepare("UPDATE sessions SET last_used_at = ? WHERE id = ?").bind(stale, id).run();
    expect((await api("/api/hello/", { token: pair.access })).status).toBe(200);
    await vi.waitFor(async () => expect((await sessionRow(id))!.last_used_at).toBeGreaterThan(stale + 3000), {
      timeout: 2000,
      interval: 20,
    });
  });

  it("shows the current session as used now in the device list", async () => {
    const start = Date.now();
    const r = rig({ clock: start });
    const { username } = await registerUser();
    const pair = await signIn(username, PASSWORD, r.call);
    r.advance(45);
    const items = await list(await r.call("/api/auth/sessions/", { token: pair.access }));
    expect(items[0]!.last_used).toBe(new Date(Math.floor(start / 1000 + 45) * 1000).toISOString().replace(".000Z", "Z"));
  });
});

describe("password change: POST /api/auth/password/", () => {
  it("sets the new password, ends every other session in one go, and keeps the current one working", async () => {
    const { username } = await registerUser();
    const current = await signIn(username);
    const others = [await signIn(username), await signIn(username)];
    const res = await api("/api/auth/password/", { body: { old_password: PASSWORD, new_password: NEW_PASSWORD }, token: current.access });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ detail: "New password has been saved." });
    for (const other of others) {
      expect((await api("/api/hello/", { token: other.access })).status).toBe(401);
      expect((await api("/api/token/refresh/", { body: { refresh: other.refresh } })).status).toBe(401);
      expect((await sessionRow(sessionIdOf(other.access)))!.revoked_reason).toBe("password_changed");
    }
    expect((await api("/api/hello/", { token: current.access })).status).toBe(200);
    expect((await api("/api/token/refresh/", { body: { refresh: current.refresh } })).status).toBe(200);
    expect((await api("/api/token/", { body: { username, password: PASSWORD } })).status).toBe(401);
    expect((await api("/api/token/", { body: { username, password: NEW_PASSWORD } })).status).toBe(200);
    const row = await env.DB.prepare("SELECT password_changed_at FROM users WHERE username = ?")
      .bind(username)
      .first<{ password_changed_at: number }>();
    expect(row!.password_changed_at).toBeGreaterThan(0);
  });

  it("refuses a wrong old password and changes nothing", async () => {
    const { username } = await registerUser();
    const current = await signIn(username);
    const other = await signIn(username);
    const hashBefore = await env.DB.prepare("SELECT password_hash FROM users WHERE username = ?").bind(username).first();
    const before = await rowCounts();
    const res = await api("/api/auth/password/", {
      body: { old_password: "not my password", new_password: NEW_PASSWORD },
      token: current.access,
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ old_password: ["Your old password was entered incorrectly. Please enter it again."] });
    expect(await rowCounts()).toEqual(before);
    expect(await env.DB.prepare("SELECT password_hash FROM users WHERE username = ?").bind(username).first()).toEqual(hashBefore);
    expect((await api("/api/hello/", { token: other.access })).status).toBe(200);
  });

  it.each([
    ["too short", "short1", "This password is too short. It must contain at least 8 characters."],
    ["entirely numeric", "8675309123", "This password is entirely numeric."],
    ["too common", "password123", "This password is too common."],
  ])("applies register's password rules: %s", async (_label, weak, message) => {
    const { username } = await registerUser();
    const current = await signIn(username);
    const res = await api("/api/auth/password/", { body: { old_password: PASSWORD, new_password: weak }, token: current.access });
    expect(res.status).toBe(400);
    expect((await json(res)).new_password).toContain(message);
  });

  it("refuses a new password equal to the username, and reports both fields at once", async () => {
    const username = uniqueName("samepw");
    await registerUser(username);
    const current = await signIn(username);
    const res = await api("/api/auth/password/", { body: { old_password: "wrong one!", new_password: username }, token: current.access });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      old_password: ["Your old password was entered incorrectly. Please enter it again."],
      new_password: ["The password is too similar to the username or email."],
    });
  });

  it("reports missing fields in DRF's shape (unknown ones ignored), and needs a bearer token", async () => {
    const { username } = await registerUser();
    const current = await signIn(username);
    const res = await api("/api/auth/password/", { body: { password: "x" }, token: current.access });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ old_password: ["This field is required."], new_password: ["This field is required."] });
    expect((await api("/api/auth/password/", { body: { old_password: PASSWORD, new_password: NEW_PASSWORD } })).status).toBe(401);
  });
});

describe("account: PATCH /api/auth/me/", () => {
  it("changes the email, validated as at registration", async () => {
    const { username } = await registerUser();
    const pair = await signIn(username);
    const res = await api("/api/auth/me/", {
      method: "PATCH",
      body: { email: "new.address@example.org", current_password: PASSWORD },
      token: pair.access,
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ username, email: "new.address@example.org" });
    expect(await json(await api("/api/auth/me/", { token: pair.access }))).toMatchObject({ email: "new.address@example.org" });
  });

  it.each([
    [{ email: "not-an-email" }, { email: ["Enter a valid email address."] }],
    [{ email: "" }, { email: ["Enter a valid email address."] }],
    [{ email: 42 }, { email: ["Not a valid string."] }],
    [{ email: null }, { email: ["This field may not be null."] }],
  ])("refuses %j", async (body, errors) => {
    const { username } = await registerUser();
    const pair = await signIn(username);
    const res = await api("/api/auth/me/", { method: "PATCH", body, token: pair.access });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual(errors);
    expect(await json(await api("/api/auth/me/", { token: pair.access }))).toMatchObject({ username, email: `${username}@example.com` });
  });

  it("answers the unchanged user for an empty patch", async () => {
    const { username } = await registerUser();
    const pair = await signIn(username);
    const res = await api("/api/auth/me/", { method: "PATCH", body: {}, token: pair.access });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ username, email: `${username}@example.com` });
  });
});

describe("account: DELETE /api/auth/me/", () => {
  it("with the password: deletes the user, every session and the user's data; the tokens die at once", async () => {
    const { username, id } = await registerUser();
    const a = await signIn(username);
    const b = await signIn(username);
    const hasNotes = await env.DB.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'notes'").first();
    if (hasNotes) {
      await env.DB.prepare("INSERT INTO notes (id, user_id, title, body, created_at_ms, updated_at_ms) VALUES (?, ?, 't', 'b', 1, 1)")
        .bind(`n${Date.now()}`.padEnd(22, "x"), id)
        .run();
    }
    const res = await api("/api/auth/me/", { method: "DELETE", body: { password: PASSWORD }, token: a.access });
    expect(res.status).toBe(204);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM users WHERE id = ?").bind(id).first("n")).toBe(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?").bind(id).first("n")).toBe(0);
    if (hasNotes) expect(await env.DB.prepare("SELECT count(*) AS n FROM notes WHERE user_id = ?").bind(id).first("n")).toBe(0);
    for (const pair of [a, b]) {
      expect((await api("/api/hello/", { token: pair.access })).status).toBe(401);
      expect((await api("/api/token/refresh/", { body: { refresh: pair.refresh } })).status).toBe(401);
    }
    const again = await api("/api/token/", { body: { username, password: PASSWORD } });
    expect(again.status).toBe(401);
    expect(await json(again)).toMatchObject({ code: "no_active_account" });
  });

  it.each([
    ["a wrong password", { password: "not the password" }, { password: ["Incorrect password."] }],
    ["no password", {}, { password: ["This field is required."] }],
    ["a blank password", { password: "" }, { password: ["This field may not be blank."] }],
  ])("refuses %s and deletes nothing", async (_label, body, errors) => {
    const { username } = await registerUser();
    const pair = await signIn(username);
    const before = await rowCounts();
    const res = await api("/api/auth/me/", { method: "DELETE", body, token: pair.access });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual(errors);
    expect(await rowCounts()).toEqual(before);
    expect((await api("/api/hello/", { token: pair.access })).status).toBe(200);
  });
});

describe("housekeeping: the purge cron", () => {
  // Rows dated around 2001, so this file's real-time sessions are never older than the cutoff.
  const NOW = 1_000_000_000;
  const DAY = 86_400;

  async function insertSession(userId: number, fields: { expiresAt: number; revokedAt?: number | null }): Promise<string> {
    const id = crypto.randomUUID().replace(/-/g, "").slice(0, 22);
    await env.DB.prepare(
      "INSERT INTO sessions (id, user_id, method, created_at, last_used_at, expires_at, revoked_at, refresh_hash, refresh_issued_at) VALUES (?, ?, 'password', ?, ?, ?, ?, 'h', ?)",
    )
      .bind(id, userId, NOW - 10 * DAY, NOW - 10 * DAY, fields.expiresAt, fields.revokedAt ?? null, NOW - 10 * DAY)
      .run();
    return id;
  }

  async function exists(id: string): Promise<boolean> {
    return (await env.DB.prepare("SELECT 1 FROM sessions WHERE id = ?").bind(id).first()) !== null;
  }

  it("deletes sessions expired or revoked more than a day ago, in bounded batches, and keeps the rest", async () => {
    const { id: userId } = await registerUser();
    const stale = [
      await insertSession(userId, { expiresAt: NOW - 2 * DAY }),
      await insertSession(userId, { expiresAt: NOW - DAY - 1 }),
      await insertSession(userId, { expiresAt: NOW + DAY, revokedAt: NOW - 3 * DAY }),
      await insertSession(userId, { expiresAt: NOW - 5 * DAY, revokedAt: NOW - 6 * DAY }),
      await insertSession(userId, { expiresAt: NOW - 9 * DAY }),
    ];
    const kept = [
      await insertSession(userId, { expiresAt: NOW + DAY }),
      await insertSession(userId, { expiresAt: NOW - 60 }),
      await insertSession(userId, { expiresAt: NOW + DAY, revokedAt: NOW - 60 }),
    ];
    const first = await purgeEndedSessions(getDb(env.DB, 3000), NOW, { batchSize: 2, maxBatches: 2 });
    expect(first).toEqual({ deleted: 4, batches: 2, more: true });
    const second = await purgeEndedSessions(getDb(env.DB, 3000), NOW, { batchSize: 2, maxBatches: 2 });
    expect(second).toEqual({ deleted: 1, batches: 1, more: false });
    for (const id of stale) expect(await exists(id)).toBe(false);
    for (const id of kept) expect(await exists(id)).toBe(true);
  });

  it("runs from the worker's scheduled handler on the cron", async () => {
    const { id: userId } = await registerUser();
    const stale = await insertSession(userId, { expiresAt: NOW - 2 * DAY });
    const live = await insertSession(userId, { expiresAt: NOW + DAY });
    const controller = createScheduledController({ scheduledTime: new Date(NOW * 1000), cron: "17 * * * *" });
    const ctx = createExecutionContext();
    await worker.scheduled!(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await exists(stale)).toBe(false);
    expect(await exists(live)).toBe(true);
  });
});
