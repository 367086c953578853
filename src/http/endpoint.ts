/**
 * @module Endpoint — one route, one object: its method and path, who may call it, the query and body it accepts,
 * the answers it gives per status, and its handler. `mountRoutes` turns the specs into Hono routes (path checks,
 * the bearer check it is handed, query and body validation in DRF's shape, 405 with `Allow`); src/openapi/ turns
 * the same specs into the OpenAPI document. The handler's input and output types come from the spec's schemas.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { RequestDb, type ReadFrom } from "../db/client";
import { openBookmark, sealBookmark } from "./bookmark";
import type { Deps } from "../deps";
import { RequestDeps } from "./request-deps";
import { readJsonObject } from "./body";
import { ApiError, ValidationError, errorResponse } from "./errors";
import { parseQuery, type QuerySchema } from "./query";
import type { AppEnv, Authenticated } from "./types";
import { validate } from "./validation";
import { consoleSink, type LogSink } from "./log";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** What the document says of a parameter (path, header or cookie); path parameters may also check the value. */
export interface ParamSpec {
  description: string;
  /** JSON Schema of the value, for the document. */
  schema?: Record<string, unknown>;
  required?: boolean;
}

export interface PathParamSpec extends ParamSpec {
  /** A value this returns false for is 404 before the body is read (a malformed id names nothing). */
  check?: (value: string, c: Context<AppEnv>) => boolean | Promise<boolean>;
}

/** A JSON answer: `schema` describes it in the document and types the handler's `body` for this status. */
interface JsonAnswerSpec<S extends z.ZodType = z.ZodType> {
  description: string;
  schema: S;
  example?: z.input<S>;
  headers?: Record<string, { description: string; schema?: Record<string, unknown> }>;
}

type MediaSpec = { type: string; schema: Record<string, unknown> | { $ref: string } };

/** A non-JSON answer (a page, an image, a socket upgrade, 204): the handler returns a Response itself. */
interface OtherAnswerSpec {
  description: string;
  /** Media type and its JSON Schema, for the document (several where the answer's type varies); none for an empty body. */
  content?: MediaSpec | readonly MediaSpec[];
  headers?: Record<string, { description: string; schema?: Record<string, unknown> }>;
}

/** An error the route throws (ApiError, ValidationError): a shared response by name, or described here with an example. */
type ErrorSpec =
  | { shared: "NotFound" | "ValidationError" | "NotAuthenticated" | "Throttled" }
  | { description: string; shape: "Error" | "TokenError" | "FieldErrors" | "NotFound"; example: Record<string, unknown> };

export type AnswerSpec = JsonAnswerSpec | OtherAnswerSpec | ErrorSpec;

export type Responses = { [status: number]: AnswerSpec };

interface BodySpec<S extends z.ZodObject> {
  /** Validated with DRF's rules before the handler runs (src/http/validation.ts). */
  schema: S;
  /** Its name among the document's schemas (`components/schemas`). */
  name: string;
  description?: string;
  example?: z.input<S>;
  /** An empty body reads as `{}`; say false when that is a valid request. Default true. */
  required?: boolean;
}

/** The statuses a spec answers with a JSON body. */
type JsonStatus<R extends Responses> = { [K in keyof R & number]: R[K] extends JsonAnswerSpec ? K : never }[keyof R & number];

/** The body a spec declares for `status`, as the handler writes it. */
type JsonBody<R extends Responses, K> = K extends keyof R
  ? R[K] extends { schema: infer S extends z.ZodType }
    ? z.input<S>
    : never
  : never;

type Params = Record<string, PathParamSpec>;

type Auth = "bearer" | "anonymous";
type AuthOf<A extends Auth> = A extends "bearer" ? Authenticated : undefined;

interface Input<B, R extends Responses, P extends Params, A extends Auth, Q> {
  /** The signed-in caller: present exactly when the spec says `auth: "bearer"` (checked before anything is read). */
  auth: AuthOf<A>;
  /** The query string, parsed by the spec's `query` schema (undefined for a route without one). */
  query: Q;
  /** The request body, validated by the spec's schema (undefined for a route without one). */
  body: B;
  /** The path's parameters, checked by their `check` before the body is read. */
  params: { [K in keyof P]: string };
  /** A JSON answer: only a status the spec declares as JSON, with that status's body. */
  json<K extends JsonStatus<R>>(status: K, body: JsonBody<R, K>, headers?: Record<string, string | string[]>): Response;
}

type BodyOf<B> = B extends z.ZodObject ? z.output<B> : undefined;
type QueryOf<Q> = Q extends QuerySchema ? z.output<Q> : undefined;

export interface RouteSpec<
  B extends z.ZodObject | undefined = z.ZodObject | undefined,
  R extends Responses = Responses,
  P extends Params = Params,
  A extends Auth = Auth,
  Q extends QuerySchema | undefined = QuerySchema | undefined,
