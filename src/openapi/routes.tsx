/** @jsxImportSource hono/jsx */
/** @module Meta Resource — /health, /api/hello/, GET /api/schema/ (the OpenAPI 3.1 document of the given resources) and /api/docs/ (it, readable). */
import * as z from "zod";
import { defineRoute } from "../http/endpoint";
import { defineResource, type Resource } from "../http/resource";
import { newCspNonce } from "../http/security";
import { openApiDocument } from "./document";
import { DOCS_ASSETS, DocsPage, docsAssetResponse } from "./docs";
import { named } from "./named";

const SCHEMA_PATH = "/api/schema/";
const DOCS_PATH = "/api/docs/";

/** The page runs Swagger UI from this origin only: its files by 'self', its one inline script and style by nonce. */
function docsCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'self' 'nonce-${nonce}'`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const healthSchema = named("Health", () => z.strictObject({ status: z.literal("ok") }));
const helloSchema = named("Hello", () => z.strictObject({ message: z.string() }));
const documentSchema = named("OpenApiDocument", () => z.looseObject({ openapi: z.string() }).meta({ description: "OpenAPI 3.1 (JSON)." }));

/** Health, hello, the document and its page, as one resource; `documented` is every resource the document describes. */
export function metaResource(documented: () => readonly Resource[]): Resource {
  return defineResource({
    tag: "meta",
    description: "Health, this document, and the smallest protected route.",
    usesD1: false,
    routes: metaRoutes(documented),
  });
}

function metaRoutes(documented: () => readonly Resource[]) {
  return [
    defineRoute({
      method: "GET",
      path: "/health",
      operationId: "health",
      summary: "Liveness",
      auth: "anonymous",
      responses: { 200: { description: "Up.", schema: healthSchema, example: { status: "ok" } } },
      handler: (_c, { json }) => json(200, { status: "ok" }),
    }),

    defineRoute({
      method: "GET",
      path: SCHEMA_PATH,
      operationId: "schema",
      summary: "This OpenAPI 3.1 document",
      auth: "anonymous",
      responses: { 200: { description: "OpenAPI 3.1 (JSON).", schema: documentSchema } },
      handler: (c, { json }) => {
        // JWT_ISSUER, never the Host header: the document is cacheable, so a forged Host must not end up in it.
        const origin = c.get("deps").config.issuer;
        return json(200, openApiDocument(documented(), origin), { "cache-control": "public, max-age=300" });
      },
    }),

    defineRoute({
      method: "GET",
      path: DOCS_PATH,
      operationId: "docs",
      summary: "This document as a readable page",
      description:
        "Swagger UI on /api/schema/, served by the worker itself (its files from /api/docs/{file}): works offline, contacts no other origin, and runs under a CSP without 'unsafe-inline'.",
      auth: "anonymous",
      responses: { 200: { description: "HTML reference.", content: { type: "text/html", schema: { type: "string" } } } },
      handler: (c) => {
        const nonce = newCspNonce();
        const page = <DocsPage nonce={nonce} schemaUrl={SCHEMA_PATH} assetBase={DOCS_PATH} />;
        // A fresh nonce per answer: never cached.
        return c.html(`<!doctype html>${page.toString()}`, 200, { "content-security-policy": docsCsp(nonce), "cache-control": "no-store" });
      },
    }),

    defineRoute({
      method: "GET",
      path: "/api/docs/{file}",
      operationId: "docs_asset",
      summary: "The reference page's renderer files",
      description: `Swagger UI's files (swagger-ui-dist, Apache-2.0), served by the worker: ${Object.keys(DOCS_ASSETS)
        .map((f) => `\`${f}\``)
        .join(
          ", ",
        )}, gzip-encoded for a client that accepts gzip (\`Vary: Accept-Encoding\`), with a weak \`ETag\` (\`If-None-Match\` answers 304). Anything else is 404.`,
      auth: "anonymous",
      notFound: true,
      params: {
        file: {
          description: "One of the renderer's files.",
          schema: { type: "string", enum: Object.keys(DOCS_ASSETS) },
          check: (file: string) => Object.hasOwn(DOCS_ASSETS, file),
        },
      },
      headers: {
        "Accept-Encoding": { description: "With `gzip` (every browser sends it) the file comes gzip-encoded, as stored." },
        "If-None-Match": { description: "The ETag of a copy the client holds: 304 without a body while the file is unchanged." },
      },
      responses: {
        200: {
          description: "The file, as the type its name says.",
          content: Object.values(DOCS_ASSETS).map((asset) => ({ type: asset.type.split(";")[0]!, schema: { type: "string" } })),
        },
        304: { description: "Not modified: the copy named by If-None-Match is current." },
      },
      handler: (c, { params }) => docsAssetResponse(DOCS_ASSETS[params.file]!, c.req.raw),
    }),

    defineRoute({
      method: "GET",
      path: "/api/hello/",
      operationId: "hello",
      d1: "replica",
      summary: "The smallest protected route",
      auth: "bearer",
      responses: { 200: { description: "Hello.", schema: helloSchema, example: { message: "Hello, World!" } } },
      handler: (_c, { json }) => json(200, { message: "Hello, World!" }),
    }),
  ];
}
