/** Hardening: rate limits (per IP, per user, exact per account), security headers and CSP, CORS, body limits, request ids, JSON request logs, duplicate JSON keys. */
import { env, exports } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../src/app";
import { ARGON2_PARAMS, ConfigError, TEST_ARGON2_PARAMS, parseConfig } from "../src/config";
import type { Env } from "../src/env";
import { MAX_BODY_BYTES, MAX_JSON_DEPTH, readBodyText, structureProblem } from "../src/http/body";
import { reserveSlot } from "../src/auth/attempt-counter";
import { THROTTLES, limitByIp, throttleByUser, memoryLimiter } from "../src/http/ratelimit";
import {
  API_CONTENT_SECURITY_POLICY,
  API_SECURITY_HEADERS,
  DOCUMENT_SECURITY_HEADERS,
  SECURITY_HEADERS,
  pageContentSecurityPolicy,
  usePageCsp,
} from "../src/http/security";
import type { LogLine } from "../src/http/log";
import { bearerCaller } from "../src/auth/middleware";
// @ts-expect-error -- Vite's ?raw import: the configured binding limits, read from the file wrangler deploys.
import wranglerToml from "../wrangler.toml?raw";
import { ORIGIN, PASSWORD, api, limitedRig, registerUser, rig, sessionIdOf, signIn, signUp, uniqueName, type Call } from "./helpers";
import { checkCodeOf, listen, startBody } from "./qr-helpers";

type Json = Record<string, unknown>;

let ipCounter = 0;
/** A fresh client address per use: the bindings' counts persist for the whole file. */
function freshIp(): string {
  ipCounter += 1;
  return `192.0.2.${ipCounter % 250}:${Date.now() % 100000}:${ipCounter}`;
}

function signInCall(username: string, password: string, ip = freshIp()): Call {
  return { body: { username, password }, headers: { "cf-connecting-ip": ip } };
}

/** The [[ratelimits]] entry for a binding, as wrangler.toml declares it. */
function configuredLimit(binding: string): { limit: number; period: number } {
  const block = (wranglerToml as string).split("[[ratelimits]]").find((part) => part.includes(`name = "${binding}"`));
  const match = block?.match(/simple\s*=\s*\{\s*limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)\s*\}/);
  if (!match) throw new Error(`${binding} is not declared in wrangler.toml`);
  return { limit: Number(match[1]), period: Number(match[2]) };
}

async function expectThrottled(res: Response, retryAfterSeconds?: number): Promise<Json> {
  expect(res.status).toBe(429);
  const body = (await res.json()) as Json;
  const seconds = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(seconds) && seconds >= 1).toBe(true);
  if (retryAfterSeconds !== undefined) expect(seconds).toBe(retryAfterSeconds);
  expect(body).toEqual({ detail: `Request was throttled. Expected available in ${seconds} seconds.`, code: "throttled" });
  return body;
}

