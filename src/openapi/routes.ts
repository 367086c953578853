/** @module OpenAPI Routes — GET /api/schema/ (the OpenAPI 3.1 document) and GET /api/docs/ (it, readable). */
import type { Hono } from "hono";
import { bytesToBase64 } from "../lib/bytes";
import { route } from "../http/route";
import type { AppEnv } from "../http/types";
import { openApiDocument } from "./document";
import { DOCS_CSS, renderDocsPage } from "./docs";

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

export function mountOpenApi(app: Hono<AppEnv>): void {
  route(app, SCHEMA_PATH, {
    GET: [
      function openApiSchema(c) {
        const origin = new URL(c.req.url).origin;
        return c.json(openApiDocument(origin), 200, { "cache-control": "public, max-age=300" });
      },
    ],
  });

  route(app, "/api/docs/", {
    GET: [
      async function apiDocs(c) {
        const html = await renderDocsPage(openApiDocument(), SCHEMA_PATH);
        return c.html(html, 200, { "content-security-policy": await docsCsp(), "cache-control": "public, max-age=300" });
      },
    ],
  });
}
