/**
 * @module OpenAPI Document — the OpenAPI 3.1 description of the whole API, generated from the resources the app
 * mounts (src/http/resource.ts: tags, route specs) and the answer schemas they name. Built once per isolate and
 * resource list; only `servers` depends on the request.
 */
import { MAX_BODY_BYTES } from "../http/body";
import { routesOf, type Resource } from "../http/resource";
import { securitySchemes, sharedHeaders, sharedResponses, sharedSchemas } from "./components";
import { describeRoutes, namedSchemas, type JsonSchema, type Paths } from "./spec";

const OPENAPI_VERSION = "3.1.0";

const DESCRIPTION = `JWT authentication, QR login and REST resources, verified at the edge. JSON in, JSON out; every path answers with and without its trailing slash.

Authentication: \`Authorization: Bearer <access>\` with an access token from \`POST /api/token/\`. A token works only while its session is live: signing out, revoking the device or changing the password stops it on the next request.

Errors have Django REST Framework's shapes:
- validation: 400 \`{"field": ["message"], "non_field_errors": ["..."]}\`. Nothing is written. Unknown fields are ignored, as DRF ignores them (a front end written for simplejwt may send extras such as \`remember_me\`), and so are read-only fields sent back, whatever their type.
- broken JSON: 400 \`{"detail", "code": "parse_error"}\`; a body that is not JSON: 415; a body over ${MAX_BODY_BYTES} bytes: 413. An empty body reads as \`{}\`.
- authentication: 401 \`{"detail", "code"}\` with \`WWW-Authenticate: Bearer realm="api"\`.
- not found (unknown route, unknown or malformed id, someone else's resource): 404 \`{"detail": "Not found."}\`.
- wrong method on a known path: 405 with an \`Allow\` header; \`OPTIONS\` answers 204 with \`Allow\`.
- throttled: 429 with \`Retry-After\`; unexpected: 500 with a request id, never internals.
Every error but validation and 404 carries a stable \`code\`: switch on it, not on \`detail\`.

Lists are DRF pages: \`{count, next, previous, results}\` with \`?page=\`, \`?page_size=\`, \`?search=\`, \`?ordering=\` (see GET /api/notes/).`;

export type OpenApiDocument = {
  openapi: string;
  info: { title: string; version: string; description: string };
  servers?: Array<{ url: string }>;
  tags: Array<{ name: string; description: string }>;
  paths: Paths;
  components: Record<string, unknown>;
};

function build(resources: readonly Resource[]): OpenApiDocument {
  const { paths, requestSchemas } = describeRoutes(routesOf(resources));
  const schemas: Record<string, JsonSchema> = { ...sharedSchemas };
  for (const [name, schema] of [...Object.entries(requestSchemas), ...Object.entries(namedSchemas())]) {
    if (schemas[name]) throw new Error(`OpenAPI: schema ${name} is defined twice`);
    schemas[name] = schema;
  }
  return {
    openapi: OPENAPI_VERSION,
    info: { title: "Edge auth worker API", version: "0.1.0", description: DESCRIPTION },
    tags: resources.map((r) => ({ name: r.tag, description: r.description })),
    paths,
    components: { schemas, responses: sharedResponses, headers: sharedHeaders, securitySchemes },
  };
}

const built = new WeakMap<readonly Resource[], OpenApiDocument>();

/** The document of `resources`; with `origin`, `servers` names it so tools can send requests. */
export function openApiDocument(resources: readonly Resource[], origin?: string): OpenApiDocument {
  let doc = built.get(resources);
  if (!doc) built.set(resources, (doc = build(resources)));
  return origin ? { ...doc, servers: [{ url: origin }] } : doc;
}
