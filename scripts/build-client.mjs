#!/usr/bin/env node
// Bundles the browser code (client/*-page.ts, TypeScript) into one minified IIFE per page and writes them,
// as strings, to src/pages/client.generated.ts (git-ignored), which the pages inline under their CSP nonce;
// writes the API reference's renderer (swagger-ui-dist) gzipped to src/openapi/swagger-ui/*.gz (git-ignored), and then
// the router's matchers (scripts/build-router.mjs -> src/http/router.generated.ts, git-ignored).
// Offline and fast (esbuild, which wrangler already brings). Run by wrangler.toml's [build] (wrangler dev,
// deploy, `npm run build`, the e2e and bench builds), vitest.config.ts (every vitest run) and `npm run typecheck`.
// esbuild strips types without checking them: `tsc -p client` does that (`npm run typecheck`).
import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { buildRouter } from "./build-router.mjs";
import { writeIfChanged } from "./write-if-changed.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const OUTPUT = "src/pages/client.generated.ts";

/** Export name → entry: one bundle per page, each with everything it imports. */
const PAGES = {
  LOGIN_PAGE_JS: "client/login-page.ts",
  PHONE_PAGE_JS: "client/phone-page.ts",
  DOCS_PAGE_JS: "client/docs-page.ts",
  ACCOUNT_PAGE_JS: "client/account-page.ts",
};

/** The embeddable QR login (startQrLogin and <qr-login>): one ES module, served at /client/qr-login.<hash>.js. */
const MODULE_ENTRY = "client/qr-login-module.ts";

/**
 * The API reference's renderer (swagger-ui-dist, Apache-2.0), gzipped into the git-ignored src/openapi/swagger-ui/ as
 * `.gz` files, which wrangler.toml's rule (and so the test pool) loads as Data modules: bytes the worker answers as they
 * are (Content-Encoding: gzip). As Text modules (1.9 MB of strings) they cost a fresh workerd 11-24 ms CPU at start, as
 * gzip Data (480 KiB) nothing measurable (bench/startup.mjs with BENCH_EXTRA; docs/benchmarks.md). Not Workers static
 * assets: an assets-enabled worker is reached through the assets router, whose runtime then answered the QR socket's
 * WebSocket handshake and agreed permessage-deflate despite our no_web_socket_compression flag (660 KiB instead of 85
 * KiB per waiting login).
 */
const DOCS_DIR = "src/openapi/swagger-ui";
const DOCS_FILES = ["swagger-ui-bundle.js", "swagger-ui.css"];

/**
 * Gzips the renderer's files, writing only when they changed (wrangler dev reloads on writes under src/), and returns
 * each file's entity tag: the SHA-256 of its plain bytes, the same for the gzip and the plain answer (a weak ETag).
 */
function writeDocsAssets() {
  const from = join(root, "node_modules/swagger-ui-dist");
  mkdirSync(join(root, DOCS_DIR), { recursive: true });
  const etags = {};
  for (const file of DOCS_FILES) {
    const plain = readFileSync(join(from, file));
    etags[file] = `W/"${createHash("sha256").update(plain).digest("base64url").slice(0, 22)}"`;
    // Level 9 and gzip's header without a time or name: the same bytes on every build of the same version.
    const gzipped = gzipSync(plain, { level: 9 });
    writeIfChanged(join(root, DOCS_DIR, `${file}.gz`), gzipped);
    // Earlier builds wrote the files as Text modules (.txt); an old checkout's copies go.
    rmSync(join(root, DOCS_DIR, `${file}.txt`), { force: true });
  }
  // Before the Text modules the renderer was one generated .ts module of string literals: an old checkout's copy goes.
  rmSync(join(root, "src/openapi/swagger-ui.generated.ts"), { force: true });
  return etags;
}

export async function buildClient({ quiet = false } = {}) {
  const docsEtags = writeDocsAssets();
  const bundles = {};
  for (const [name, entry] of Object.entries(PAGES)) {
    const result = await build({
      entryPoints: [join(root, entry)],
      bundle: true,
      format: "iife",
      platform: "browser",
      // As the hand-written ES2017 it replaces: any browser a phone still runs.
      target: "es2017",
      minify: true,
      legalComments: "none",
      write: false,
      logLevel: "silent",
    });
    const text = result.outputFiles[0].text.trimEnd();
    // Inlined into <script>: these would end the element or change how the HTML parser reads it.
    if (/<\/script|<!--/i.test(text)) throw new Error(`${entry}: the bundle contains "</script" or "<!--" and cannot be inlined`);
    bundles[name] = text;
  }
  const module = await build({
    entryPoints: [join(root, MODULE_ENTRY)],
    bundle: true,
    format: "esm",
    platform: "browser",
    // Custom elements and constructed stylesheets: browsers of 2023 on (Safari 16.4), as adoptedStyleSheets needs.
    target: "es2020",
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  const moduleText = module.outputFiles[0].text;
  const moduleHash = createHash("sha256").update(moduleText).digest("hex").slice(0, 12);
  const source = [
    "// Generated by scripts/build-client.mjs from client/ (and swagger-ui-dist's ETags) — do not edit; git-ignored, rebuilt by every build, test and typecheck.",
    ...Object.entries(bundles).map(([name, text]) => `export const ${name}: string = ${JSON.stringify(text)};`),
    `export const QR_LOGIN_MODULE_JS: string = ${JSON.stringify(moduleText)};`,
    `/** The first 12 hex digits of the module's SHA-256: its immutable URL is /client/qr-login.<hash>.js. */`,
    `export const QR_LOGIN_MODULE_HASH: string = ${JSON.stringify(moduleHash)};`,
    "/** The API reference's renderer files (src/openapi/swagger-ui/*.gz): each one's ETag, from its plain bytes. */",
    `export const DOCS_ASSET_ETAGS: Readonly<Record<string, string>> = ${JSON.stringify(docsEtags)};`,
    "",
  ].join("\n");
  writeIfChanged(join(root, OUTPUT), source);
  // The router's matchers (scripts/build-router.mjs) read the app, which inlines the bundles just written.
  await buildRouter({ quiet });
  if (!quiet) {
    for (const [name, text] of Object.entries(bundles)) {
      const bytes = Buffer.byteLength(text);
      console.log(`[client] ${PAGES[name]} -> ${name}: ${bytes} B, ${gzipSync(text, { level: 9 }).length} B gzip`);
    }
    console.log(
      `[client] ${MODULE_ENTRY} -> /client/qr-login.${moduleHash}.js: ${Buffer.byteLength(moduleText)} B, ${gzipSync(moduleText, { level: 9 }).length} B gzip`,
    );
  }
  return bundles;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildClient();
  } catch (error) {
    console.error(`[client] build failed: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