> {
  method: Method;
  /** OpenAPI's template with the trailing slash the contract uses: `/api/notes/{id}/`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  /** "bearer": `Authorization: Bearer <access>` checked against a live session before the body is read. */
  auth: A;
  /** Run first, before auth and the path's checks (per-IP limits that must count forged ids too, QR id MACs). */
  before?: Array<MiddlewareHandler<AppEnv>>;
  params?: P;
  /**
   * The query string as zod fields (`z.object`, optionally `.transform`ed as a whole): each field's input schema and
   * `.meta()` document its parameter; a bad value is a 400 in DRF's shape (src/http/query.ts).
   */
  query?: Q;
  headers?: Record<string, ParamSpec>;
  cookies?: Record<string, ParamSpec>;
  body?: B extends z.ZodObject ? BodySpec<B> : undefined;
  /** Runs when the body is invalid, before the 400: DRF's detail views answer 404 for a missing object first. */
  onInvalidBody?: (c: Context<AppEnv>, params: { [K in keyof P]: string }, auth: AuthOf<A>) => Promise<void>;
  /** The document adds 404 (unknown resource) and 429 (throttled) for these. */
  notFound?: boolean;
  /**
   * Where the request's D1 reads go (Sessions API): "replica" where a stale row is harmless or bounded (a bearer
   * check, a list), "primary" (default) where it is not. A client's X-D1-Bookmark overrides both (src/db/client.ts).
   */
  d1?: ReadFrom;
  /** Reads or writes D1, so may answer 503 when D1 is slow or down (src/db/guard.ts). Default: its resource's (src/http/resource.ts). */
  usesD1?: boolean;
  throttled?: boolean;
  /**
   * Its answers carry a token, a secret or who the user is: `Cache-Control: no-store` on every answer (RFC 6749
   * §5.1). Bearer routes are private whatever this says; anonymous ones that hand out tokens or secrets say true.
   */
  private?: boolean;
  responses: R;
  handler: (c: Context<AppEnv>, input: Input<BodyOf<B>, R, P, A, QueryOf<Q>>) => Promise<Response> | Response;
}

/** Types a route spec (its handler's input and answers) from its own fields; returns it unchanged. */
export function defineRoute<
  B extends z.ZodObject | undefined = undefined,
  const R extends Responses = Responses,
  P extends Params = {},
  A extends Auth = Auth,
  Q extends QuerySchema | undefined = undefined,
>(spec: RouteSpec<B, R, P, A, Q>): RouteSpec<B, R, P, A, Q> {
  return spec;
}

/** A route of any body, answers and parameters: what the list, the mount and the document take. */
export type AnyRoute = RouteSpec<any, any, any, any, any>;

function isJsonAnswer(answer: AnswerSpec): answer is JsonAnswerSpec {
  return "schema" in answer;
}

/** Hono's pattern for an OpenAPI path: `{id}` → `:id`, no trailing slash (the app is non-strict). */
function honoPath(path: string): string {
  const pattern = path.replace(/\{(\w+)\}/g, ":$1");
  return pattern.length > 1 ? pattern.replace(/\/$/, "") : pattern;
}

/** The bearer check: the caller of a bearer route, or a thrown 401 (src/auth/middleware.ts, handed in by src/app.ts). */
type Authenticate = (c: Context<AppEnv>) => Promise<Authenticated>;

export interface MountOptions {
  /** Needed as soon as one route says `auth: "bearer"`. */
  authenticate?: Authenticate;
  /** Parse every JSON answer with its declared schema, and fail (500) when it does not match: for tests. */
  checkAnswers?: boolean;
  /** Where requests' audit events go (src/http/log.ts); default: the console. */
  log?: LogSink;
}

/** The route's `json()`: in check mode the body must parse with the schema its status declares (else a 500). */
function jsonAnswer(c: Context<AppEnv>, route: AnyRoute, check: boolean) {
  return (status: number, body: unknown, headers?: Record<string, string | string[]>): Response => {
    if (check) {
      const declared = route.responses[status];
      if (!declared || !isJsonAnswer(declared))
        throw new Error(`${route.operationId} answered ${status}, which its spec does not declare as JSON`);
      const parsed = declared.schema.safeParse(body);
      if (!parsed.success) throw new Error(`${route.operationId} ${status}: the answer does not match its schema: ${parsed.error.message}`);
    }
    return c.json(body as object, status as 200, headers);
  };
}

/** The route's own steps, in their order: bearer check, path checks (404), query (400), body (400), handler. */
function handlerOf(route: AnyRoute, check: boolean, authenticate: Authenticate | undefined): MiddlewareHandler<AppEnv> {
  const paramNames = Object.keys(route.params ?? {});
  const checks = Object.entries<PathParamSpec>(route.params ?? {}).filter(([, spec]) => spec.check);
  if (route.auth === "bearer" && !authenticate)
    throw new Error(`${route.method} ${route.path} needs a bearer check: pass mountRoutes an authenticate function`);
  return async function endpoint(c) {
    const auth = route.auth === "bearer" ? await authenticate!(c) : undefined;
    for (const [name, spec] of checks) {
      if (!(await spec.check!(c.req.param(name) ?? "", c))) throw new ApiError("not_found");
    }
    const params: Record<string, string> = {};
    for (const name of paramNames) params[name] = c.req.param(name) ?? "";
    const query = route.query ? parseQuery(route.query, new URL(c.req.url).searchParams) : undefined;
    let body: unknown;
    if (route.body) {
      const raw = await readJsonObject(c.req.raw);
      try {
        body = validate(route.body.schema, raw);
      } catch (error) {
        if (error instanceof ValidationError && route.onInvalidBody) await route.onInvalidBody(c, params, auth);
        throw error;
      }
    }
    return route.handler(c, { auth, query, body, params, json: jsonAnswer(c, route, check) });
  };
}

