/** The test rig: HTTP calls through the worker or an in-process app, users, row counts, a counting D1, timeouts. */
import { env, exports } from "cloudflare:workers";
import { SignJWT, importJWK, type JWK } from "jose";
import { createApp } from "../src/app";
import { lowS } from "../src/auth/tokens";
import type { Env } from "../src/env";
import type { LimiterOverrides } from "../src/http/ratelimit";
import type { LogLine } from "../src/http/log";

export const ORIGIN = "https://auth.example.test";
export const PASSWORD = "correct horse battery staple";

export interface Call {
  method?: string;
  body?: unknown;
  /** Raw body text, sent as is (for malformed JSON and the like). */
  raw?: string;
  token?: string;
  headers?: Record<string, string>;
  /** Bindings and vars over the rig's env for this call only (a counting D1, say); the rig's `call` only. */
  env?: Partial<Env>;
}

/** How a test reaches the worker: `api` or a rig's `call`. */
export type Via = (path: string, call?: Call) => Promise<Response>;

function init(call: Call): RequestInit {
  const headers: Record<string, string> = { ...(call.headers ?? {}) };
  let body: string | undefined;
  if (call.raw !== undefined) body = call.raw;
  else if (call.body !== undefined) body = JSON.stringify(call.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type"))
    headers["content-type"] = "application/json";
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  return { method: call.method ?? (body === undefined ? "GET" : "POST"), headers, body };
}

/** Through the deployed entry point (`exports.default.fetch`), as a client would. */
export async function api(path: string, call: Call = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, init(call)));
}

/** The machine's clock, for a rig whose tokens must age in real time (it cannot be advanced). */
export const SYSTEM_CLOCK = {
  get now() {
    return Date.now();
  },
};

export interface RigOptions {
  /** Start time in epoch ms, or a clock object shared with another rig. */
  clock?: number | { now: number };
  limiters?: (clock: () => number) => LimiterOverrides;
  env?: Partial<Env> | Record<string, unknown>;
}

/**
 * The worker's app in-process (`app.request`) on a movable clock, with the test env, optional injected
 * limiters, and its log lines captured. Not `exports.default.fetch`: in the pool each call through it
 * costs more than the last (~6 ms for the first hundred, ~90 ms by the four-hundredth), so big tables use this.
 */
export function rig(options: RigOptions = {}) {
  const clock = typeof options.clock === "object" ? options.clock : { now: options.clock ?? Date.now() };
  const now = () => clock.now;
  const logs: LogLine[] = [];
  // checkAnswers: every JSON answer in every rig test is parsed with the schema its route spec declares.
  const app = createApp({ clock: now, limiters: options.limiters?.(now), log: (line) => logs.push(line), checkAnswers: true });
  const testEnv = { ...env, ...(options.env ?? {}) } as Env;
  return {
    app,
    clock,
    logs,
    advance(seconds: number) {
      clock.now += seconds * 1000;
    },
    /** A request sent exactly as given: no default method, header or encoding. */
    request(path: string, requestInit: RequestInit = {}): Promise<Response> {
      return Promise.resolve(app.request(`${ORIGIN}${path}`, requestInit, testEnv));
    },
    call(path: string, call: Call = {}): Promise<Response> {
      return Promise.resolve(app.request(`${ORIGIN}${path}`, init(call), call.env ? { ...testEnv, ...call.env } : testEnv));
    },
  };
}

export type Rig = ReturnType<typeof rig>;

/** The test env hashes new passwords cheaply (PASSWORD_HASH_COST=test); this rig hashes as a deployed worker does. */
export function deployedHashing(): Rig {
  return rig({ env: { PASSWORD_HASH_COST: "standard" } });
}

/** A rig with rate limits on (RATE_LIMITS=on), over `options.env`. */
export function limitedRig(options: RigOptions = {}): Rig {
  return rig({ ...options, env: { RATE_LIMITS: "on", ...options.env } });
}

let counter = 0;
/** A username unique within this run (storage persists between tests of one file). */
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function registerUser(
  username = uniqueName(),
  password = PASSWORD,
  via: Via = api,
): Promise<{ username: string; password: string; id: number }> {
  const res = await via("/api/auth/register/", { body: { username, email: `${username}@example.com`, password } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const user = (await res.json()) as { id: number };
  return { username, password, id: user.id };
}

export async function signIn(username: string, password = PASSWORD, via: Via = api) {
  const res = await via("/api/token/", { body: { username, password } });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { access: string; refresh: string };
}

export interface User {
  id: number;
  username: string;
  access: string;
  refresh: string;
}

/** A new user, registered and signed in through `via`. */
export async function signUp(via: Via = api, username = uniqueName()): Promise<User> {
  const { id } = await registerUser(username, PASSWORD, via);
  return { id, username, ...(await signIn(username, PASSWORD, via)) };
}

/** Row counts of every table (read from sqlite_master, so new tables are covered), to prove bad input changed nothing. */
export async function rowCounts(): Promise<Record<string, number>> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
  ).all<{ name: string }>();
  const query = `SELECT ${tables.results.map(({ name }) => `(SELECT count(*) FROM "${name}") AS "${name}"`).join(", ")}`;
  return (await env.DB.prepare(query).first<Record<string, number>>())!;
}

