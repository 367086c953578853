/**
 * DRF's input rules and Django's account conventions, each symptom of issue 12 replayed: unknown and
 * read-only fields ignored, defaults, object lookup before validation, page_size fallback, prototype-named
 * keys, NFKC usernames, case-insensitive unique emails, REFRESH_REUSE_INTERVAL=0.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PASSWORD, api, registerUser, rig, rowCounts, signIn, uniqueName } from "./helpers";

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

async function noteOf(access: string, fields: Record<string, unknown> = { title: "mine", body: "text" }): Promise<{ id: string }> {
  const res = await api("/api/notes/", { body: fields, token: access });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

describe("unknown fields are ignored, as DRF ignores them", () => {
  it("signs in with {username, password, remember_me: true}, as a simplejwt front end may send", async () => {
    const { username } = await registerUser();
    const res = await api("/api/token/", { body: { username, password: PASSWORD, remember_me: true } });
    expect(res.status).toBe(200);
    expect(Object.keys(await json(res)).sort()).toEqual(["access", "refresh"]);
  });

  it("registers with an extra is_staff: true and grants nothing by it", async () => {
    const username = uniqueName("extra");
    const res = await api("/api/auth/register/", {
      body: { username, email: `${username}@example.com`, password: PASSWORD, is_staff: true, is_superuser: true },
    });
    expect(res.status).toBe(201);
    const row = await env.DB.prepare("SELECT is_staff, is_superuser FROM users WHERE username = ?").bind(username).first();
    expect(row).toEqual({ is_staff: 0, is_superuser: 0 });
  });

  it("refreshes, verifies and logs out with extra fields", async () => {
    const { username } = await registerUser();
    const pair = await signIn(username);
    expect((await api("/api/token/verify/", { body: { token: pair.access, extra: 1 } })).status).toBe(200);
    const refreshed = await api("/api/token/refresh/", { body: { refresh: pair.refresh, client: "web" } });
    expect(refreshed.status).toBe(200);
    const { refresh } = (await refreshed.json()) as { refresh: string };
    expect((await api("/api/token/blacklist/", { body: { refresh, all: true } })).status).toBe(200);
  });

  it("creates a note with an unknown field and does not store it", async () => {
    const { username } = await registerUser();
    const { access } = await signIn(username);
    const res = await api("/api/notes/", { body: { title: "t", body: "b", colour: "red" }, token: access });
    expect(res.status).toBe(201);
    expect(await json(res)).not.toHaveProperty("colour");
  });

  it("changes the password with an extra field", async () => {
    const { username } = await registerUser();
    const { access } = await signIn(username);
    const res = await api("/api/auth/password/", {
      body: { old_password: PASSWORD, new_password: "a brand new passphrase 42", logout_all: true },
      token: access,
    });
    expect(res.status).toBe(200);
  });
});

describe("read-only fields are ignored whatever their type", () => {
  it("a note PUT with id: 999999 and owner: 'x' keeps its id and owner", async () => {
    const { username, id: userId } = await registerUser();
    const { access } = await signIn(username);
    const note = await noteOf(access);
    const res = await api(`/api/notes/${note.id}/`, {
      method: "PUT",
      body: { id: 999999, owner: "x", created: false, updated: [], title: "new", body: "" },
      token: access,
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id: note.id, owner: userId, title: "new" });
  });

  it("a PATCH of /api/auth/me/ with username and id changes neither", async () => {
    const { username, id } = await registerUser();
    const { access } = await signIn(username);
    const res = await api("/api/auth/me/", { method: "PATCH", body: { username: "someone_else", id: 1, date_joined: 5 }, token: access });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id, username });
  });
});

describe("a field with a default may be omitted", () => {
  it("creates a note without `body`: it is the empty string", async () => {
    const { username } = await registerUser();
    const { access } = await signIn(username);
    const res = await api("/api/notes/", { body: { title: "only a title" }, token: access });
    expect(res.status).toBe(201);
    expect(await json(res)).toMatchObject({ title: "only a title", body: "" });
  });

  it("a PATCH without `body` leaves the body as it was", async () => {
    const { username } = await registerUser();
    const { access } = await signIn(username);
    const note = await noteOf(access, { title: "t", body: "keep me" });
    const res = await api(`/api/notes/${note.id}/`, { method: "PATCH", body: { title: "renamed" }, token: access });
    expect(await json(res)).toMatchObject({ title: "renamed", body: "keep me" });
  });
});

describe("detail routes look the object up before validating", () => {
  it.each(["PUT", "PATCH"])("%s of another user's note with an invalid body is 404, not 400", async (method) => {
    const owner = await registerUser();
    const stranger = await registerUser();
    const note = await noteOf((await signIn(owner.username)).access);
    const res = await api(`/api/notes/${note.id}/`, { method, body: { title: 42 }, token: (await signIn(stranger.username)).access });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ detail: "Not found." });
  });

  it("the owner's own note with an invalid body is still 400", async () => {
    const { username } = await registerUser();
    const { access } = await signIn(username);
    const note = await noteOf(access);
    const res = await api(`/api/notes/${note.id}/`, { method: "PATCH", body: { title: 42 }, token: access });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ title: ["Not a valid string."] });
  });
});

describe("an invalid page_size falls back to the default", () => {
  it.each(["abc", "0", "-5", "1.5", ""])("?page_size=%s lists a default page of 20", async (value) => {
    const { username } = await registerUser();
    const { access } = await signIn(username);
    for (let i = 0; i < 21; i++) await noteOf(access, { title: `n${i}` });
    const res = await api(`/api/notes/?page_size=${value}`, { token: access });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { count: number; results: unknown[] };
    expect(page.count).toBe(21);
    expect(page.results).toHaveLength(20);
  });
});

describe("keys named like Object.prototype members never reach a 500", () => {
  const keys = ["toString", "constructor", "__proto__", "valueOf", "hasOwnProperty"];
  it.each(keys)("{%j: …} at sign-in, registration, notes and password change is a 400 that changes nothing", async (key) => {
    const { username } = await registerUser();
    const { access } = await signIn(username);
    const before = await rowCounts();
    const hostile = `{"${key}": {"a": 1}}`;
    for (const [path, token] of [
      ["/api/token/", undefined],
      ["/api/auth/register/", undefined],
      ["/api/notes/", access],
      ["/api/auth/password/", access],
    ] as const) {
      const res = await api(path, { raw: hostile, token });
      expect(res.status, path).toBe(400);
    }
    expect(await rowCounts()).toEqual(before);
  });
});

describe("usernames and emails as Django keeps them", () => {
  it("normalises a username with NFKC: full-width ａｌｉｃｅ cannot register beside alice", async () => {
    const base = uniqueName("alice").toLowerCase();
    await registerUser(base);
    const fullWidth = [...base].map((ch) => (/[a-z0-9]/.test(ch) ? String.fromCodePoint(ch.codePointAt(0)! + 0xfee0) : ch)).join("");
    expect(fullWidth).not.toBe(base);
    const res = await api("/api/auth/register/", { body: { username: fullWidth, email: `${base}.other@example.com`, password: PASSWORD } });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ username: ["A user with that username already exists."] });
  });

  it("stores the NFKC form and signs in with either form", async () => {
    const base = uniqueName("ｂｏｂ");
    const res = await api("/api/auth/register/", { body: { username: base, email: `${uniqueName("b")}@example.com`, password: PASSWORD } });
    expect(res.status).toBe(201);
    const stored = ((await res.json()) as { username: string }).username;
    expect(stored).toBe(base.normalize("NFKC"));
    expect(stored.startsWith("bob")).toBe(true);
    await signIn(base);
    await signIn(stored.toUpperCase());
  });

  it("validates after NFKC: a full-width letter is a letter, a full-width space is not allowed", async () => {
    const res = await api("/api/auth/register/", {
      body: { username: "a\u3000b", email: `${uniqueName("c")}@example.com`, password: PASSWORD },
    });
    expect(res.status).toBe(400);
    expect(Object.keys(await json(res))).toEqual(["username"]);
  });

  it("refuses an email already used, whatever its case, naming `email`", async () => {
    const first = await registerUser();
    const before = await rowCounts();
    const res = await api("/api/auth/register/", {
      body: { username: uniqueName("dup"), email: `${first.username.toUpperCase()}@EXAMPLE.COM`, password: PASSWORD },
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ email: ["A user with that email address already exists."] });
    expect(await rowCounts()).toEqual(before);
  });

  it("lower-cases the domain part, as Django's normalize_email", async () => {
    const username = uniqueName("dom");
    const res = await api("/api/auth/register/", {
      body: { username, email: `Mixed.Case@Example.COM`.replace("Mixed", username), password: PASSWORD },
    });
    expect(await json(res)).toMatchObject({ email: `${username}.Case@example.com` });
  });

  it("PATCH /api/auth/me/ to another user's email (other case) is 400 naming `email`", async () => {
    const other = await registerUser();
    const { username } = await registerUser();
    const { access } = await signIn(username);
    const res = await api("/api/auth/me/", {
      method: "PATCH",
      body: { email: `${other.username}@Example.com`.toUpperCase(), current_password: PASSWORD },
      token: access,
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ email: ["A user with that email address already exists."] });
  });

  it("PATCH /api/auth/me/ to one's own email in another case is allowed", async () => {
    const { username } = await registerUser();
    const { access } = await signIn(username);
    const res = await api("/api/auth/me/", {
      method: "PATCH",
      body: { email: `${username.toUpperCase()}@example.com`, current_password: PASSWORD },
      token: access,
    });
    expect(res.status).toBe(200);
  });
});

describe("REFRESH_REUSE_INTERVAL=0", () => {
  it("hands nothing to a replay in the same second: the session is revoked", async () => {
    const r = rig({ env: { REFRESH_REUSE_INTERVAL: "0" } });
    const { username } = await registerUser();
    const pair = await signIn(username, PASSWORD, r.call);
    const first = await r.call("/api/token/refresh/", { body: { refresh: pair.refresh } });
    expect(first.status).toBe(200);
    const replay = await r.call("/api/token/refresh/", { body: { refresh: pair.refresh } });
    expect(replay.status).toBe(401);
    const { refresh } = (await first.json()) as { refresh: string };
    expect((await r.call("/api/token/refresh/", { body: { refresh } })).status).toBe(401);
  });

  it("with the default interval a replay in the same second still gets the successor", async () => {
    const r = rig();
    const { username } = await registerUser();
    const pair = await signIn(username, PASSWORD, r.call);
    expect((await r.call("/api/token/refresh/", { body: { refresh: pair.refresh } })).status).toBe(200);
    expect((await r.call("/api/token/refresh/", { body: { refresh: pair.refresh } })).status).toBe(200);
  });
});
