import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PASSWORD, api, decodeJwt, deployedHashing, registerUser, rig, rowCounts, signIn, signUp, uniqueName } from "./helpers";

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe("register", () => {
  it("creates a user and answers 201 with the public fields only", async () => {
    const username = uniqueName("reg");
    const res = await api("/api/auth/register/", { body: { username, email: `${username}@example.com`, password: PASSWORD } });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toMatchObject({ username, email: `${username}@example.com`, last_login: null });
    expect(typeof body.id).toBe("number");
    expect(body).not.toHaveProperty("password");
    expect(body).not.toHaveProperty("password_hash");
  });

  it("stores the password as a salted argon2id hash in Django's format, with its parameters", async () => {
    const { username } = await registerUser(undefined, PASSWORD, deployedHashing().call);
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE username = ?")
      .bind(username)
      .first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{30}\$[A-Za-z0-9+/]{43}$/);
    expect(row!.password_hash).not.toContain(PASSWORD);
  });

  it("refuses a username that is taken, whatever its case", async () => {
    const { username } = await registerUser();
    const before = await rowCounts();
    const res = await api("/api/auth/register/", {
      body: { username: username.toUpperCase(), email: "x@example.com", password: PASSWORD },
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({ username: ["A user with that username already exists."] });
    expect(await rowCounts()).toEqual(before);
  });

  it("reports every missing field in DRF's shape", async () => {
    const res = await api("/api/auth/register/", { body: {} });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      username: ["This field is required."],
      email: ["This field is required."],
      password: ["This field is required."],
    });
  });

  it.each([
    ["too short", "short1", "This password is too short. It must contain at least 8 characters."],
    ["entirely numeric", "8675309123", "This password is entirely numeric."],
    ["too common", "password123", "This password is too common."],
  ])("refuses a password that is %s", async (_, password, message) => {
    const username = uniqueName("pw");
    const before = await rowCounts();
    const res = await api("/api/auth/register/", { body: { username, email: `${username}@example.com`, password } });
    expect(res.status).toBe(400);
    expect((await json(res)).password).toContain(message);
    expect(await rowCounts()).toEqual(before);
  });

  it("refuses a password equal to the username", async () => {
    const username = uniqueName("same");
    const res = await api("/api/auth/register/", { body: { username, email: "a@example.com", password: username } });
    expect(res.status).toBe(400);
    expect((await json(res)).password).toContain("The password is too similar to the username or email.");
  });

  it("refuses an absurdly long password before hashing it", async () => {
    const before = await rowCounts();
    const res = await api("/api/auth/register/", {
      body: { username: uniqueName(), email: "a@example.com", password: "x".repeat(10_000) },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).password).toEqual(["Ensure this field has no more than 128 characters."]);
    expect(await rowCounts()).toEqual(before);
  });

  it("refuses an invalid email and an invalid username", async () => {
    const res = await api("/api/auth/register/", { body: { username: "bad name!", email: "not-an-email", password: PASSWORD } });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.email).toEqual(["Enter a valid email address."]);
    expect(body.username).toHaveLength(1);
  });
});

