/** Shared test helpers: HTTP calls through the worker, users, row counts, a movable clock. */
import { env, exports } from "cloudflare:workers";
import { createApp } from "../src/app";

export const ORIGIN = "https://auth.example.test";
export const PASSWORD = "correct horse battery staple";

export interface Call {
  method?: string;
  body?: unknown;
  /** Raw body text, sent as is (for malformed JSON and the like). */
  raw?: string;
  token?: string;
  headers?: Record<string, string>;
}

function init(call: Call): RequestInit {
  const headers: Record<string, string> = { ...(call.headers ?? {}) };
  let body: string | undefined;
  if (call.raw !== undefined) body = call.raw;
  else if (call.body !== undefined) body = JSON.stringify(call.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = "application/json";
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  return { method: call.method ?? (body === undefined ? "GET" : "POST"), headers, body };
}

/** Through the deployed entry point (`exports.default.fetch`), as a client would. */
export async function api(path: string, call: Call = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, init(call)));
}

/** A clock tests can move; `app.request` runs the same app with it and the test env. */
export function clockedApp(startMs = Date.now(), envOverrides: Record<string, unknown> = {}) {
  const clock = { now: startMs };
  const app = createApp({ clock: () => clock.now });
  const testEnv = { ...env, ...envOverrides };
  return {
    clock,
    advance(seconds: number) {
      clock.now += seconds * 1000;
    },
    async call(path: string, call: Call = {}): Promise<Response> {
      return app.request(`${ORIGIN}${path}`, init(call), testEnv);
    },
  };
}

let counter = 0;
/** A username unique within this run (storage persists between tests of one file). */
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}${counter}_${Math.random().toString(36).slice(2, 8)}`;
}

export async function registerUser(username = uniqueName(), password = PASSWORD): Promise<{ username: string; password: string; id: number }> {
  const res = await api("/api/auth/register/", { body: { username, email: `${username}@example.com`, password } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const user = (await res.json()) as { id: number };
  return { username, password, id: user.id };
}

export async function signIn(username: string, password = PASSWORD, via: (path: string, call: Call) => Response | Promise<Response> = api) {
  const res = await via("/api/token/", { body: { username, password } });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { access: string; refresh: string };
}

/** Row counts of every table, to prove bad input changed nothing. */
export async function rowCounts(): Promise<Record<string, number>> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
  ).all<{ name: string }>();
  const counts: Record<string, number> = {};
  for (const { name } of tables.results) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM "${name}"`).first<{ n: number }>();
    counts[name] = row!.n;
  }
  return counts;
}

export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split(".");
  const json = (part: string) => JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
  return { header: json(h!), payload: json(p!) };
}
