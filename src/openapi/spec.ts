/**
 * @module OpenAPI Building Blocks — the types of the document's parts, zod → JSON Schema, the named answer
 * schemas, and `describeRoutes()`: route specs (src/http/endpoint.ts) → paths, with the error responses every
 * operation of this API shares (so no route forgets its 401 or 413).
 */
import * as z from "zod";
import type { AnswerSpec, ParamSpec } from "../http/endpoint";
import type { MountedRoute } from "../http/resource";
import { queryFields, type QuerySchema } from "../http/query";
import { built } from "../lib/lazy";
import { answerSchemas, assertComposedOfBuilt, buildEveryNamed } from "./named";

/** A JSON Schema 2020-12 object (OpenAPI 3.1's Schema Object) or a `$ref`. */
export type JsonSchema = { [key: string]: unknown };

interface MediaType {
  schema?: JsonSchema | Ref;
  example?: unknown;
}

export interface HeaderObject {
  description: string;
  schema: JsonSchema | Ref;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject | Ref>;
  content?: Record<string, MediaType>;
}

export type Ref = { $ref: string };

interface ParameterObject {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  description?: string;
  schema: JsonSchema;
}

interface OperationObject {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  security: Array<Record<string, string[]>>;
  parameters?: Array<ParameterObject | Ref>;
  requestBody?: { required: boolean; description?: string; content: Record<string, MediaType> };
  responses: Record<string, ResponseObject | Ref>;
}

type HttpMethod = "get" | "post" | "put" | "patch" | "delete";
type PathItem = Partial<Record<HttpMethod, OperationObject>> & { parameters?: Array<ParameterObject | Ref> };
export type Paths = Record<string, PathItem>;

const JSON_TYPE = "application/json";

export const ref = (kind: "schemas" | "responses" | "parameters" | "headers", name: string): Ref => ({
  $ref: `#/components/${kind}/${name}`,
});
export const schemaRef = (name: string): Ref => ref("schemas", name);

// zod spells out the safe-integer range on every integer; it says nothing to a reader.
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (typeof node !== "object" || node === null) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema" || value === undefined) continue;
    if (key === "minimum" && value === Number.MIN_SAFE_INTEGER) continue;
    if (key === "maximum" && value === Number.MAX_SAFE_INTEGER) continue;
    out[key] = tidy(value);
  }
  return out;
}

/**
 * The JSON Schema of a zod schema: `io: "input"` describes what a request may contain (the same
 * schema `validate()` checks), `"output"` what a response contains.
 */
function fromZod(schema: z.ZodType, io: "input" | "output", where: string): JsonSchema {
  assertComposedOfBuilt(schema, where);
  return tidy(z.toJSONSchema(built(schema), { target: "draft-2020-12", io, unrepresentable: "any" })) as JsonSchema;
}

function json(schema: JsonSchema | Ref, example?: unknown): Record<string, MediaType> {
  return { [JSON_TYPE]: example === undefined ? { schema } : { schema, example } };
}

export function jsonResponse(description: string, schema: JsonSchema | Ref, example?: unknown): ResponseObject {
  return { description, content: json(schema, example) };
}

const BEARER: Array<Record<string, string[]>> = [{ bearerAuth: [] }];
const ANONYMOUS: Array<Record<string, string[]>> = [];

/** Every named answer schema as JSON Schema (what a response contains), refs pointing into the document. */
export function namedSchemas(): Record<string, JsonSchema> {
  // Built in the order the modules define them, so the document's order does not depend on which routes ran first.
  const order = buildEveryNamed();
  const { schemas } = z.toJSONSchema(answerSchemas(), {
    target: "draft-2020-12",
    io: "output",
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  });
  const out: Record<string, JsonSchema> = {};
  const ids = [...new Set([...order.filter((id) => id in schemas), ...Object.keys(schemas)])];
  for (const id of ids) {
    const { $id: _, ...rest } = tidy(schemas[id]) as JsonSchema;
    out[id] = rest;
  }
  return out;
}

function answerSchemaRef(schema: z.ZodType, where: string): Ref {
  const id = answerSchemas().get(built(schema))?.id;
  if (!id) throw new Error(`OpenAPI: ${where} answers with a schema that is not named(): name it so the document can refer to it`);
  return schemaRef(id);
}

