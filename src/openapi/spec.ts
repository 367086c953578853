/**
 * @module OpenAPI Building Blocks — the types of the document's parts, zod → JSON Schema, and `operation()`,
 * which adds the error responses every operation of this API shares (so no route forgets its 401 or 413).
 */
import { z } from "zod";

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

export interface ParameterObject {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface OperationObject {
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
export type PathItem = Partial<Record<HttpMethod, OperationObject>> & { parameters?: Array<ParameterObject | Ref> };
export type Paths = Record<string, PathItem>;

const JSON_TYPE = "application/json";

export const ref = (kind: "schemas" | "responses" | "parameters" | "headers", name: string): Ref => ({ $ref: `#/components/${kind}/${name}` });
export const schemaRef = (name: string): Ref => ref("schemas", name);

// zod spells out the safe-integer range on every integer; it says nothing to a reader.
function tidy(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(tidy);
  if (typeof node !== "object" || node === null) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$schema") continue;
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
export function fromZod(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  return tidy(z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" })) as JsonSchema;
}

function json(schema: JsonSchema | Ref, example?: unknown): Record<string, MediaType> {
  return { [JSON_TYPE]: example === undefined ? { schema } : { schema, example } };
}

export function jsonResponse(description: string, schema: JsonSchema | Ref, example?: unknown): ResponseObject {
  return { description, content: json(schema, example) };
}

const BEARER: Array<Record<string, string[]>> = [{ bearerAuth: [] }];
const ANONYMOUS: Array<Record<string, string[]>> = [];

export interface OperationSpec {
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** "bearer": needs `Authorization: Bearer <access>`, adds 401. */
  auth: "bearer" | "anonymous";
  parameters?: Array<ParameterObject | Ref>;
  /** A JSON request body: adds 400 (validation and parse errors), 413 and 415. */
  body?: { schema: JsonSchema | Ref; description?: string; example?: unknown; required?: boolean };
  responses: Record<string, ResponseObject | Ref>;
  /** Adds 404 for an unknown or someone else's resource. */
  notFound?: boolean;
  /** Adds 429 with Retry-After. */
  throttled?: boolean;
}

/** An operation with the shared error responses its spec implies. */
export function operation(spec: OperationSpec): OperationObject {
  const responses: Record<string, ResponseObject | Ref> = { ...spec.responses };
  if (spec.body) responses["400"] ??= ref("responses", "ValidationError");
  if (spec.auth === "bearer") responses["401"] ??= ref("responses", "NotAuthenticated");
  if (spec.notFound) responses["404"] ??= ref("responses", "NotFound");
  if (spec.body) {
    responses["413"] ??= ref("responses", "PayloadTooLarge");
    responses["415"] ??= ref("responses", "UnsupportedMediaType");
  }
  if (spec.throttled) responses["429"] ??= ref("responses", "Throttled");
  const op: OperationObject = {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    security: spec.auth === "bearer" ? BEARER : ANONYMOUS,
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  };
  if (spec.description) op.description = spec.description;
  if (spec.parameters) op.parameters = spec.parameters;
  if (spec.body) {
    op.requestBody = {
      required: spec.body.required ?? true,
      ...(spec.body.description ? { description: spec.body.description } : {}),
      content: json(spec.body.schema, spec.body.example),
    };
  }
  return op;
}

/** A `{name}` path parameter. */
export function pathParam(name: string, description: string, schema: JsonSchema = { type: "string" }): ParameterObject {
  return { name, in: "path", required: true, description, schema };
}