describe("rate limits: configuration", () => {
  it("declares every throttle's binding in wrangler.toml with the period the Retry-After assumes", () => {
    for (const { binding, periodSeconds } of Object.values(THROTTLES)) {
      const { limit, period } = configuredLimit(binding);
      expect(period).toBe(periodSeconds);
      expect([10, 60]).toContain(period);
      expect(limit).toBeGreaterThan(0);
    }
  });

  it("defaults to no more than 10 failed sign-ins per account per minute", () => {
    const config = parseConfig({
      DB: env.DB,
      JWT_SIGNING_KEYS: "x",
      JWT_ISSUER: "https://auth.example.test",
      JWT_AUDIENCE: "https://auth.example.test",
    } as Env);
    expect(config.signInFailureLimit).toBeLessThanOrEqual(10);
    expect(config.signInFailureWindowSeconds).toBeGreaterThanOrEqual(60);
    expect(config.rateLimitsEnabled).toBe(true);
    expect(config.corsOrigins).toEqual([]);
  });

  it.each([
    [{ SIGNIN_FAILURE_LIMIT: "ten" }, "SIGNIN_FAILURE_LIMIT"],
    [{ SIGNIN_FAILURE_LIMIT: "0" }, "SIGNIN_FAILURE_LIMIT"],
    [{ SIGNIN_FAILURE_WINDOW: "5" }, "SIGNIN_FAILURE_WINDOW"],
    [{ RATE_LIMITS: "maybe" }, "RATE_LIMITS"],
    [{ CORS_ORIGINS: "*" }, "CORS_ORIGINS"],
    [{ CORS_ORIGINS: "https://app.example.com/" }, "CORS_ORIGINS"],
    [{ CORS_ORIGINS: "app.example.com" }, "CORS_ORIGINS"],
    [{ PASSWORD_HASH_COST: "cheap" }, "PASSWORD_HASH_COST"],
    // The test rigs' cheap hashing on a real origin: a deployed worker never stores weak hashes.
    [{ PASSWORD_HASH_COST: "test", JWT_ISSUER: "https://auth.example.com" }, "PASSWORD_HASH_COST"],
    [{ PASSWORD_HASH_COST: "test", JWT_ISSUER: "https://test.example.com" }, "PASSWORD_HASH_COST"],
  ])("refuses %j loudly, naming the setting", (vars, setting) => {
    let error: unknown;
    try {
      parseConfig({
        DB: env.DB,
        JWT_SIGNING_KEYS: "x",
        JWT_ISSUER: "https://auth.example.test",
        JWT_AUDIENCE: "https://auth.example.test",
        ...vars,
      } as Env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe(setting);
  });

  it("hashes new passwords at OWASP's argon2id minimum unless a test rig on a reserved test origin asks for less", () => {
    const base = { DB: env.DB, JWT_SIGNING_KEYS: "x", JWT_AUDIENCE: "aud" };
    const params = (vars: Record<string, string>) => parseConfig({ ...base, ...vars } as unknown as Env).passwordHashParams;
    expect(params({ JWT_ISSUER: "https://auth.example.com" })).toEqual({ memoryKiB: 19_456, timeCost: 2, parallelism: 1 });
    expect(params({ JWT_ISSUER: "https://auth.example.com", PASSWORD_HASH_COST: "standard" })).toEqual(ARGON2_PARAMS);
    for (const issuer of ["https://auth.example.test", "http://localhost:8787", "http://127.0.0.1:8787", "https://a.localhost"]) {
      expect(params({ JWT_ISSUER: issuer, PASSWORD_HASH_COST: "test" }), issuer).toEqual(TEST_ARGON2_PARAMS);
    }
  });

  it("answers 500 server_misconfigured to a sign-in when the test rigs' hash cost reaches a real origin", async () => {
    const r = rig({ env: { PASSWORD_HASH_COST: "test", JWT_ISSUER: "https://auth.example.com" } });
    const res = await r.call("/api/token/", signInCall("whoever", "whatever"));
    expect(res.status).toBe(500);
    expect(((await res.json()) as { code: string }).code).toBe("server_misconfigured");
  });

  it("parses a CORS allow-list", () => {
    const config = parseConfig({
      DB: env.DB,
      JWT_SIGNING_KEYS: "x",
      JWT_ISSUER: "https://auth.example.test",
      JWT_AUDIENCE: "https://auth.example.test",
      CORS_ORIGINS: "https://app.example.com, http://localhost:5173",
    } as Env);
    expect(config.corsOrigins).toEqual(["https://app.example.com", "http://localhost:5173"]);
  });

  it("answers 500 server_misconfigured, not silence, when limits are on and a binding is missing", async () => {
    const r = limitedRig({ env: { SIGNIN_IP_LIMITER: undefined } });
    const res = await r.call("/api/token/", signInCall("whoever", "whatever"));
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: "server_misconfigured" });
  });
});