/** The response header carrying the D1 bookmark after the request's reads and writes; clients may send it back. */
const BOOKMARK_HEADER = "x-d1-bookmark";

/**
 * The request's own D1 session (src/db/client.ts requestDb), on a copy of the isolate's Deps: opened only if the
 * request touches D1; its bookmark is answered in X-D1-Bookmark so the client can read its own writes anywhere.
 */
function d1Session(readFrom: ReadFrom, sink: LogSink): MiddlewareHandler<AppEnv> {
  return async function d1(c, next) {
    const base = c.get("deps") as Deps | undefined;
    if (!base) return next();
    const header = c.req.header(BOOKMARK_HEADER);
    // Only a bookmark this deployment handed out counts; a made-up one is ignored (src/http/bookmark.ts).
    const presented = header ? await openBookmark(base.config, header) : null;
    const session = RequestDb.open(c.env.DB, readFrom, presented?.d1 ?? null, base.config.d1TimeoutMs);
    // The isolate's config, keys and clock stay shared; only the D1 handle is this request's.
    c.set("deps", new RequestDeps(base, session, readFrom === "replica", presented?.issuedAtMs ?? null, sink, c.get("requestId") ?? null));
    await next();
    const after = session.bookmark();
    if (after && c.res.status !== 101) c.res.headers.set(BOOKMARK_HEADER, await sealBookmark(base.config, after, base.clock()));
  };
}

/** Whether a route's answers must never be stored by any cache: every bearer route, and those that say so. */
function isPrivate(route: AnyRoute): boolean {
  return route.auth === "bearer" || route.private === true;
}

/** Cache-Control: no-store on every answer of a private route, errors included; a socket's 101 keeps its headers. */
async function noStore(c: Context<AppEnv>, next: () => Promise<void>): Promise<void> {
  await next();
  if (c.res.status !== 101) c.res.headers.set("cache-control", "no-store");
}

/** Hono's pattern as a RegExp over the request path, with or without its trailing slash (the app is non-strict). */
function pathPattern(path: string): RegExp {
  if (path === "/") return /^\/$/;
  const source = path
    .split("/")
    .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}/?$`);
}

/**
 * Mounts `routes` on `app`: each route's chain (before → bearer → path checks → query → body → handler), and, for a
 * request no route's method matched, a not-found handler that answers OPTIONS 204 and any other method 405 on a
 * known path, both with `Allow` (RFC 9110 §15.5.6), and 404 `not_found` elsewhere. Not a catch-all route per path:
 * Hono's router copies every catch-all into every method's matcher, and building those took a fresh isolate's
 * first request 22-28 ms (node) instead of 7.
 */
export function mountRoutes(app: Hono<AppEnv>, routes: readonly AnyRoute[], options: MountOptions = {}): void {
  const sink = options.log ?? consoleSink;
  const byPath = new Map<string, AnyRoute[]>();
  for (const route of routes) {
    const path = honoPath(route.path);
    const same = byPath.get(path) ?? [];
    if (same.some((r) => r.method === route.method)) throw new Error(`${route.method} ${route.path} is defined twice`);
    byPath.set(path, [...same, route]);
  }
  for (const [path, pathRoutes] of byPath) {
    for (const route of pathRoutes) {
      const chain = [
        ...(isPrivate(route) ? [noStore] : []),
        d1Session(route.d1 ?? "primary", sink),
        ...(route.before ?? []),
        handlerOf(route, options.checkAnswers ?? false, options.authenticate),
      ];
      app.on(route.method, path, ...(chain as [MiddlewareHandler<AppEnv>]));
    }
  }
  // Built on the first request no route matched: a fresh isolate's first answer is usually a matched one.
  let allowByPattern: Array<readonly [RegExp, string]> | null = null;
  app.notFound(function notFoundOrNotAllowed(c) {
    allowByPattern ??= [...byPath].map(([path, pathRoutes]) => {
      const methods = pathRoutes.map((r) => r.method);
      return [pathPattern(path), [...methods, ...(methods.includes("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ")] as const;
    });
    const path = c.req.path;
    const allowed = allowByPattern.find(([pattern]) => pattern.test(path))?.[1];
    if (allowed === undefined) return errorResponse(new ApiError("not_found"));
    if (c.req.method === "OPTIONS") return c.body(null, 204, { allow: allowed });
    return errorResponse(new ApiError("method_not_allowed", `Method "${c.req.method.slice(0, 20)}" not allowed.`, {}, { allow: allowed }));
  });
}
