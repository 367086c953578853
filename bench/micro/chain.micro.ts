/**
 * Micro-benchmarks inside workerd (the test pool): what every request pays before it reaches a route
 * (the global chain). Each global middleware alone on a bare Hono app, then the whole chain, then our /health,
 * hello and verify; printed, never asserted. Run: npm run bench:micro -- chain
 */
import { env } from "cloudflare:workers";
import { it } from "vitest";
import { Hono, type MiddlewareHandler } from "hono";
import { printResults, time } from "./timing";
import { createApp } from "../../src/app";
import * as security from "../../src/http/security";
import type { AppEnv } from "../../src/http/types";

const noop = () => {};
type Factory = () => MiddlewareHandler<AppEnv>;

/** The global middleware this module exports today, by name; absent ones (merged away) are skipped. */
function middlewares(): Record<string, Factory> {
  const m = security as unknown as Record<string, (arg?: unknown) => MiddlewareHandler<AppEnv>>;
  const out: Record<string, Factory> = {};
  if (m.requestId) out.requestId = () => m.requestId!();
  if (m.requestLog) {
    out["requestLog (sink: no-op)"] = () => m.requestLog!(noop);
    out["requestLog (sink: console.log)"] = () => m.requestLog!();
  }
  if (m.securityHeaders) out.securityHeaders = () => m.securityHeaders!();
  if (m.corsAllowList) out["corsAllowList (CORS_ORIGINS empty)"] = () => m.corsAllowList!();
  if (m.bodySizeLimit) out.bodySizeLimit = () => m.bodySizeLimit!();
  if (m.edgeChain) {
    out["edgeChain (one middleware; sink: no-op)"] = () => m.edgeChain!({ log: noop });
    out["edgeChain (one middleware; sink: console.log)"] = () => m.edgeChain!();
  }
  return out;
}

function bare(...use: MiddlewareHandler<AppEnv>[]): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  for (const mw of use) app.use("*", mw);
  app.get("/health", (c) => c.json({ status: "ok" }));
  return app;
}

