import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Hono } from "hono";
import type { Result } from "hono/router";
import { createApp } from "../src/app";
import { AppRouter } from "../src/http/router";
import { PREPARED_PATHS } from "../src/http/router.generated";
import { api } from "./helpers";

type Handler = unknown;

/** The handlers a match yields, in order, each with the path parameters it sees. */
function resolved(result: Result<Handler>): Array<[Handler, Record<string, string>]> {
  const [matches, stash] = result;
  return matches.map(([handler, params]) => {
    const values: Record<string, string> = {};
    for (const [name, value] of Object.entries(params)) values[name] = (stash ? stash[value as number] : value) as string;
    return [handler, values];
  });
}

/** Two routers given the app's routes: the prepared one, and the one built on the first match (no prepared paths). */
function bothRouters(): [AppRouter<Handler>, AppRouter<Handler>] {
  const prepared = new AppRouter<Handler>();
  const built = new AppRouter<Handler>(null);
  for (const route of createApp().routes) {
    prepared.add(route.method, route.path, route.handler);
    built.add(route.method, route.path, route.handler);
  }
  return [prepared, built];
}

/** Requests for every path the app knows (parameters filled in, with and without the trailing slash) and some it does not. */
function samplePaths(): string[] {
  const known = (PREPARED_PATHS ?? []).map((path) => path.replace(/\/\*$/, "/anything").replace(/:(\w+)/g, "$1-value"));
  return [...known, ...known.map((path) => `${path}/`), "/", "/nope", "/api/notes/1/extra", "/api/qr/abc/svg/x", "/qr"];
}

describe("the router built at build time", () => {
  it("serves the app: a fresh app's first request is routed by the prepared matchers", async () => {
    const app = createApp();
    const res = await app.request("/health", {}, env);
    expect(res.status).toBe(200);
    expect(app.router.name).toBe("PreparedRegExpRouter");
  });

  it("was built for exactly the paths the app adds, in their order", () => {
    const paths = [...new Set(createApp().routes.map((route) => route.path))];
    expect(PREPARED_PATHS).toEqual(paths);
  });

  it("matches every method and path as the router Hono builds at run time does", () => {
    const [prepared, built] = bothRouters();
    for (const method of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
      for (const path of samplePaths())
        expect(resolved(prepared.match(method, path)), `${method} ${path}`).toEqual(resolved(built.match(method, path)));
    expect(prepared.name).toBe("PreparedRegExpRouter");
    expect(built.name).toBe("SmartRouter + RegExpRouter");
  });

  it("a path added since the build is routed by matchers built on the first request, not refused", async () => {
    const app = new Hono({ router: new AppRouter() });
    app.get("/health", (c) => c.text("up"));
    app.get("/added-since-the-build/:id", (c) => c.text(c.req.param("id")));
    const res = await app.request("/added-since-the-build/42");
    expect(await res.text()).toBe("42");
    expect(app.router.name).toBe("SmartRouter + RegExpRouter");
  });

  it("refuses a route added after the first match, as Hono's routers do", async () => {
    const app = new Hono({ router: new AppRouter() });
    app.get("/health", (c) => c.text("up"));
    await app.request("/health");
    expect(() => app.get("/late", (c) => c.text("late"))).toThrow();
  });

  it("answers the worker's routes through the deployed entry point", async () => {
    const res = await api("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});
