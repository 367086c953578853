/** @jsxImportSource hono/jsx */
/**
 * @module API Reference Page — /api/docs/: Swagger UI (swagger-ui-dist, a maintained renderer) on /api/schema/.
 * Its files are served by the worker at /api/docs/{file} (Text modules uploaded beside the bundle); the page's own script and style are inline
 * under the response's CSP nonce, so nothing but this origin is ever contacted and no 'unsafe-inline' is needed.
 */
import { DOCS_PAGE_JS } from "../pages/client.generated";
// Text modules (wrangler's and the test pool's rule for .txt): strings, never parsed as script at the worker's start.
import SWAGGER_UI_CSS from "./swagger-ui/swagger-ui.css.txt";
import SWAGGER_UI_JS from "./swagger-ui/swagger-ui-bundle.js.txt";

/** The renderer's files the page loads, as served at /api/docs/{file} (written by scripts/build-client.mjs). */
export const DOCS_ASSETS: Readonly<Record<string, { type: string; body: string }>> = {
  "swagger-ui-bundle.js": { type: "text/javascript; charset=utf-8", body: SWAGGER_UI_JS },
  "swagger-ui.css": { type: "text/css; charset=utf-8", body: SWAGGER_UI_CSS },
};

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