it("prints what each global middleware costs per request", { timeout: 300_000 }, async () => {
  const n = 20_000;
  const results: Record<string, number> = {};
  const get = new Request("http://localhost/health");
  const ctx = { waitUntil: noop, passThroughOnException: noop, props: {} } as unknown as ExecutionContext;

  // Primitives the chain is made of.
  await time("primitive: crypto.randomUUID()", n, () => crypto.randomUUID(), results);
  await time("primitive: new Date().toISOString()", n, () => new Date().toISOString(), results);
  const line = {
    level: "info",
    event: "request",
    time: new Date().toISOString(),
    request_id: crypto.randomUUID(),
    method: "GET",
    route: "/health",
    status: 200,
    duration_ms: 0,
    user_id: null,
  };
  await time("primitive: JSON.stringify(log line object)", n, () => JSON.stringify(line), results);
  await time(
    "primitive: console.log(one JSON line) [pool: vitest's console capture]",
    2000,
    () => console.log(JSON.stringify(line)),
    results,
  );
  await time(
    "primitive: new Headers() + 8 x set",
    n,
    () => {
      const h = new Headers();
      for (let i = 0; i < 8; i++) h.set(`x-header-${i}`, "value");
    },
    results,
  );
  await time(
    "primitive: new Response(json, {headers: 10-entry array})",
    n,
    () =>
      new Response('{"status":"ok"}', {
        headers: [
          ["content-type", "application/json"],
          ["a", "1"],
          ["b", "2"],
          ["c", "3"],
          ["d", "4"],
          ["e", "5"],
          ["f", "6"],
          ["g", "7"],
          ["h", "8"],
          ["i", "9"],
        ],
      }),
    results,
  );

  // Ways to give a response the 14 security headers (the list /health answers with).
  const list: [string, string][] = [];
  const probe = await createApp({ log: noop }).fetch(get, env, ctx);
  for (const [k, v] of probe.headers) if (k !== "content-type" && k !== "content-length") list.push([k, v]);
  const template = new Headers(list);
  const fresh = () => new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } });
  await time("headers: new Response (content-type only)", n, fresh, results);
  await time(
    `headers: new Response + ${list.length} x set`,
    n,
    () => {
      const h = fresh().headers;
      for (const [k, v] of list) h.set(k, v);
    },
    results,
  );
  await time(
    `headers: new Response + ${list.length} x (has ? keep : set)`,
    n,
    () => {
      const h = fresh().headers;
      for (const [k, v] of list) if (!h.has(k)) h.set(k, v);
    },
    results,
  );
  await time(
    `headers: new Response({headers: copy of a per-isolate Headers})`,
    n,
    () => {
      const h = new Headers(template);
      h.set("content-type", "application/json");
      return new Response('{"status":"ok"}', { headers: h });
    },
    results,
  );
  await time(
    `headers: new Response({headers: ${list.length + 1}-pair array})`,
    n,
    () => new Response('{"status":"ok"}', { headers: [["content-type", "application/json"], ...list] }),
    results,
  );

  const withHeaders = new Request("http://localhost/health", {
    headers: { "cf-ray": "8c1f2e3d4a5b6c7d-AMS", "user-agent": "wrk", authorization: "Bearer x" },
  });
  await time("request.headers.get (absent)", n, () => withHeaders.headers.get("content-length"), results);
  await time("request.headers.get (present)", n, () => withHeaders.headers.get("cf-ray"), results);
  const respHeaders = fresh().headers;
  await time("response.headers.has (absent)", n, () => respHeaders.has("content-security-policy"), results);
  await time("response.headers.get (absent)", n, () => respHeaders.get("content-security-policy"), results);
  await time("response.headers.set (same value again)", n, () => respHeaders.set("x-frame-options", "DENY"), results);
  await time("Date.now()", n, () => Date.now(), results);

  // A bare app, then each middleware alone on it: (row - bare) is that middleware's cost.
  const base = bare();
  await time("bare Hono GET /health (no middleware)", n, () => base.fetch(get, env, ctx), results);
  for (const [name, factory] of Object.entries(middlewares())) {
    const app = bare(factory());
    await time(`bare + ${name}`, name.includes("console") ? 2000 : n, () => app.fetch(get, env, ctx), results);
  }

  // Ours, whole: /health with the log going nowhere and to console, then the authenticated paths.
  const quiet = createApp({ log: noop });
  const five = Object.entries(middlewares())
    .filter(([name]) => !name.includes("console") && !name.startsWith("edgeChain"))
    .map(([, f]) => f());
  if (five.length > 1) {
    const chained = bare(...five);
    await time(`bare + all ${five.length} (log sink: no-op)`, n, () => chained.fetch(get, env, ctx), results);
  }
  await time("createApp({log: no-op}) GET /health", n, () => quiet.fetch(get, env, ctx), results);
  const loud = createApp();
  await time("createApp() GET /health (console.log) [pool]", 2000, () => loud.fetch(get, env, ctx), results);

  const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  await quiet.request(
    "/api/auth/register/",
    json({ username: "chainbench", email: "chainbench@example.com", password: "bench password 123" }),
    env,
  );
  const signedIn = await quiet.request("/api/token/", json({ username: "chainbench", password: "bench password 123" }), env);
  const { access } = (await signedIn.json()) as { access: string };
  const hello = new Request("http://localhost/api/hello/", { headers: { authorization: `Bearer ${access}` } });
  const check = await quiet.fetch(hello, env, ctx);
  if (check.status !== 200) throw new Error(`hello answered ${check.status}`);
  await time("createApp({log: no-op}) GET /api/hello/ (bearer, caches warm)", n / 4, () => quiet.fetch(hello, env, ctx), results);
  await time(
    "createApp({log: no-op}) GET /api/notes/ (bearer, page cache warm)",
    n / 4,
    () => quiet.fetch(new Request("http://localhost/api/notes/", { headers: { authorization: `Bearer ${access}` } }), env, ctx),
    results,
  );
  const verifyBody = JSON.stringify({ token: access });
  const verify = () =>
    new Request("http://localhost/api/token/verify/", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(verifyBody.length) },
      body: verifyBody,
    });
  await time("new Request(POST verify) only", n / 4, verify, results);
  await time("createApp({log: no-op}) POST /api/token/verify/", n / 4, () => quiet.fetch(verify(), env, ctx), results);
  // Where verify's time goes beyond hello's: its body, step by step, each on a bare Hono POST route.
  const { readBodyText, readJsonObject } = await import("../../src/http/body");
  const { validate } = await import("../../src/http/validation");
  const { verifySchema } = await import("../../src/auth/service");
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const steps: Record<string, (r: Request) => Promise<unknown>> = {
    "body unread": async () => null,
    "request.text()": (r) => r.text(),
    "arrayBuffer() + fresh TextDecoder(fatal)": async (r) =>
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(await r.arrayBuffer()),
    "arrayBuffer() + one TextDecoder(fatal) per isolate": async (r) => decoder.decode(await r.arrayBuffer()),
    readBodyText: (r) => readBodyText(r),
    readJsonObject: (r) => readJsonObject(r),
    "readJsonObject + validate(verifySchema)": async (r) => validate(verifySchema, await readJsonObject(r)),
  };
  for (const [step, read] of Object.entries(steps)) {
    const app = bare();
    app.post("/v", async (c) => c.json((await read(c.req.raw)) === undefined ? {} : {}));
    const req = () =>
      new Request("http://localhost/v", {
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(verifyBody.length) },
        body: verifyBody,
      });
    await time(`bare Hono POST, ${step}`, n / 4, () => app.fetch(req(), env, ctx), results);
  }

  const { buildDeps } = await import("../../src/deps");
  const { verify: verifyService } = await import("../../src/auth/service");
  const verifyDeps = await buildDeps(env, Date.now);
  const verifyReq = () =>
    new Request("http://localhost/v", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(verifyBody.length) },
      body: verifyBody,
    });
  const viaService = bare();
  viaService.post("/v", async (c) => {
    await verifyService(verifyDeps, validate(verifySchema, await readJsonObject(c.req.raw)));
    return c.json({});
  });
  await time("bare Hono POST, readJsonObject + validate + verify service", n / 4, () => viaService.fetch(verifyReq(), env, ctx), results);
  const viaChain = bare(security.edgeChain());
  viaChain.post("/v", async (c) => {
    await verifyService(verifyDeps, validate(verifySchema, await readJsonObject(c.req.raw)));
    return c.json({});
  });
  await time(
    "bare Hono + edgeChain POST, readJsonObject + validate + verify service",
    n / 4,
    () => viaChain.fetch(verifyReq(), env, ctx),
    results,
  );
  await time("createApp({log: no-op}) POST /api/token/verify/ (again)", n / 4, () => quiet.fetch(verify(), env, ctx), results);
  await time("buildDeps (per /api/ request)", n, () => buildDeps(env, Date.now), results);
  await time("new URL(request.url).origin", n, () => new URL(hello.url).origin, results);

  printResults(results);
});