describe("obtaining a token pair", () => {
  it("answers {access, refresh} with simplejwt's claims", async () => {
    const user = await registerUser();
    const pair = await signIn(user.username);
    const access = decodeJwt(pair.access);
    const refresh = decodeJwt(pair.refresh);
    expect(access.header).toMatchObject({ alg: "ES256", typ: "JWT", kid: "test-key-1" });
    expect(access.payload).toMatchObject({
      sub: String(user.id),
      user_id: user.id,
      token_type: "access",
      iss: "https://auth.example.test",
      aud: "https://auth.example.test",
    });
    expect(refresh.payload).toMatchObject({ sub: String(user.id), user_id: user.id, token_type: "refresh", sid: access.payload.sid });
    expect((access.payload.exp as number) - (access.payload.iat as number)).toBe(300);
    expect((refresh.payload.exp as number) - (refresh.payload.iat as number)).toBe(86_400);
    expect(access.payload.jti).not.toEqual(refresh.payload.jti);
  });

  it("accepts the username in any case", async () => {
    const user = await registerUser();
    await expect(signIn(user.username.toUpperCase())).resolves.toHaveProperty("access");
  });

  it("records the device and the sign-in method on the new session", async () => {
    const user = await registerUser();
    const res = await api("/api/token/", {
      body: { username: user.username, password: PASSWORD },
      headers: { "user-agent": "TestBrowser/1.0", "cf-connecting-ip": "203.0.113.9" },
    });
    const { access } = (await res.json()) as { access: string };
    const sid = decodeJwt(access).payload.sid as string;
    const row = await env.DB.prepare("SELECT method, user_agent, ip FROM sessions WHERE id = ?").bind(sid).first();
    expect(row).toEqual({ method: "password", user_agent: "TestBrowser/1.0", ip: "203.0.113.9" });
  });

  it("answers a wrong password with 401 no_active_account and creates no session", async () => {
    const user = await registerUser();
    const before = await rowCounts();
    const res = await api("/api/token/", { body: { username: user.username, password: "wrong password!" } });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ detail: "No active account found with the given credentials", code: "no_active_account" });
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    expect(await rowCounts()).toEqual(before);
  });

  it("answers an unknown user exactly like a wrong password", async () => {
    const user = await registerUser();
    const wrong = await api("/api/token/", { body: { username: user.username, password: "wrong password!" } });
    const unknown = await api("/api/token/", { body: { username: uniqueName("ghost"), password: "wrong password!" } });
    expect(unknown.status).toBe(wrong.status);
    expect(await unknown.text()).toBe(await wrong.text());
  });

  it("refuses an inactive user with the right password", async () => {
    const user = await registerUser();
    await env.DB.prepare("UPDATE users SET is_active = 0 WHERE id = ?").bind(user.id).run();
    const res = await api("/api/token/", { body: { username: user.username, password: PASSWORD } });
    expect(res.status).toBe(401);
    expect((await json(res)).code).toBe("no_active_account");
  });

  it("upgrades a weaker stored hash at the next sign-in", async () => {
    const { hashPasswordPbkdf2 } = await import("../src/auth/passwords");
    const user = await registerUser();
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE id = ?")
      .bind(await hashPasswordPbkdf2(PASSWORD, 1000), user.id)
      .run();
    await signIn(user.username, PASSWORD, deployedHashing().call);
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?").bind(user.id).first<{ password_hash: string }>();
    expect(row!.password_hash.startsWith("argon2$argon2id$v=19$m=19456,t=2,p=1$")).toBe(true);
  });

  it("sets last_login, shown by /api/auth/me/", async () => {
    const user = await registerUser();
    const { access } = await signIn(user.username);
    const me = await json(await api("/api/auth/me/", { token: access }));
    expect(me).toMatchObject({ id: user.id, username: user.username });
    expect(me.last_login).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});

describe("bearer-protected routes", () => {
  it("greet a signed-in user", async () => {
    const { access } = await signUp();
    const res = await api("/api/hello/", { token: access });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ message: "Hello, World!" });
  });

  it("answer 401 not_authenticated with WWW-Authenticate when no token is sent", async () => {
    const res = await api("/api/hello/");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    expect(await json(res)).toEqual({ detail: "Authentication credentials were not provided.", code: "not_authenticated" });
  });

  it("answer 401 bad_authorization_header for a Bearer header without exactly one token", async () => {
    for (const header of ["Bearer", "Bearer a b"]) {
      const res = await api("/api/auth/me/", { headers: { authorization: header } });
      expect(res.status).toBe(401);
      expect((await json(res)).code).toBe("bad_authorization_header");
    }
  });

  it("answer 401 token_not_valid with simplejwt's messages for garbage", async () => {
    const res = await api("/api/auth/me/", { token: "not.a.jwt" });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({
      detail: "Given token not valid for any token type",
      code: "token_not_valid",
      messages: [{ token_class: "AccessToken", token_type: "access", message: "Token is invalid" }],
    });
  });

  it("refuse a refresh token used as an access token", async () => {
    const { refresh } = await signUp();
    const res = await api("/api/hello/", { token: refresh });
    expect(res.status).toBe(401);
    expect((await json(res)).code).toBe("token_not_valid");
  });

  it("refuse the token of a user who was deactivated since", async () => {
    const user = await registerUser();
    const { access } = await signIn(user.username);
    await env.DB.prepare("UPDATE users SET is_active = 0 WHERE id = ?").bind(user.id).run();
    const res = await api("/api/hello/", { token: access });
    expect(res.status).toBe(401);
    expect((await json(res)).code).toBe("user_inactive");
  });

  it("answer with and without the trailing slash", async () => {
    const { access } = await signUp();
    expect((await api("/api/hello", { token: access })).status).toBe(200);
    expect((await api("/api/auth/me", { token: access })).status).toBe(200);
  });
});

