/**
 * The API reference page (/api/docs/): starts Swagger UI (swagger-ui-dist, served by the worker from its static
 * assets, loaded just before this script) on the worker's own OpenAPI document. Nothing is fetched from elsewhere.
 */

interface SwaggerUIOptions {
  url: string;
  dom_id: string;
  deepLinking: boolean;
  /** null: no badge that would send the document to validator.swagger.io. */
  validatorUrl: null;
  tryItOutEnabled: boolean;
  persistAuthorization: boolean;
  defaultModelsExpandDepth: number;
  docExpansion: "list" | "full" | "none";
  presets: unknown[];
  layout: string;
}

interface SwaggerUIBundleGlobal {
  (options: SwaggerUIOptions): unknown;
  presets: { apis: unknown };
}

const bundle = (window as unknown as { SwaggerUIBundle?: SwaggerUIBundleGlobal }).SwaggerUIBundle;
const root = document.getElementById("swagger-ui");
const schemaUrl = root?.dataset.schemaUrl ?? "/api/schema/";

if (!bundle || !root) {
  // The renderer's file did not load (blocked, or a stale cache): the document itself is still one link away.
  document.getElementById("docs-fallback")?.removeAttribute("hidden");
} else {
  bundle({
    url: schemaUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    // The bearer token a reader pastes stays in this tab only (sessionStorage is not used either).
    persistAuthorization: false,
    defaultModelsExpandDepth: 0,
    docExpansion: "list",
    presets: [bundle.presets.apis],
    layout: "BaseLayout",
  });
}
