/**
 * Schemas built on first use (src/lib/lazy.ts): a fresh isolate builds no zod schema before a request needs it, and
 * the stand-in behaves as the schema for validation, for the route mount and for the OpenAPI document.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineRoute } from "../src/http/endpoint";
import { defineResource } from "../src/http/resource";
import { built, isLazy, lazy } from "../src/lib/lazy";
import { openApiDocument } from "../src/openapi/document";
import { named } from "../src/openapi/named";

/** A resource answering GET /api/lazy-<tag>/ with `schema`, for the document only (never mounted). */
function answering(tag: string, schema: z.ZodType) {
  return defineResource({
    tag,
    description: "A resource of this test.",
    routes: [
      defineRoute({
        method: "GET",
        path: `/api/lazy-${tag}/`,
        operationId: `lazy_${tag}`,
        summary: "A test route",
        auth: "anonymous",
        responses: { 200: { description: "The answer.", schema } },
        handler: (c) => c.body(null, 204),
      }),
    ],
  });
}

describe("schemas built on first use", () => {
  it("builds nothing until the schema is first read, then builds it once", () => {
    let builds = 0;
    const schema = lazy(() => {
      builds += 1;
      return z.object({ name: z.string() });
    });
    expect(builds).toBe(0);
    expect(schema.parse({ name: "ada" })).toEqual({ name: "ada" });
    expect(schema.safeParse({}).success).toBe(false);
    expect(builds).toBe(1);
  });

  it("stands in for the schema: instanceof, `in`, its shape, its refusals", () => {
    const schema = lazy(() => z.strictObject({ name: z.string().min(2) }));
    expect(schema instanceof z.ZodObject).toBe(true);
    expect("shape" in schema).toBe(true);
    expect(Object.keys(schema.shape)).toEqual(["name"]);
    const refused = schema.safeParse({ name: "a", extra: 1 });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((issue) => issue.code).sort()).toEqual(["too_small", "unrecognized_keys"]);
  });

  it("built() hands back the schema itself, the same object every time, and leaves any other value alone", () => {
    const schema = lazy(() => z.string());
    const real = built(schema);
    expect([isLazy(schema), isLazy(real)]).toEqual([true, false]);
    expect(built(schema)).toBe(real);
    expect(built(real)).toBe(real);
    for (const other of [null, undefined, 3, "text", { a: 1 }]) expect(built(other)).toBe(other);
  });

  it("a named schema nobody used yet is still in the document, with its $ref", () => {
    let builds = 0;
    const unused = named("LazyNeverUsed", () => {
      builds += 1;
      return z.strictObject({ id: z.number().int() });
    });
    expect(builds).toBe(0);
    const doc = openApiDocument([answering("unused", unused)]);
    expect(builds).toBe(1);
    expect((doc.components.schemas as Record<string, unknown>).LazyNeverUsed).toMatchObject({
      type: "object",
      properties: { id: { type: "integer" } },
    });
    expect(JSON.stringify(doc.paths["/api/lazy-unused/"])).toContain('"$ref":"#/components/schemas/LazyNeverUsed"');
  });

  it("the document refuses a named schema composed into another without built(), and says where", () => {
    const inner = named("LazyInner", () => z.strictObject({ id: z.string() }));
    const outer = named("LazyOuter", () => z.array(inner));
    expect(() => openApiDocument([answering("outer", outer)])).toThrow(
      "OpenAPI: components/schemas/LazyOuter: the schema.element is a lazy() or named() schema composed without built() (src/lib/lazy.ts)",
    );
  });
});