export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split(".");
  const json = (part: string) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
  return { header: json(h!), payload: json(p!) };
}

/** The session id (`sid` claim) an access or refresh token carries. */
export function sessionIdOf(token: string): string {
  return decodeJwt(token).payload.sid as string;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
  ]);
}

/**
 * The D1 binding wrapped to count round trips: each `batch()` is one, and so is each statement executed
 * on its own (`all`/`run`/`first`/`raw`/`exec`); statements handed to `batch()` are unwrapped first.
 * `count(re)` counts the executed statements whose SQL matches. `hold(re)` holds matching statements:
 * each runs at once (it sees the database as it is now) but its result is delivered only on `release()`
 * — a slow D1 read in flight.
 */
export function countingD1(inner: D1Database = env.DB) {
  const executed: string[] = [];
  // What each D1 session was started at: a constraint or a client's bookmark.
  const sessions: string[] = [];
  let held: { pattern: RegExp; gate: Promise<void> } | null = null;
  // D1 down or slow: every statement and batch throws, or never answers (the guard's deadline must fire).
  let failing: "throw" | "hang" | null = null;
  const failure = (): Promise<never> =>
    failing === "throw" ? Promise.reject(new Error("D1_ERROR: Network connection lost.")) : new Promise<never>(() => {});
  let open: () => void = () => {};
  const targets = new WeakMap<object, D1PreparedStatement>();
  const wrapStatement = (statement: D1PreparedStatement, query: string): D1PreparedStatement => {
    const proxy = new Proxy(statement, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args), query);
        const value = Reflect.get(target, prop, target);
        if (prop === "all" || prop === "run" || prop === "first" || prop === "raw") {
          return (...args: unknown[]) => {
            executed.push(query);
            if (failing) return failure();
            const result = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            const hold = held;
            return hold && hold.pattern.test(query) ? result.then((r) => hold.gate.then(() => r)) : result;
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    targets.set(proxy, statement);
    return proxy;
  };
  // A Sessions-API session (what each request opens) is counted and failed like the binding itself.
  const wrapSession = (session: D1DatabaseSession): D1DatabaseSession =>
    new Proxy(session, {
      get(target, prop) {
        if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query), query);
        if (prop === "batch") {
          return (statements: D1PreparedStatement[]) => {
            executed.push("batch");
            if (failing) return failure();
            return target.batch(statements.map((s) => targets.get(s) ?? s));
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const db = new Proxy(inner, {
    get(target, prop) {
      if (prop === "withSession") {
        return (constraint?: string) => {
          sessions.push(constraint ?? "");
          return wrapSession(target.withSession(constraint));
        };
      }
      if (prop === "prepare") return (query: string) => wrapStatement(target.prepare(query), query);
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          executed.push("batch");
          if (failing) return failure();
          return target.batch(statements.map((s) => targets.get(s) ?? s));
        };
      }
      if (prop === "exec") {
        return (query: string) => {
          executed.push(query);
          return target.exec(query);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    db,
    /** Round trips so far. */
    total: () => executed.length,
    /** The constraint or bookmark each Sessions-API session started at, in order. */
    sessions: () => sessions.slice(),
    /** Statements executed on their own so far whose SQL matches. */
    count: (pattern: RegExp) => executed.filter((q) => pattern.test(q)).length,
    hold(pattern: RegExp) {
      held = { pattern, gate: new Promise((resolve) => (open = resolve)) };
    },
    /** From now on every statement fails: "throw" (an error) or "hang" (no answer); null: D1 is back. */
    fail(mode: "throw" | "hang" | null) {
      failing = mode;
    },
    release() {
      held = null;
      open();
    },
  };
}

/** The test run's signing keys (vitest.config.ts generates them). */
export const testKeys = JSON.parse(env.JWT_SIGNING_KEYS!) as { keys: JWK[] };

/** Signs arbitrary claims/headers the way an attacker (or another issuer) would. */
export async function forge(
  claims: Record<string, unknown>,
  options: { key?: JWK; header?: Record<string, unknown> } = {},
): Promise<string> {
  const jwk = options.key ?? testKeys.keys[0]!;
  const key = await importJWK(jwk, "ES256");
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: jwk.kid, ...(options.header ?? {}) })
    .sign(key);
  // The worker accepts only low-S signatures (one string per token); WebCrypto signs high-S half the time.
  return lowS("ES256", token);
}
