#!/usr/bin/env node
// Serves examples/app on its own origin (default http://127.0.0.1:8789), the auth worker's origin written into the
// page, under a strict CSP: scripts from this origin and the auth worker only, no inline script or style.
// Usage: node scripts/serve-app.mjs [--port 8789] [--auth http://127.0.0.1:8787]
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../examples/app/", import.meta.url));
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const FILES = new Set(["index.html", "app.js", "app.css"]);

export function serveApp({ port = 8789, auth = "http://127.0.0.1:8787" } = {}) {
  const authUrl = new URL(auth);
  const ws = `${authUrl.protocol === "https:" ? "wss:" : "ws:"}//${authUrl.host}`;
  const csp = [
    "default-src 'none'",
    `script-src 'self' ${authUrl.origin}`,
    "style-src 'self'",
    `connect-src ${authUrl.origin} ${ws}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname.replace(/^\//, "") || "index.html";
    if (!FILES.has(path)) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    let body = readFileSync(join(root, path), "utf8");
    if (path === "index.html") body = body.replace("{{AUTH_BASE_URL}}", authUrl.origin);
    res.writeHead(200, { "content-type": TYPES[extname(path)], "content-security-policy": csp, "cache-control": "no-store" }).end(body);
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = (name, fallback) => {
    // The last one wins: `npm run dev:app -- --port N` appends to the defaults in package.json.
    const i = process.argv.lastIndexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const port = Number(arg("port", 8789));
  const auth = arg("auth", "http://127.0.0.1:8787");
  await serveApp({ port, auth });
  console.log(`[app] http://127.0.0.1:${port}/ (auth worker: ${auth}). Start the worker with this origin allowed:`);
  console.log(`      npm run dev -- --var CORS_ORIGINS:http://127.0.0.1:${port} --var REFRESH_COOKIE:on`);
}