describe("refresh with rotation", () => {
  it("answers a new pair, and the new access token works", async () => {
    const user = await registerUser();
    const first = await signIn(user.username);
    const res = await api("/api/token/refresh/", { body: { refresh: first.refresh } });
    expect(res.status).toBe(200);
    const next = (await res.json()) as { access: string; refresh: string };
    expect(next.refresh).not.toBe(first.refresh);
    expect(decodeJwt(next.refresh).payload.sid).toBe(decodeJwt(first.refresh).payload.sid);
    expect((await api("/api/hello/", { token: next.access })).status).toBe(200);
  });

  it("a refresh token rotated out and replayed after the reuse interval revokes its whole session", async () => {
    const r = rig();
    const user = await registerUser();
    const first = await signIn(user.username, PASSWORD, r.call);
    const second = (await (await r.call("/api/token/refresh/", { body: { refresh: first.refresh } })).json()) as {
      access: string;
      refresh: string;
    };
    r.advance(11);
    const replay = await r.call("/api/token/refresh/", { body: { refresh: first.refresh } });
    expect(replay.status).toBe(401);
    expect(await json(replay)).toMatchObject({ code: "token_not_valid" });
    // Every token of that session is dead now: the legitimate successor and its access token too.
    expect((await r.call("/api/token/refresh/", { body: { refresh: second.refresh } })).status).toBe(401);
    expect((await r.call("/api/hello/", { token: second.access })).status).toBe(401);
    const row = await env.DB.prepare("SELECT revoked_reason FROM sessions WHERE id = ?").bind(decodeJwt(first.refresh).payload.sid).first();
    expect(row).toEqual({ revoked_reason: "refresh_reuse" });
  });

  it("two tabs refreshing the same token at once both get the same successor and stay signed in", async () => {
    const user = await registerUser();
    const first = await signIn(user.username);
    const [a, b] = await Promise.all([
      api("/api/token/refresh/", { body: { refresh: first.refresh } }),
      api("/api/token/refresh/", { body: { refresh: first.refresh } }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const pa = (await a.json()) as { access: string; refresh: string };
    const pb = (await b.json()) as { access: string; refresh: string };
    expect(decodeJwt(pa.refresh).payload.jti).toBe(decodeJwt(pb.refresh).payload.jti);
    expect(decodeJwt(pa.refresh).payload.exp).toBe(decodeJwt(pb.refresh).payload.exp);
    // The successor is the session's one current refresh token, whichever copy is used.
    expect((await api("/api/token/verify/", { body: { token: pb.refresh } })).status).toBe(200);
    expect((await api("/api/hello/", { token: pa.access })).status).toBe(200);
    expect((await api("/api/hello/", { token: pb.access })).status).toBe(200);
  });

  it("a replay within the reuse interval gets the successor already issued, not a new one", async () => {
    const r = rig();
    const first = await signIn((await registerUser()).username, PASSWORD, r.call);
    const one = (await (await r.call("/api/token/refresh/", { body: { refresh: first.refresh } })).json()) as { refresh: string };
    r.advance(9);
    const again = await r.call("/api/token/refresh/", { body: { refresh: first.refresh } });
    expect(again.status).toBe(200);
    const two = (await again.json()) as { refresh: string };
    expect(decodeJwt(two.refresh).payload.jti).toBe(decodeJwt(one.refresh).payload.jti);
    // …and the successor still rotates normally afterwards.
    expect((await r.call("/api/token/refresh/", { body: { refresh: one.refresh } })).status).toBe(200);
  });

  it("REFRESH_REUSE_INTERVAL=0 makes any replay revoke the session", async () => {
    const r = rig({ env: { REFRESH_REUSE_INTERVAL: "0" } });
    const first = await signIn((await registerUser()).username, PASSWORD, r.call);
    expect((await r.call("/api/token/refresh/", { body: { refresh: first.refresh } })).status).toBe(200);
    r.advance(1);
    expect((await r.call("/api/token/refresh/", { body: { refresh: first.refresh } })).status).toBe(401);
  });

  it("refuses an access token in place of a refresh token", async () => {
    const { access } = await signUp();
    const res = await api("/api/token/refresh/", { body: { refresh: access } });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ detail: "Token has wrong type", code: "token_not_valid" });
  });

  it("refuses an expired refresh token", async () => {
    const r = rig();
    const first = await signIn((await registerUser()).username, PASSWORD, r.call);
    r.advance(86_401);
    const res = await r.call("/api/token/refresh/", { body: { refresh: first.refresh } });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ detail: "Token is expired", code: "token_not_valid" });
  });
});