function answer(spec: AnswerSpec, where: string): ResponseObject | Ref {
  if ("shared" in spec) return ref("responses", spec.shared);
  if ("shape" in spec) {
    const response = jsonResponse(spec.description, schemaRef(spec.shape), spec.example);
    if (spec.shape === "TokenError") response.headers = { "WWW-Authenticate": ref("headers", "WWWAuthenticate") };
    return response;
  }
  const response: ResponseObject = { description: spec.description };
  if (spec.headers) response.headers = spec.headers as ResponseObject["headers"];
  if ("schema" in spec) response.content = json(answerSchemaRef(spec.schema, where), spec.example);
  else if (spec.content) response.content = Object.fromEntries([spec.content].flat().map(({ type, schema }) => [type, { schema }]));
  return response;
}

function parameters(route: MountedRoute): ParameterObject[] {
  const out: ParameterObject[] = [];
  const add = (where: ParameterObject["in"], specs: Record<string, ParamSpec> | undefined) => {
    for (const [name, spec] of Object.entries(specs ?? {})) {
      out.push({
        name,
        in: where,
        required: where === "path" ? true : (spec.required ?? false),
        description: spec.description,
        schema: spec.schema ?? { type: "string" },
      });
    }
  };
  add("path", route.params);
  if (route.query) out.push(...queryParameters(route.query));
  add("header", route.headers);
  add("cookie", route.cookies);
  return out;
}

/** A query schema's fields as parameters: each field's input schema, its `.meta()` description lifted to the parameter. */
function queryParameters(query: QuerySchema): ParameterObject[] {
  return Object.entries(queryFields(query)).map(([name, field]) => {
    const { description, ...schema } = fromZod(field, "input", `query parameter ${name}`);
    return { name, in: "query", required: !field.isOptional(), description: description as string | undefined, schema };
  });
}

/** The operation a route spec describes, with the shared error responses its auth, body and flags imply. */
function operation(route: MountedRoute): OperationObject {
  const where = `${route.method} ${route.path}`;
  const responses: Record<string, ResponseObject | Ref> = {};
  for (const [status, spec] of Object.entries<AnswerSpec>(route.responses)) responses[status] = answer(spec, where);
  if (route.body) responses["400"] ??= ref("responses", "ValidationError");
  if (route.auth === "bearer") responses["401"] ??= ref("responses", "NotAuthenticated");
  if (route.notFound) responses["404"] ??= ref("responses", "NotFound");
  if (route.body) {
    responses["413"] ??= ref("responses", "PayloadTooLarge");
    responses["415"] ??= ref("responses", "UnsupportedMediaType");
  }
  if (route.throttled) responses["429"] ??= ref("responses", "Throttled");
  const usesD1 = route.usesD1;
  if (usesD1) {
    responses["503"] ??= ref("responses", "ServiceUnavailable");
    for (const [status, response] of Object.entries(responses)) {
      if (status.startsWith("2") && !("$ref" in response))
        response.headers = { ...response.headers, "X-D1-Bookmark": ref("headers", "D1Bookmark") };
    }
  }
  const op: OperationObject = {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    security: route.auth === "bearer" ? BEARER : ANONYMOUS,
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  };
  if (route.description) op.description = route.description;
  const params = parameters(route);
  if (usesD1) {
    params.push({
      name: "X-D1-Bookmark",
      in: "header",
      required: false,
      description: `A bookmark an earlier answer carried: this request then reads at least that fresh (its own sign-out, note, revocation), skipping this edge location's caches. Without it, this route reads ${route.d1 === "replica" ? "from the nearest replica (bounded staleness: docs/d1-replicas.md)" : "from the primary"}.`,
      schema: { type: "string" },
    });
  }
  if (params.length > 0) op.parameters = params;
  if (route.body) {
    op.requestBody = {
      required: route.body.required ?? true,
      ...(route.body.description ? { description: route.body.description } : {}),
      content: json(schemaRef(route.body.name), route.body.example),
    };
  }
  return op;
}

/** The document's paths and request schemas, from the route specs. */
export function describeRoutes(routes: readonly MountedRoute[]): { paths: Paths; requestSchemas: Record<string, JsonSchema> } {
  const paths: Paths = {};
  const requestSchemas: Record<string, JsonSchema> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    const method = route.method.toLowerCase() as HttpMethod;
    if (item[method]) throw new Error(`OpenAPI: ${route.method} ${route.path} is described twice`);
    item[method] = operation(route);
    if (route.body) {
      const schema = {
        ...fromZod(route.body.schema, "input", `${route.method} ${route.path} body`),
        ...(route.body.description ? { description: route.body.description } : {}),
      };
      const known = requestSchemas[route.body.name];
      if (known && JSON.stringify(known) !== JSON.stringify(schema))
        throw new Error(`OpenAPI: request schema ${route.body.name} is defined twice, differently`);
      requestSchemas[route.body.name] = schema;
    }
  }
  return { paths, requestSchemas };
}
