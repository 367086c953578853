/** @module OpenAPI Components — the error bodies, headers, responses and security scheme every module shares. */
import { ERRORS } from "../http/errors";
import { MAX_BODY_BYTES } from "../http/body";
import { jsonResponse, ref, schemaRef, type HeaderObject, type JsonSchema, type ResponseObject } from "./spec";

const ERROR_CODES = Object.keys(ERRORS);

export const sharedSchemas: Record<string, JsonSchema> = {
  Error: {
    type: "object",
    description: "Every error except validation (400 field errors) and 404. Clients switch on `code`, never on `detail`.",
    properties: {
      detail: { type: "string", description: "Human-readable; wording may change." },
      code: { type: "string", enum: ERROR_CODES, description: "Stable, machine-readable." },
    },
    required: ["detail", "code"],
    examples: [{ detail: 'Method "PUT" not allowed.', code: "method_not_allowed" }],
  },
  TokenError: {
    type: "object",
    description:
      "A 401 about a token (simplejwt's shape): `code` is `token_not_valid`, `not_authenticated`, `authentication_failed`, `bad_authorization_header`, `no_active_account`, `user_inactive` or `user_not_found`.",
    properties: {
      detail: { type: "string" },
      code: { type: "string", enum: ERROR_CODES.filter((c) => ERRORS[c as keyof typeof ERRORS][0] === 401) },
      messages: {
        type: "array",
        description: "Present when a bearer token was refused: why, per token class tried.",
        items: {
          type: "object",
          properties: { token_class: { type: "string" }, token_type: { type: "string" }, message: { type: "string" } },
          required: ["token_class", "token_type", "message"],
        },
      },
    },
    required: ["detail", "code"],
    examples: [
      {
        detail: "Given token not valid for any token type",
        code: "token_not_valid",
        messages: [{ token_class: "AccessToken", token_type: "access", message: "Token is expired" }],
      },
    ],
  },
  NotFound: {
    type: "object",
    description: "DRF's 404 body, exactly: for unknown routes, unknown or malformed ids, and other users' resources alike.",
    properties: { detail: { type: "string", examples: ["Not found."] } },
    required: ["detail"],
  },
  FieldErrors: {
    type: "object",
    description:
      "DRF's validation body: each offending field maps to its messages; `non_field_errors` holds errors about the body as a whole. Unknown fields are ignored, never reported.",
    additionalProperties: { type: "array", items: { type: "string" } },
    examples: [{ title: ["This field may not be blank."], email: ["A user with that email address already exists."] }],
  },
};

const jsonError = (description: string, example: unknown): ResponseObject => jsonResponse(description, schemaRef("Error"), example);

export const sharedHeaders: Record<string, HeaderObject> = {
  WWWAuthenticate: { description: "RFC 6750 §3: the scheme and realm.", schema: { type: "string", const: 'Bearer realm="api"' } },
  Allow: {
    description: "The methods this path accepts (RFC 9110 §10.2.1).",
    schema: { type: "string", examples: ["GET, POST, HEAD, OPTIONS"] },
  },
  D1Bookmark: {
    description:
      "The D1 bookmark after this request's reads and writes (Sessions API). Send it back as `X-D1-Bookmark` to read your own writes on your next request, wherever it lands.",
    schema: { type: "string", pattern: "^[0-9a-fA-F]{8}(-[0-9a-fA-F]+)+$" },
  },
  RetryAfter: { description: "Seconds until the request may be repeated (RFC 9110 §10.2.3).", schema: { type: "integer", minimum: 0 } },
};

export const sharedResponses: Record<string, ResponseObject> = {
  ValidationError: {
    description:
      'The body failed validation (`{field: [messages]}`), or it is not JSON that parses (`{detail, code: "parse_error"}`), or it is JSON but not an object (`non_field_errors`). Nothing was written.',
    content: {
      "application/json": {
        schema: { oneOf: [schemaRef("FieldErrors"), schemaRef("Error")] },
        example: { username: ["This field is required."] },
      },
    },
  },
  NotAuthenticated: {
    description: "No bearer token, a malformed `Authorization` header, or a token that is invalid, expired or whose session was revoked.",
    headers: { "WWW-Authenticate": ref("headers", "WWWAuthenticate") },
    content: {
      "application/json": {
        schema: schemaRef("TokenError"),
        example: { detail: "Authentication credentials were not provided.", code: "not_authenticated" },
      },
    },
  },
  NotFound: jsonResponse("Not found: unknown, malformed, or someone else's — indistinguishable on purpose.", schemaRef("NotFound"), {
    detail: "Not found.",
  }),
  MethodNotAllowed: {
    ...jsonError("The path exists but not with this method. `Allow` lists the methods it takes.", {
      detail: 'Method "PUT" not allowed.',
      code: "method_not_allowed",
    }),
    headers: { Allow: ref("headers", "Allow") },
  },
  PayloadTooLarge: jsonError(`The body exceeds ${MAX_BODY_BYTES} bytes (checked before it is read).`, {
    detail: `Request body is too large (limit ${MAX_BODY_BYTES} bytes).`,
    code: "request_too_large",
  }),
  UnsupportedMediaType: jsonError("A non-empty body whose `Content-Type` is not JSON.", {
    detail: 'Unsupported media type "text/plain" in request.',
    code: "unsupported_media_type",
  }),
  Throttled: {
    ...jsonError("Too many requests; wait `Retry-After` seconds.", {
      detail: "Request was throttled. Expected available in 42 seconds.",
      code: "throttled",
    }),
    headers: { "Retry-After": ref("headers", "RetryAfter") },
  },
  ServiceUnavailable: {
    ...jsonError(
      "D1 did not answer within D1_TIMEOUT_MS (default 3 s), or failed: nothing was written; retry after `Retry-After` seconds.",
      {
        detail: "The service is briefly unavailable; try again shortly.",
        code: "service_unavailable",
      },
    ),
    headers: { "Retry-After": ref("headers", "RetryAfter") },
  },
  ServerError: jsonError("Something unexpected failed; the body carries the request id, never internals.", {
    detail: "A server error occurred (request id 3b1f…).",
    code: "server_error",
  }),
};

export const securitySchemes = {
  bearerAuth: {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "The `access` token from `POST /api/token/` (or a QR approval). A token is honoured only while its session is live in D1: logging out, revoking the device or changing the password stops it on the next request.",
  },
} as const;