describe("verify", () => {
  it("answers 200 {} for a live access or refresh token", async () => {
    const pair = await signUp();
    for (const token of [pair.access, pair.refresh]) {
      const res = await api("/api/token/verify/", { body: { token } });
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({});
    }
  });

  it("rejects a refresh token that was rotated out (simplejwt would accept it)", async () => {
    const pair = await signUp();
    await api("/api/token/refresh/", { body: { refresh: pair.refresh } });
    const res = await api("/api/token/verify/", { body: { token: pair.refresh } });
    expect(res.status).toBe(401);
    expect((await json(res)).code).toBe("token_not_valid");
  });

  it("rejects a blacklisted refresh token and the access tokens of its session", async () => {
    const pair = await signUp();
    await api("/api/token/blacklist/", { body: { refresh: pair.refresh } });
    for (const token of [pair.refresh, pair.access]) {
      expect((await api("/api/token/verify/", { body: { token } })).status).toBe(401);
    }
  });

  it("rejects garbage with token_not_valid", async () => {
    const res = await api("/api/token/verify/", { body: { token: "abc" } });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ detail: "Token is invalid", code: "token_not_valid" });
  });
});

describe("blacklist (logout)", () => {
  it("an access token issued before logout fails right after logout", async () => {
    const pair = await signUp();
    expect((await api("/api/hello/", { token: pair.access })).status).toBe(200);
    const res = await api("/api/token/blacklist/", { body: { refresh: pair.refresh } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({});
    const after = await api("/api/hello/", { token: pair.access });
    expect(after.status).toBe(401);
    expect(await json(after)).toMatchObject({ code: "token_not_valid", messages: [{ message: "Token is blacklisted" }] });
  });

  it("a blacklisted refresh token can no longer refresh", async () => {
    const pair = await signUp();
    await api("/api/token/blacklist/", { body: { refresh: pair.refresh } });
    const res = await api("/api/token/refresh/", { body: { refresh: pair.refresh } });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ detail: "Token is blacklisted", code: "token_not_valid" });
  });

  it("logging out twice answers 401 the second time", async () => {
    const pair = await signUp();
    expect((await api("/api/token/blacklist/", { body: { refresh: pair.refresh } })).status).toBe(200);
    expect((await api("/api/token/blacklist/", { body: { refresh: pair.refresh } })).status).toBe(401);
  });

  it("logs out only that session: the user's other devices stay signed in", async () => {
    const user = await registerUser();
    const laptop = await signIn(user.username);
    const phone = await signIn(user.username);
    await api("/api/token/blacklist/", { body: { refresh: laptop.refresh } });
    expect((await api("/api/hello/", { token: phone.access })).status).toBe(200);
  });

  it("refuses an access token", async () => {
    const pair = await signUp();
    expect((await api("/api/token/blacklist/", { body: { refresh: pair.access } })).status).toBe(401);
    expect((await api("/api/hello/", { token: pair.access })).status).toBe(200);
  });
});

