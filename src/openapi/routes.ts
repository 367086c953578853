/** @module OpenAPI Routes — GET /api/schema/ (the OpenAPI 3.1 document of the given routes) and GET /api/docs/ (it, readable). */
import { z } from "zod";
import { bytesToBase64 } from "../lib/bytes";
import { defineRoute, type AnyRoute } from "../http/endpoint";
import { openApiDocument } from "./document";
import { DOCS_CSS, renderDocsPage } from "./docs";
import { named } from "./named";

const SCHEMA_PATH = "/api/schema/";

let styleHash: Promise<string> | null = null;

/** CSP hash of the page's one inline stylesheet (CSP3 §8.3), so the page needs no 'unsafe-inline'. */
function docsCsp(): Promise<string> {
  styleHash ??= crypto.subtle
    .digest("SHA-256", new TextEncoder().encode(DOCS_CSS))
    .then((digest) => bytesToBase64(new Uint8Array(digest)));
  return styleHash.then(
    (hash) => `default-src 'none'; style-src 'sha256-${hash}'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
}

const healthSchema = named("Health", z.strictObject({ status: z.literal("ok") }));
const documentSchema = named("OpenApiDocument", z.looseObject({ openapi: z.string() }).meta({ description: "OpenAPI 3.1 (JSON)." }));

/** /health, the document and its page; `documented` is every route the document describes (these included). */
export function metaRoutes(documented: () => readonly AnyRoute[]) {
  return [
    defineRoute({
      method: "GET",
      path: "/health",
      operationId: "health",
      tag: "meta",
      summary: "Liveness",
      auth: "anonymous",
      responses: { 200: { description: "Up.", schema: healthSchema, example: { status: "ok" } } },
      handler: (_c, { json }) => json(200, { status: "ok" }),
    }),

    defineRoute({
      method: "GET",
      path: SCHEMA_PATH,
      operationId: "schema",
      tag: "meta",
      summary: "This OpenAPI 3.1 document",
      auth: "anonymous",
      responses: { 200: { description: "OpenAPI 3.1 (JSON).", schema: documentSchema } },
      handler: (c, { json }) => {
        const origin = new URL(c.req.url).origin;
        return json(200, openApiDocument(documented(), origin), { "cache-control": "public, max-age=300" });
      },
    }),

    defineRoute({
      method: "GET",
      path: "/api/docs/",
      operationId: "docs",
      tag: "meta",
      summary: "This document as a readable page",
      description: "Rendered on the server from /api/schema/; no scripts, works offline.",
      auth: "anonymous",
      responses: { 200: { description: "HTML reference.", content: { type: "text/html", schema: { type: "string" } } } },
      handler: async (c) => {
        const html = await renderDocsPage(openApiDocument(documented()), SCHEMA_PATH);
        return c.html(html, 200, { "content-security-policy": await docsCsp(), "cache-control": "public, max-age=300" });
      },
    }),
  ];
}