describe("rate limits: per IP (the Rate Limiting binding)", () => {
  /** Runs `attempt` limit+1 times inside one aligned window of the simulated binding (retrying once if a window boundary fell inside). */
  async function tripsAt(limit: number, period: number, attempt: (i: number) => Promise<Response>): Promise<Response[]> {
    for (let tries = 0; tries < 2; tries++) {
      const windowBefore = Math.floor(Date.now() / (period * 1000));
      const responses: Response[] = [];
      for (let i = 0; i <= limit; i++) responses.push(await attempt(i + tries * 1000));
      if (Math.floor(Date.now() / (period * 1000)) === windowBefore) return responses;
    }
    throw new Error("could not stay inside one rate-limit window");
  }

  it("sign-in: the configured number of attempts per IP, then 429 with Retry-After; other IPs unaffected", async () => {
    const { limit, period } = configuredLimit("SIGNIN_IP_LIMITER");
    const r = limitedRig();
    let ip = "";
    const responses = await tripsAt(limit, period, async (i) => {
      if (i % 1000 === 0) ip = freshIp();
      // A different (unknown) username each time, so the per-account limit never trips first.
      return r.call("/api/token/", signInCall(uniqueName("ipguess"), "wrong password", ip));
    });
    for (const res of responses.slice(0, limit)) expect(res.status).toBe(401);
    await expectThrottled(responses[limit]!, period);
    expect((await r.call("/api/token/", signInCall(uniqueName("other"), "wrong password"))).status).toBe(401);
  }, 30_000);

  it("registration: the configured number per IP, then 429", async () => {
    const { limit, period } = configuredLimit("REGISTER_IP_LIMITER");
    const r = limitedRig();
    let ip = "";
    const responses = await tripsAt(limit, period, async (i) => {
      if (i % 1000 === 0) ip = freshIp();
      // Invalid bodies are enough: the throttle counts requests before any work is done.
      return r.call("/api/auth/register/", {
        body: { username: "bad name!", email: "x", password: "x" },
        headers: { "cf-connecting-ip": ip },
      });
    });
    for (const res of responses.slice(0, limit)) expect(res.status).toBe(400);
    await expectThrottled(responses[limit]!, period);
  }, 30_000);

  it("lifts after the window (an injected limiter on a movable clock)", async () => {
    const r = limitedRig({
      limiters: (clock) => ({ signin_ip: memoryLimiter({ limit: 3, periodSeconds: 60, clock }) }),
      clock: 1_800_000_000_000,
    });
    const ip = freshIp();
    for (let i = 0; i < 3; i++) expect((await r.call("/api/token/", signInCall(uniqueName("lift"), "nope", ip))).status).toBe(401);
    await expectThrottled(await r.call("/api/token/", signInCall(uniqueName("lift"), "nope", ip)), 60);
    r.advance(45);
    await expectThrottled(await r.call("/api/token/", signInCall(uniqueName("lift"), "nope", ip)), 15);
    r.advance(15);
    expect((await r.call("/api/token/", signInCall(uniqueName("lift"), "nope", ip))).status).toBe(401);
  });

  it("QR helpers: limitByIp and throttleByUser count per address and per signed-in user", async () => {
    const r = limitedRig({
      limiters: (clock) => ({
        qr_create_ip: memoryLimiter({ limit: 2, periodSeconds: 60, clock }),
        qr_approve_user: memoryLimiter({ limit: 2, periodSeconds: 60, clock }),
      }),
      // Aligned to the limiter's minute, and near real time so real tokens are valid on this clock.
      clock: Math.ceil(Date.now() / 60_000) * 60_000,
    });
    r.app.post("/api/__test/create", limitByIp("qr_create_ip"), (c) => c.json({}));
    r.app.post("/api/__test/approve", async (c) => {
      await throttleByUser(c, "qr_approve_user", (await bearerCaller(c)).session.userId);
      return c.json({});
    });
    const ip = freshIp();
    const create = () => r.call("/api/__test/create", { method: "POST", headers: { "cf-connecting-ip": ip } });
    expect((await create()).status).toBe(200);
    expect((await create()).status).toBe(200);
    await expectThrottled(await create(), 60);
    expect((await r.call("/api/__test/create", { method: "POST", headers: { "cf-connecting-ip": freshIp() } })).status).toBe(200);

    const alice = await signUp();
    const bob = await signUp();
    const approve = (token: string) => r.call("/api/__test/approve", { method: "POST", token, headers: { "cf-connecting-ip": freshIp() } });
    expect((await approve(alice.access)).status).toBe(200);
    expect((await approve(alice.access)).status).toBe(200);
    await expectThrottled(await approve(alice.access), 60);
    expect((await approve(bob.access)).status).toBe(200);
    r.advance(60);
    expect((await approve(alice.access)).status).toBe(200);
  });

  it("POST /api/qr/ is throttled per IP, and lifts after the window", async () => {
    const r = limitedRig({
      limiters: (clock) => ({ qr_create_ip: memoryLimiter({ limit: 2, periodSeconds: 60, clock }) }),
      clock: Math.ceil(Date.now() / 60_000) * 60_000,
    });
    const ip = freshIp();
    const body = await startBody();
    const create = () => r.call("/api/qr/", { body, headers: { "cf-connecting-ip": ip } });
    expect((await create()).status).toBe(201);
    expect((await create()).status).toBe(201);
    await expectThrottled(await create(), 60);
    expect((await r.call("/api/qr/", { body, headers: { "cf-connecting-ip": freshIp() } })).status).toBe(201);
    r.advance(60);
    expect((await create()).status).toBe(201);
  });

  it("QR approvals are throttled per phone user, before the login is touched", async () => {
    const r = limitedRig({
      limiters: (clock) => ({ qr_approve_user: memoryLimiter({ limit: 1, periodSeconds: 60, clock }) }),
      clock: Math.ceil(Date.now() / 60_000) * 60_000,
    });
    const phone = await signUp();
    const body = await startBody();
    const start = async () => {
      const qr = (await (await r.call("/api/qr/", { body, headers: { "cf-connecting-ip": freshIp() } })).json()) as {
        id: string;
        secret: string;
      };
      // The browser listens, as the login page does: the phone can scan only then.
      await listen(qr, r.call);
      return qr.id;
    };
    const first = await start();
    const second = await start();
    for (const id of [first, second])
      expect((await r.call(`/api/qr/${id}/scan/`, { method: "POST", token: phone.access })).status).toBe(200);
    expect((await r.call(`/api/qr/${first}/approve/`, { token: phone.access, body: { code: await checkCodeOf(first) } })).status).toBe(200);
    await expectThrottled(
      await r.call(`/api/qr/${second}/approve/`, { token: phone.access, body: { code: await checkCodeOf(second) } }),
      60,
    );
    // The throttled approval changed nothing: the second login is still open for this phone.
    const view = await r.call(`/api/qr/${second}/`, { token: phone.access });
    expect(view.status).toBe(200);
    expect(((await view.json()) as { status: string }).status).toBe("scanned");
  });

  it("the anonymous QR id routes (image, socket, phone page) share a per-IP limit, counted before the id is checked", async () => {
    const r = limitedRig({
      limiters: (clock) => ({ qr_lookup_ip: memoryLimiter({ limit: 4, periodSeconds: 60, clock }) }),
      clock: Math.ceil(Date.now() / 60_000) * 60_000,
    });
    const { id } = (await (await r.call("/api/qr/", { body: await startBody(), headers: { "cf-connecting-ip": freshIp() } })).json()) as {
      id: string;
    };
    const ip = freshIp();
    const from = { "cf-connecting-ip": ip };
    expect((await r.call(`/api/qr/${id}/svg/`, { headers: from })).status).toBe(200);
    expect((await r.call(`/qr/${id}`, { headers: from })).status).toBe(200);
    // Forged ids count too: guessing costs the guesser.
    expect((await r.call(`/api/qr/${"A".repeat(28)}/svg/`, { headers: from })).status).toBe(404);
    expect((await r.call(`/api/qr/${id}/ws/?secret=${"A".repeat(43)}`, { headers: { ...from, upgrade: "websocket" } })).status).toBe(403);
    await expectThrottled(await r.call(`/api/qr/${id}/svg/`, { headers: from }), 60);
    await expectThrottled(await r.call(`/api/qr/${id}/ws/?secret=${"A".repeat(43)}`, { headers: { ...from, upgrade: "websocket" } }), 60);
    const page = await r.call(`/qr/${id}`, { headers: from });
    expect(page.status).toBe(429);
    expect(page.headers.get("retry-after")).toBe("60");
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect((await r.call(`/api/qr/${id}/svg/`, { headers: { "cf-connecting-ip": freshIp() } })).status).toBe(200);
    r.advance(60);
    expect((await r.call(`/api/qr/${id}/svg/`, { headers: from })).status).toBe(200);
  });

  it("RATE_LIMITS=off turns every limit off", async () => {
    const { username } = await registerUser();
    const ip = freshIp();
    // Through the worker as deployed in tests (vitest.config.ts sets RATE_LIMITS=off): 12 failures, no 429.
    for (let i = 0; i < 12; i++) expect((await api("/api/token/", signInCall(username, "wrong password", ip))).status).toBe(401);
    expect((await api("/api/token/", signInCall(username, PASSWORD, ip))).status).toBe(200);
  });
});

