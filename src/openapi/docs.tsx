/** @jsxImportSource hono/jsx */
/**
 * @module API Reference Page — /api/docs/: Swagger UI (swagger-ui-dist, a maintained renderer) on /api/schema/.
 * Its files are served by the worker at /api/docs/{file} (gzipped Data modules uploaded beside the bundle); the page's
 * own script and style are inline under the response's CSP nonce, so nothing but this origin is ever contacted and no
 * 'unsafe-inline' is needed.
 */
import { DOCS_ASSET_ETAGS, DOCS_PAGE_JS } from "../pages/client.generated";
// Data modules (wrangler.toml's rule for .gz): bytes that cost a worker's start nothing, unlike 1.9 MB of Text.
import SWAGGER_UI_CSS_GZ from "./swagger-ui/swagger-ui.css.gz";
import SWAGGER_UI_JS_GZ from "./swagger-ui/swagger-ui-bundle.js.gz";

/** The renderer's files the page loads, as served at /api/docs/{file} (gzipped by scripts/build-client.mjs). */
export const DOCS_ASSETS: Readonly<Record<string, DocsAsset>> = {
  "swagger-ui-bundle.js": {
    type: "text/javascript; charset=utf-8",
    gzip: SWAGGER_UI_JS_GZ,
    etag: DOCS_ASSET_ETAGS["swagger-ui-bundle.js"]!,
  },
  "swagger-ui.css": { type: "text/css; charset=utf-8", gzip: SWAGGER_UI_CSS_GZ, etag: DOCS_ASSET_ETAGS["swagger-ui.css"]! },
};

interface DocsAsset {
  type: string;
  gzip: ArrayBuffer;
  /** A weak ETag from the plain file's SHA-256 (scripts/build-client.mjs): both encodings share it. */
  etag: string;
}

/** Whether If-None-Match names `etag` (weak comparison, RFC 9110 §13.1.2) or is `*`. */
function matchesEtag(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const opaque = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((tag) => {
    const value = tag.trim();
    return value === "*" || value.replace(/^W\//, "") === opaque;
  });
}

/** Whether an Accept-Encoding header allows gzip (RFC 9110 §12.5.3): named, or `*`, with a q above 0. */
export function acceptsGzip(header: string | null): boolean {
  if (!header) return false;
  let gzip: number | null = null;
  let any: number | null = null;
  for (const part of header.split(",")) {
    const [coding = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    const value = Number.isFinite(weight) ? weight : 0;
    if (coding === "gzip" || coding === "x-gzip") gzip = value;
    else if (coding === "*") any = value;
  }
  return (gzip ?? any ?? 0) > 0;
}

/**
 * A renderer file as the client can take it: 304 when its cached copy is current (If-None-Match); else the stored gzip
 * bytes as they are (Content-Encoding: gzip, the runtime told not to encode again) for a client that accepts gzip, as
 * every browser does, and decompressed for any other.
 */
export function docsAssetResponse(asset: DocsAsset, request: Request): Response {
  // Same file until the next deploy: a day fresh, then revalidated by its ETag. Caches key on the request's encodings.
  const headers = { "content-type": asset.type, "cache-control": "public, max-age=86400", vary: "Accept-Encoding", etag: asset.etag };
  if (matchesEtag(request.headers.get("if-none-match"), asset.etag)) return new Response(null, { status: 304, headers });
  if (acceptsGzip(request.headers.get("accept-encoding")))
    return new Response(asset.gzip, { headers: { ...headers, "content-encoding": "gzip" }, encodeBody: "manual" });
  return new Response(new Blob([asset.gzip]).stream().pipeThrough(new DecompressionStream("gzip")), { headers });
}

// Swagger UI's own stylesheet sets no page colours: a dark reader gets a light page rather than a broken one.
const DOCS_CSS = `body{margin:0;background:#fff;color:#3b4151}.docs-fallback{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}`;

export function DocsPage(props: { nonce: string; schemaUrl: string; assetBase: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>Edge auth worker API reference</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href={`${props.assetBase}swagger-ui.css`} />
        <style nonce={props.nonce} dangerouslySetInnerHTML={{ __html: DOCS_CSS }} />
      </head>
      <body>
        <p id="docs-fallback" class="docs-fallback" hidden>
          The reference viewer did not load. The API is described by its <a href={props.schemaUrl}>OpenAPI 3.1 document</a>.
        </p>
        <div id="swagger-ui" data-schema-url={props.schemaUrl} />
        <noscript>
          <p class="docs-fallback">
            This reference needs JavaScript. The API is described by its <a href={props.schemaUrl}>OpenAPI 3.1 document</a>.
          </p>
        </noscript>
        <script src={`${props.assetBase}swagger-ui-bundle.js`} />
        <script nonce={props.nonce} dangerouslySetInnerHTML={{ __html: DOCS_PAGE_JS }} />
      </body>
    </html>
  );
}
