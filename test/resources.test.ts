/**
 * One descriptor per resource (src/http/resource.ts), listed once in src/app.ts: the tables, the document and the
 * shared test tables all derive from that list, so a new route cannot be silently skipped by any of them. And the
 * route spec carries everything a handler reads: the signed-in user exactly on bearer routes, the query parsed.
 */
import { is, Table } from "drizzle-orm";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { RESOURCES } from "../src/app";
import * as schema from "../src/db/schema";
import { defineRoute, mountRoutes } from "../src/http/endpoint";
import { ApiError, ValidationError, errorResponse } from "../src/http/errors";
import { pageQueryFields } from "../src/http/pagination";
import { parseQuery } from "../src/http/query";
import { defineResource, routesOf } from "../src/http/resource";
import type { AppEnv, Authenticated } from "../src/http/types";
import { built } from "../src/lib/lazy";
import { named } from "../src/openapi/named";
import { openApiDocument } from "../src/openapi/document";
import { ORIGIN } from "./helpers";
import { appRoutes, badInputPlan, failClosedPlan, routeKey } from "./route-table";

/** A resource a newcomer might add: a list, a create, a delete by id, and an anonymous action. Never mounted. */
const thingSchema = named("Thing", () => z.strictObject({ id: z.string(), name: z.string() }));
const throwaway = defineResource({
  tag: "things",
  description: "A resource the tests add to the list, to see every derived table take it in.",
  routes: [
    defineRoute({
      method: "GET",
      path: "/api/things/",
      operationId: "things_list",
      summary: "List things",
      auth: "bearer",
      query: z.object({ ...pageQueryFields("Things"), search: z.string().optional() }),
      responses: { 200: { description: "Things.", schema: named("ThingList", () => z.array(built(thingSchema))) } },
      handler: (_c, { json }) => json(200, []),
    }),
    defineRoute({
      method: "POST",
      path: "/api/things/",
      operationId: "things_create",
      summary: "Create a thing",
      auth: "bearer",
      body: {
        schema: z.object({ name: z.string().min(1), colour: z.string().default("red") }),
        name: "ThingRequest",
        example: { name: "a thing" },
      },
      responses: { 201: { description: "Created.", schema: thingSchema } },
      handler: (_c, { json }) => json(201, { id: "1", name: "a thing" }),
    }),
    defineRoute({
      method: "DELETE",
      path: "/api/things/{id}/",
      operationId: "things_destroy",
      summary: "Delete a thing",
      auth: "bearer",
      notFound: true,
      params: { id: { description: "The thing's id." } },
      responses: { 204: { description: "Deleted." } },
      handler: (c) => c.body(null, 204),
    }),
    defineRoute({
      method: "POST",
      path: "/api/things/lookup/",
      operationId: "things_lookup",
      summary: "Look a thing up by its code",
      auth: "anonymous",
      body: { schema: z.object({ code: z.string().length(6) }), name: "ThingLookupRequest", example: { code: "ABC123" } },
      responses: { 204: { description: "Found." } },
      handler: (c) => c.body(null, 204),
    }),
  ],
});

