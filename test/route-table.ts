/**
 * The app's routes as the shared test tables see them (test/bad-input.test.ts, test/fail-closed.test.ts), derived from
 * the resources src/app.ts lists: a route added to any resource is in every table without editing a test, and
 * test/resources.test.ts proves it with a resource of its own.
 */
import type { z } from "zod";
import { RESOURCES } from "../src/app";
import { queryFields } from "../src/http/query";
import { routesOf, type MountedRoute, type Resource } from "../src/http/resource";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** A well-formed id that names nothing: what a path parameter gets when the test has no live one. */
export const PLACEHOLDER_ID = "AAAAAAAAAAAAAAAAAAAAAA";

/** Live path values a test made, by resource tag and parameter name (`qr: { id }`: QR ids must be ones the worker issued). */
export type LiveIds = Record<string, Record<string, string>>;

export function appRoutes(resources: readonly Resource[] = RESOURCES): MountedRoute[] {
  return routesOf(resources);
}

export function routeKey(route: MountedRoute): string {
  return `${route.method} ${route.path}`;
}

/** The route's path with every parameter filled: `value` if given, else a live id, else the placeholder. */
export function fillPath(route: MountedRoute, ids: LiveIds, value?: string): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => value ?? ids[route.tag]?.[name] ?? PLACEHOLDER_ID);
}

/** The body a route documents as valid (its spec's example): every body route must have one. */
export function exampleBody(route: MountedRoute): Record<string, unknown> {
  if (!route.body) return {};
  if (route.body.example === undefined)
    throw new Error(`${routeKey(route)}: give its body an example (the document shows it; the shared test tables send it)`);
  return route.body.example as Record<string, unknown>;
}

/** Routes whose first field is checked against the stored password: a hostile value reaches that check, as a guess would. */
const REACHES_PASSWORD_CHECK = new Set(["auth_password_change", "users_set_password"]);

/** A route that reads a JSON body, as the bad-input table uses it. */
export interface BodyRoute {
  route: string;
  method: Method;
  path: (ids: LiveIds) => string;
  auth: boolean;
  /** The body's first field, where hostile values go; null: the body declares no fields (any key is ignored). */
  field: string | null;
  /** `{}` is itself refused here: required fields, or (anonymous) no account, token or link named. */
  requiresFields: boolean;
  /** A body that is valid apart from the Authorization header (the spec's example). */
  goodBody: Record<string, unknown>;
  /** The example with `value` in the first field; on a bearer route where that is still valid, another field spoilt. */
  place: (value: unknown) => Record<string, unknown>;
}

function bodyRoute(route: MountedRoute): BodyRoute {
  const schema = route.body!.schema as z.ZodObject;
  const fields = Object.keys(schema.shape);
  const field = fields[0] ?? null;
  const example = exampleBody(route);
  const place = (value: unknown) => {
    if (field === null) return { ...example };
    const body = { ...example, [field]: value };
    // Anonymous routes refuse by meaning (no such account, token or link); a bearer route that would accept it could write.
    if (!schema.safeParse(body).success || route.auth !== "bearer" || REACHES_PASSWORD_CHECK.has(route.operationId)) return body;
    for (const other of fields.slice(1)) {
      const spoilt = { ...body, [other]: 0 };
      if (!schema.safeParse(spoilt).success) return spoilt;
    }
    return body;
  };
  return {
    route: routeKey(route),
    method: route.method,
    path: (ids) => fillPath(route, ids),
    auth: route.auth === "bearer",
    field,
    requiresFields: !schema.safeParse({}).success || route.auth !== "bearer",
    goodBody: example,
    place,
  };
}

/** Everything the bad-input table is built from, for `routes`. */
export function badInputPlan(routes: readonly MountedRoute[]) {
  const byPath = new Map<string, { path: (ids: LiveIds) => string; allowed: Method[] }>();
  for (const route of routes) {
    const entry = byPath.get(route.path) ?? { path: (ids: LiveIds) => fillPath(route, ids), allowed: [] };
    entry.allowed.push(route.method);
    byPath.set(route.path, entry);
  }
  const queried = (name: string) => routes.filter((r) => r.query && Object.hasOwn(queryFields(r.query), name));
  return {
    bodyRoutes: routes.filter((r) => r.body).map(bodyRoute),
    /** Bearer routes without a body (only auth and path rows use them: their valid calls are not bad input). */
    bearerOnly: routes
      .filter((r) => r.auth === "bearer" && !r.body)
      .map((r) => ({ route: routeKey(r), method: r.method, path: (ids: LiveIds) => fillPath(r, ids) })),
    /** Every path and the methods it answers, for the wrong-method rows. */
    paths: [...byPath].map(([route, entry]) => ({ route, ...entry })),
    /** Routes that take an id and document a 404 for one that names nothing: every bad id must be that 404. */
    idRoutes: routes
      .filter((r) => r.params && Object.keys(r.params).length > 0 && r.notFound)
      .map((r) => ({
        route: routeKey(r),
        method: r.method,
        path: (segment: string) => fillPath(r, {}, segment),
        auth: r.auth === "bearer",
        body: r.body ? exampleBody(r) : undefined,
      })),
    /** List routes by their query fields: DRF's page rules (404) and search rules (400). */
    pagedRoutes: queried("page").map((r) => ({ route: routeKey(r), path: r.path })),
    searchedRoutes: queried("search").map((r) => ({ route: routeKey(r), path: r.path })),
  };
}

/** Bodies the fail-closed table sends where an example cannot reach D1 (a token must verify before its session is read). */
export type LiveBodies = Record<string, Record<string, unknown>>;

/** Every route as the fail-closed table calls it: those that need D1 must answer 503 when it is down, the others must not. */
export function failClosedPlan(routes: readonly MountedRoute[], ids: LiveIds, bodies: LiveBodies) {
  return routes.map((route) => ({
    route: routeKey(route),
    needsD1: route.usesD1,
    method: route.method,
    path: fillPath(route, ids),
    bearer: route.auth === "bearer",
    body: route.body ? (bodies[route.operationId] ?? exampleBody(route)) : undefined,
  }));
}