describe("JWKS", () => {
  it("publishes the public verification keys and no private part", async () => {
    const res = await api("/.well-known/jwks.json");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(body.keys).toHaveLength(1);
    expect(body.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", kid: "test-key-1", alg: "ES256", use: "sig" });
    for (const key of body.keys) for (const member of ["d", "p", "q", "dp", "dq", "qi", "k"]) expect(key).not.toHaveProperty(member);
  });

  it("answers 404 with HS256, which has no public key", async () => {
    const r = rig({ env: { JWT_ALGORITHM: "HS256", JWT_SECRET: "s".repeat(48) } });
    const res = await r.call("/.well-known/jwks.json");
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ detail: "Not found." });
  });
});

describe("the API contract", () => {
  it("answers unknown routes with DRF's 404 body", async () => {
    const res = await api("/api/nope/");
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ detail: "Not found." });
  });

  it("answers a wrong method with 405 and an Allow header", async () => {
    const res = await api("/api/token/", { method: "GET" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST, OPTIONS");
    expect(await json(res)).toEqual({ detail: 'Method "GET" not allowed.', code: "method_not_allowed" });
  });

  it("puts a request id on every response", async () => {
    const res = await api("/api/nope/");
    expect(res.headers.get("x-request-id")).toMatch(/^[\w-]{8,}$/);
  });
});

describe("bad input changes nothing", () => {
  const cases: Array<[string, string, Parameters<typeof api>[1], number, Record<string, unknown> | null]> = [
    ["malformed JSON", "/api/auth/register/", { raw: '{"username": "x",' }, 400, { code: "parse_error" }],
    [
      "a non-JSON content type",
      "/api/auth/register/",
      { raw: "username=x&password=y", headers: { "content-type": "application/x-www-form-urlencoded" } },
      415,
      { code: "unsupported_media_type" },
    ],
    [
      "a JSON array",
      "/api/auth/register/",
      { body: [1, 2] },
      400,
      { non_field_errors: ["Invalid data. Expected a dictionary, but got list."] },
    ],
    [
      "wrongly typed fields",
      "/api/auth/register/",
      { body: { username: 1, email: true, password: null } },
      400,
      { username: ["Not a valid string."], email: ["Not a valid string."], password: ["This field may not be null."] },
    ],
    [
      "a body over the size limit",
      "/api/auth/register/",
      { body: { username: "big", email: "b@example.com", password: PASSWORD, pad: "x".repeat(70_000) } },
      413,
      { code: "request_too_large" },
    ],
    ["an empty username", "/api/token/", { body: { username: "", password: "x" } }, 400, { username: ["This field may not be blank."] }],
    [
      "an absurdly long password at sign-in",
      "/api/token/",
      { body: { username: "someone", password: "p".repeat(5000) } },
      400,
      { password: ["Ensure this field has no more than 128 characters."] },
    ],
    ["a missing refresh token", "/api/token/refresh/", { body: {} }, 400, { refresh: ["This field is required."] }],
    ["a numeric token", "/api/token/verify/", { body: { token: 42 } }, 400, { token: ["Not a valid string."] }],
    ["broken JSON at logout", "/api/token/blacklist/", { raw: "{{" }, 400, { code: "parse_error" }],
    [
      "text/plain at refresh",
      "/api/token/refresh/",
      { raw: '{"refresh":"x"}', headers: { "content-type": "text/plain" } },
      415,
      { code: "unsupported_media_type" },
    ],
  ];

  it.each(cases)("%s gets a clear 4xx JSON error", async (_, path, call, status, expected) => {
    const before = await rowCounts();
    const res = await api(path, call);
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    if (expected) expect(await json(res)).toMatchObject(expected);
    expect(await rowCounts()).toEqual(before);
  });
});