describe("resources, listed once", () => {
  it("a resource added to the list is in the bad-input and fail-closed tables and the document, with no test edited", () => {
    const routes = appRoutes([...RESOURCES, throwaway]);
    const keys = routesOf([throwaway]).map(routeKey);
    const plan = badInputPlan(routes);
    expect(plan.bodyRoutes.map((r) => r.route)).toEqual(expect.arrayContaining(["POST /api/things/", "POST /api/things/lookup/"]));
    expect(plan.bearerOnly.map((r) => r.route)).toEqual(expect.arrayContaining(["GET /api/things/", "DELETE /api/things/{id}/"]));
    expect(plan.paths.map((p) => p.route)).toEqual(expect.arrayContaining(["/api/things/", "/api/things/{id}/", "/api/things/lookup/"]));
    expect(plan.idRoutes.map((r) => r.route)).toContain("DELETE /api/things/{id}/");
    expect(plan.pagedRoutes.map((r) => r.route)).toContain("GET /api/things/");
    expect(plan.searchedRoutes.map((r) => r.route)).toContain("GET /api/things/");
    const failClosed = failClosedPlan(routes, {}, {});
    for (const key of keys) expect(failClosed.find((row) => row.route === key)?.needsD1, key).toBe(true);

    const doc = openApiDocument([...RESOURCES, throwaway]);
    expect(doc.tags.map((t) => t.name)).toContain("things");
    expect(doc.paths["/api/things/{id}/"]?.delete?.tags).toEqual(["things"]);
    expect(doc.paths["/api/things/"]?.get?.parameters?.map((p) => ("name" in p ? p.name : p.$ref))).toEqual([
      "page",
      "page_size",
      "search",
      "X-D1-Bookmark",
    ]);
  });

  it("a hostile value goes where the route must refuse it: spoiling another field when the value alone would be saved", () => {
    const create = badInputPlan(routesOf([throwaway])).bodyRoutes.find((r) => r.route === "POST /api/things/")!;
    expect(create).toMatchObject({ field: "name", requiresFields: true, goodBody: { name: "a thing" } });
    expect(create.place(12345)).toEqual({ name: 12345 });
    expect(create.place("' OR 1=1 --")).toEqual({ name: "' OR 1=1 --", colour: 0 });
  });

  it("every route the app serves is in both shared tables", () => {
    const routes = appRoutes();
    const plan = badInputPlan(routes);
    const covered = new Set([...plan.bodyRoutes, ...plan.bearerOnly, ...plan.idRoutes].map((r) => r.route));
    const paths = new Set(plan.paths.map((p) => p.route));
    const failClosed = new Set(failClosedPlan(routes, {}, {}).map((row) => row.route));
    for (const route of routes) {
      expect(covered.has(routeKey(route)) || paths.has(route.path), routeKey(route)).toBe(true);
      expect(failClosed.has(routeKey(route)), routeKey(route)).toBe(true);
    }
  });

  it("every table of the schema is owned by exactly one resource", () => {
    const tables = Object.values(schema).filter((value) => is(value, Table));
    const owned = RESOURCES.flatMap((r) => r.tables ?? []);
    expect(new Set(owned).size).toBe(owned.length);
    expect(new Set(owned)).toEqual(new Set(tables));
  });

  it("the document's tags are the resources', in their order, and each operation sits under its resource's tag", () => {
    const doc = openApiDocument(RESOURCES);
    expect(doc.tags).toEqual(RESOURCES.map((r) => ({ name: r.tag, description: r.description })));
    for (const route of appRoutes())
      expect(doc.paths[route.path]?.[route.method.toLowerCase() as "get"]?.tags, routeKey(route)).toEqual([route.tag]);
  });

  it("a bearer route always needs D1, so it documents its 503", () => {
    for (const route of appRoutes().filter((r) => r.auth === "bearer")) expect(route.usesD1, routeKey(route)).toBe(true);
  });
});

describe("the route spec: what a handler reads", () => {
  const caller = { claims: { user_id: 7 }, session: { userId: 7 } } as unknown as Authenticated;

  function app() {
    const hono = new Hono<AppEnv>({ strict: false });
    const seen = (c: { json: (body: unknown) => Response }, input: { auth: unknown; query?: unknown }) =>
      c.json({ auth: input.auth ?? null, query: input.query ?? null });
    mountRoutes(
      hono,
      [
        defineRoute({
          method: "GET",
          path: "/open/",
          operationId: "open",
          summary: "o",
          auth: "anonymous",
          responses: {},
          handler: (c, input) => seen(c, input),
        }),
        defineRoute({
          method: "GET",
          path: "/mine/",
          operationId: "mine",
          summary: "m",
          auth: "bearer",
          query: z.object({ ...pageQueryFields("Items"), tag: z.string().max(3).optional() }),
          responses: {},
          handler: (c, input) => seen(c, input),
        }),
      ],
      {
        authenticate: async (c) =>
          c.req.header("authorization") === "Bearer ok" ? caller : Promise.reject(new ApiError("not_authenticated")),
      },
    );
    hono.onError((error) =>
      error instanceof ApiError || error instanceof ValidationError ? errorResponse(error) : new Response(String(error), { status: 500 }),
    );
    return (path: string, headers: Record<string, string> = {}) => Promise.resolve(hono.request(`${ORIGIN}${path}`, { headers }));
  }

  it("gives input.auth to a bearer route only, after the bearer check", async () => {
    const request = app();
    expect(await (await request("/open/", { authorization: "Bearer ok" })).json()).toEqual({ auth: null, query: null });
    expect((await request("/mine/")).status).toBe(401);
    expect(await (await request("/mine/", { authorization: "Bearer ok" })).json()).toMatchObject({ auth: { claims: { user_id: 7 } } });
  });

  it("parses the query with the spec's schema: the last of repeated values, undeclared names ignored, DRF's 400 on a bad value", async () => {
    const request = app();
    const ok = { authorization: "Bearer ok" };
    expect(
      (await (await request("/mine/?page=2&page=3&page_size=abc&toString=x&__proto__=y", ok)).json<{ query: unknown }>()).query,
    ).toEqual({ page: 3, page_size: 20 });
    const bad = await request("/mine/?tag=toolong", ok);
    expect([bad.status, await bad.json()]).toEqual([400, { tag: ["Ensure this field has no more than 3 characters."] }]);
    expect(await (await request("/mine/?page=0", ok)).json()).toEqual({ detail: "Invalid page." });
    expect(parseQuery(z.object(pageQueryFields("Items")), new URLSearchParams("page=last&page_size=500"))).toEqual({
      page: "last",
      page_size: 100,
    });
  });
});