describe("rate limits: failed sign-ins per account (exact, from any IP)", () => {
  it("locks the account after the configured number of failures from many IPs; during the lock-out the right password gets the same 429; the lock lifts after the window", async () => {
    const r = limitedRig({ clock: 1_900_000_000_000 });
    const { username } = await registerUser();
    for (let i = 0; i < 10; i++) {
      const res = await r.call("/api/token/", signInCall(username, `wrong password ${i}`));
      expect(res.status).toBe(401);
    }
    const wrong = await r.call("/api/token/", signInCall(username, "wrong again"));
    const right = await r.call("/api/token/", signInCall(username.toUpperCase(), PASSWORD));
    const wrongBody = await expectThrottled(wrong, 60);
    const rightBody = await expectThrottled(right, 60);
    expect(rightBody).toEqual(wrongBody);
    expect(right.headers.get("retry-after")).toBe(wrong.headers.get("retry-after"));

    r.advance(30);
    await expectThrottled(await r.call("/api/token/", signInCall(username, PASSWORD)), 30);
    r.advance(30);
    expect((await r.call("/api/token/", signInCall(username, PASSWORD))).status).toBe(200);
  });

  it("counts only failures: correct sign-ins never lock the account", async () => {
    const r = limitedRig();
    const { username } = await registerUser();
    for (let i = 0; i < 14; i++) expect((await r.call("/api/token/", signInCall(username, PASSWORD))).status).toBe(200);
    for (let i = 0; i < 9; i++) expect((await r.call("/api/token/", signInCall(username, "wrong"))).status).toBe(401);
    expect((await r.call("/api/token/", signInCall(username, PASSWORD))).status).toBe(200);
  });

  it("is exact under concurrency: of 25 simultaneous wrong guesses exactly 10 are checked", async () => {
    const r = limitedRig();
    const { username } = await registerUser();
    const responses = await Promise.all(
      Array.from({ length: 25 }, (_, i) => r.call("/api/token/", signInCall(username, `parallel guess ${i}`))),
    );
    const statuses = responses.map((res) => res.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it("locks unknown usernames the same way, so a lock-out reveals nothing about existence", async () => {
    const r = limitedRig();
    const ghost = uniqueName("ghost");
    for (let i = 0; i < 10; i++) expect((await r.call("/api/token/", signInCall(ghost, "guess"))).status).toBe(401);
    await expectThrottled(await r.call("/api/token/", signInCall(ghost, "guess")), 60);
  });

  it("follows SIGNIN_FAILURE_LIMIT and SIGNIN_FAILURE_WINDOW", async () => {
    const r = limitedRig({ env: { SIGNIN_FAILURE_LIMIT: "3", SIGNIN_FAILURE_WINDOW: "120" }, clock: 1_950_000_000_000 });
    const { username } = await registerUser();
    for (let i = 0; i < 3; i++) expect((await r.call("/api/token/", signInCall(username, "wrong"))).status).toBe(401);
    await expectThrottled(await r.call("/api/token/", signInCall(username, PASSWORD)), 120);
    r.advance(120);
    expect((await r.call("/api/token/", signInCall(username, PASSWORD))).status).toBe(200);
  });

  it("also guards the password checks of password change and account deletion, per user and apart from sign-in", async () => {
    const { username } = await registerUser();
    const pair = await signIn(username);
    // The rig's clock starts now, not before the sign-in: a token issued after it would have a future `iat`.
    const r = limitedRig();
    for (let i = 0; i < 5; i++)
      expect(
        (
          await r.call("/api/auth/password/", {
            body: { old_password: "wrong", new_password: "a new long passphrase" },
            token: pair.access,
          })
        ).status,
      ).toBe(400);
    for (let i = 0; i < 5; i++)
      expect((await r.call("/api/auth/me/", { method: "DELETE", body: { password: "wrong" }, token: pair.access })).status).toBe(400);
    await expectThrottled(await r.call("/api/auth/me/", { method: "DELETE", body: { password: PASSWORD }, token: pair.access }));
    // A stolen access token guesses no faster than the form; the sign-in keeps its own budget.
    expect((await r.call("/api/token/", signInCall(username, PASSWORD))).status).toBe(200);
    expect((await r.call("/api/hello/", { token: pair.access })).status).toBe(200);
  });

  it("the sliding-window policy frees one slot at a time, as each failure ages out", () => {
    let attempts = [] as ReturnType<typeof reserveSlot>["attempts"];
    const take = (nowMs: number) => {
      const out = reserveSlot(attempts, { nowMs, limit: 2, windowMs: 60_000, id: String(nowMs) });
      attempts = out.attempts;
      return out.reservation;
    };
    expect(take(0)).toEqual({ ok: true, id: "0" });
    expect(take(10_000)).toEqual({ ok: true, id: "10000" });
    expect(take(20_000)).toEqual({ ok: false, retryAfterSeconds: 40 });
    expect(take(60_000)).toEqual({ ok: true, id: "60000" });
    expect(take(61_000)).toEqual({ ok: false, retryAfterSeconds: 9 });
  });
});

describe("security headers", () => {
  it.each([
    ["a JSON success", "/health", 200],
    ["a 401", "/api/hello/", 401],
    ["a 404", "/api/nothing-here/", 404],
    ["the JWKS", "/.well-known/jwks.json", 200],
  ])("the API set (OWASP's REST cheat sheet, and CORP) is on %s, and nothing only a document reads", async (_label, path, status) => {
    const res = await api(path);
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");
    expect(res.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    expect(res.headers.get("content-security-policy")).toBe(API_CONTENT_SECURITY_POLICY);
    for (const [name] of DOCUMENT_SECURITY_HEADERS) expect(res.headers.get(name), name).toBeNull();
    expect(res.headers.get("x-powered-by")).toBeNull();
    expect(res.headers.get("x-request-id")).toMatch(/^[\w-]{8,64}$/);
  });

  it("a page gets every header a document reads: no referrer, no powerful features, its own browsing context group", async () => {
    const res = await api("/login");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(res.headers.get("permissions-policy")).toContain("camera=()");
    for (const [name, value] of SECURITY_HEADERS) expect(res.headers.get(name), name).toBe(value);
  });

  it.each([
    ["a 405", "/api/token/", { method: "PUT" }, 405],
    ["a 413", "/api/token/", { raw: "x".repeat(MAX_BODY_BYTES + 1) }, 413],
    ["a 400", "/api/token/", { raw: "{" }, 400],
    ["an OPTIONS answer", "/api/token/", { method: "OPTIONS" }, 204],
    ["a page with its own CSP", "/login", {}, 200],
  ] as const)("are all on %s, with its request id", async (_label, path, call, status) => {
    const res = await api(path, call as Call);
    expect(res.status).toBe(status);
    const document = status === 200;
    for (const [name, value] of document ? SECURITY_HEADERS : API_SECURITY_HEADERS) expect(res.headers.get(name), name).toBe(value);
    expect(res.headers.get("content-security-policy")).toBeTruthy();
    expect(res.headers.get("x-request-id")).toMatch(/^[\w-]{8,64}$/);
  });

  it("the QR image is a document too (an SVG opened on its own renders as one): every header", async () => {
    const created = await api("/api/qr/", { body: await startBody() });
    const { svg_url } = (await created.json()) as { svg_url: string };
    const res = await api(new URL(svg_url).pathname);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^image\/svg\+xml/);
    for (const [name, value] of SECURITY_HEADERS) expect(res.headers.get(name), name).toBe(value);
  });

  it("keep a page's own nonce CSP: same-origin only, inline code only with this response's nonce", async () => {
    const r = limitedRig();
    r.app.get("/__test/page", (c) => {
      const nonce = usePageCsp(c);
      return c.html(`<!doctype html><style nonce="${nonce}">p{}</style><script nonce="${nonce}">1</script>`);
    });
    const first = await r.call("/__test/page");
    const second = await r.call("/__test/page");
    const csp = first.headers.get("content-security-policy")!;
    const nonce = (await first.text()).match(/nonce="([^"]+)"/)![1]!;
    expect(csp).toContain(`script-src 'self' 'nonce-${nonce}'`);
    expect(csp).toContain(`style-src 'self' 'nonce-${nonce}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self' wss://auth.example.test");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(second.headers.get("content-security-policy")).not.toBe(csp);
    expect(first.headers.get("x-frame-options")).toBe("DENY");
  });

  it("pageContentSecurityPolicy is strict on its own", () => {
    const csp = pageContentSecurityPolicy("abc123");
    expect(csp.split("; ")).toEqual([
      "default-src 'none'",
      "script-src 'self' 'nonce-abc123'",
      "style-src 'self' 'nonce-abc123'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "font-src 'self'",
      "manifest-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "object-src 'none'",
    ]);
  });

  it("do not break the QR WebSocket upgrade (101 headers are immutable)", async () => {
    const created = await api("/api/qr/", { body: await startBody() });
    expect(created.status).toBe(201);
    const { id, secret } = (await created.json()) as { id: string; secret: string };
    const res = await exports.default.fetch(`${ORIGIN}/api/qr/${id}/ws/?secret=${secret}`, {
      headers: { upgrade: "websocket", origin: ORIGIN },
    });
    expect(res.status).toBe(101);
    expect(res.webSocket).not.toBeNull();
    res.webSocket!.accept();
    res.webSocket!.close(1000, "done");
  });
});

describe("CORS", () => {
  it("answers 500 server_misconfigured on every route when CORS_ORIGINS is malformed, headed and logged like any error", async () => {
    const r = limitedRig({ env: { CORS_ORIGINS: "*" } });
    const res = await r.call("/health");
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: "server_misconfigured" });
    for (const [name, value] of API_SECURITY_HEADERS) expect(res.headers.get(name), name).toBe(value);
    expect(res.headers.get("x-request-id")).toMatch(/^[\w-]{8,64}$/);
    expect(r.logs.at(-1)).toMatchObject({
      level: "error",
      event: "config_error",
      setting: "CORS_ORIGINS",
      request_id: res.headers.get("x-request-id"),
    });
  });

  it("by default sends no CORS headers: only same-origin pages can read responses", async () => {
    const res = await api("/api/hello/", { headers: { origin: "https://evil.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await api("/api/token/", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    expect(preflight.headers.get("access-control-allow-methods")).toBeNull();
  });

  it("allows exactly the configured origins, for requests and preflights", async () => {
    const r = limitedRig({ env: { CORS_ORIGINS: "https://app.example.com,https://admin.example.com" } });
    const preflight = await r.call("/api/token/", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, authorization",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    // The device credential travels as a header from API clients on another origin, and is read back from sign-in.
    expect(preflight.headers.get("access-control-allow-headers")).toBe(
      "authorization,content-type,x-device-credential,x-requested-with,x-d1-bookmark",
    );
    expect(preflight.headers.get("access-control-allow-credentials")).toBeNull();
    expect(preflight.headers.get("access-control-max-age")).toBe("600");

    const res = await r.call("/api/hello/", { headers: { origin: "https://admin.example.com" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://admin.example.com");
    expect(res.headers.get("access-control-expose-headers")).toContain("retry-after");
    expect(res.headers.get("access-control-expose-headers")).toContain("x-device-credential");
    expect(res.headers.get("vary")).toContain("Origin");

    for (const origin of ["https://evil.example", "https://app.example.com.evil.example", "null"]) {
      const refused = await r.call("/api/hello/", { headers: { origin } });
      expect(refused.headers.get("access-control-allow-origin")).toBeNull();
      expect(refused.headers.get("vary")).toContain("Origin");
      const refusedPreflight = await r.call("/api/token/", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      });
      expect(refusedPreflight.headers.get("access-control-allow-origin")).toBeNull();
    }
  });

  it("leaves a plain OPTIONS (no preflight) to the route: 204 with Allow", async () => {
    const res = await api("/api/auth/sessions/", { method: "OPTIONS" });
    expect(res.status).toBe(204);
    expect(res.headers.get("allow")).toBe("GET, DELETE, HEAD, OPTIONS");
  });
});

describe("body size limit on every route", () => {
  it.each([
    ["a GET-only route", "POST", "/api/hello/"],
    ["an unknown route", "POST", "/api/nothing-here/"],
    ["the JWKS", "DELETE", "/.well-known/jwks.json"],
    ["a bearer route, before authentication", "PATCH", "/api/auth/me/"],
    ["sign-in", "POST", "/api/token/"],
  ])("refuses a declared body over the limit on %s with 413, before anything else", async (_label, method, path) => {
    const res = await api(path, { method, raw: "x".repeat(MAX_BODY_BYTES + 1) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: "request_too_large" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("reads a declared body whole and still refuses one longer than its Content-Length claimed", async () => {
    const ok = new Request(`${ORIGIN}/x`, { method: "POST", headers: { "content-length": "11" }, body: '{"a":"é"}' });
    expect(await readBodyText(ok)).toBe('{"a":"é"}');
    const lying = new Request(`${ORIGIN}/x`, { method: "POST", headers: { "content-length": "10" }, body: "x".repeat(MAX_BODY_BYTES + 1) });
    await expect(readBodyText(lying)).rejects.toMatchObject({ code: "request_too_large" });
    const broken = new Request(`${ORIGIN}/x`, { method: "POST", headers: { "content-length": "2" }, body: new Uint8Array([0xc3, 0x28]) });
    await expect(readBodyText(broken)).rejects.toMatchObject({ code: "parse_error" });
  });

  it("a body cut off inside a character is refused, and the next body decodes whole (one decoder serves every request)", async () => {
    const post = (bytes: Uint8Array) =>
      new Request(`${ORIGIN}/x`, { method: "POST", headers: { "content-length": String(bytes.byteLength) }, body: bytes });
    const euro = new TextEncoder().encode('{"a":"€"}');
    await expect(readBodyText(post(euro.slice(0, 8)))).rejects.toMatchObject({ code: "parse_error" });
    expect(await readBodyText(post(euro))).toBe('{"a":"€"}');
    expect(await readBodyText(post(new TextEncoder().encode("€")))).toBe("€");
  });

  it("cuts off a streamed body of undeclared length at the limit", async () => {
    const chunk = new TextEncoder().encode(`{"username": "${"a".repeat(1000)}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_BODY_BYTES * 2) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await exports.default.fetch(
      new Request(`${ORIGIN}/api/token/`, { method: "POST", body: stream, headers: { "content-type": "application/json" } }),
    );
    expect(res.status).toBe(413);
  });
});

describe("request ids and event lines (no access log: the platform records each request)", () => {
  it("an ordinary request writes no line at all", async () => {
    const printed: string[] = [];
    const spies = (["log", "info", "warn", "error"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((line: string) => void printed.push(line)),
    );
    try {
      const res = await createApp().fetch(new Request(`${ORIGIN}/health`, { headers: { "cf-ray": "8c1f2e3d4a5b6c7d-AMS" } }), env, {
        waitUntil() {},
        passThroughOnException() {},
        props: {},
      } as unknown as ExecutionContext);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBe("8c1f2e3d4a5b6c7d-AMS");
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(printed).toEqual([]);
  });

  it("put a request id on every response, success or error", async () => {
    for (const [path, call] of [
      ["/health", {}],
      ["/api/nope", {}],
      ["/api/token/", { method: "PUT" }],
      ["/api/token/", { raw: "{" }],
    ] as const) {
      const res = await api(path, call as Call);
      expect(res.headers.get("x-request-id"), path).toMatch(/^[\w-]{8,64}$/);
    }
  });

  it("sign-in, hello, a revocation, a refused refresh and a 404 write no access line, and no line holds a token, password or secret", async () => {
    const r = limitedRig({ env: { RATE_LIMITS: "off" } });
    const { username } = await registerUser();
    const signInRes = await r.call("/api/token/", { body: { username, password: PASSWORD } });
    const pair = (await signInRes.json()) as { access: string; refresh: string };
    const sid = sessionIdOf(pair.access);
    await r.call("/api/hello/", { token: pair.access });
    await r.call(`/api/auth/sessions/${sid}/`, { method: "DELETE", token: pair.access });
    await r.call("/api/token/refresh/?token=query-secret-value", { body: { refresh: pair.refresh } });
    await r.call("/api/nothing/here?password=hunter2");
    expect(r.logs.filter((line) => (line as { event: string }).event === "request")).toEqual([]);
    const text = JSON.stringify(r.logs);
    for (const secret of [PASSWORD, pair.access, pair.refresh, pair.access.split(".")[2]!, "query-secret-value", "hunter2"]) {
      expect(text).not.toContain(secret);
    }
  });

  it("an unexpected error writes one error line with the request id the client was given, and the client sees no stack", async () => {
    const lines: LogLine[] = [];
    const app = createApp({ log: (line) => lines.push(line) });
    app.get("/boom", () => {
      throw new Error("kaboom");
    });
    const res = await app.fetch(new Request(`${ORIGIN}/boom`, { headers: { "cf-ray": "9d2f3e4d5a6b7c8d-LHR" } }), env, {
      waitUntil() {},
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext);
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain("kaboom");
    expect(body).toContain("9d2f3e4d5a6b7c8d-LHR");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "error",
      event: "unhandled_error",
      request_id: "9d2f3e4d5a6b7c8d-LHR",
      error: "Error: kaboom",
    });
  });
});

describe("duplicate keys and deep nesting in JSON bodies", () => {
  it.each([
    ['{"username": "alice", "username": "mallory", "password": "x"}', 'duplicate key "username"'],
    ['{"username": "alice", "password": "x", "\\u0075sername": "mallory"}', 'duplicate key "username"'],
    ['{"username": "a", "password": "x", "extra": {"k": 1, "k": 2}}', 'duplicate key "k"'],
  ])("refuses %s with 400 parse_error", async (raw, problem) => {
    const res = await api("/api/token/", { raw });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Json;
    expect(body.code).toBe("parse_error");
    expect(body.detail).toContain(problem);
  });

  it("refuses nesting deeper than the limit and accepts it at the limit", () => {
    const nested = (depth: number) => "[".repeat(depth - 1) + "{}" + "]".repeat(depth - 1);
    const deep = `{"a": ${nested(MAX_JSON_DEPTH)}}`;
    expect(structureProblem(deep, JSON.parse(deep))).toMatch(/nested deeper/);
    const ok = `{"a": ${nested(MAX_JSON_DEPTH - 1)}}`;
    expect(structureProblem(ok, JSON.parse(ok))).toBeNull();
  });

  it.each([
    '{"a": "x\\": \\"y", "b": ":"}',
    '{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]}',
    '{"a": "\\\\", "b": "\\"", "c": "}{][:,"}',
    '{"__proto__": 1, "constructor": 2}',
  ])("does not mistake %s for a duplicate", (raw) => {
    expect(structureProblem(raw, JSON.parse(raw))).toBeNull();
  });

  it("handles a body near the size limit quickly", () => {
    const raw = JSON.stringify({ a: 'x\\"'.repeat(15_000), b: Array.from({ length: 2000 }, (_, i) => ({ [`k${i}`]: i })) });
    const started = performance.now();
    expect(structureProblem(raw, JSON.parse(raw))).toBeNull();
    expect(performance.now() - started).toBeLessThan(200);
  });

  it("accepts a password containing quotes and colons", async () => {
    const username = uniqueName("quoted");
    const password = 'we said: "hello": {not json}';
    const res = await api("/api/auth/register/", { body: { username, email: `${username}@example.com`, password } });
    expect(res.status).toBe(201);
    expect((await api("/api/token/", { body: { username, password } })).status).toBe(200);
  });
});
