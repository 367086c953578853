#!/usr/bin/env node
// Why the docs renderer is not Workers static assets: with any [assets] section, the assets router answers the QR
// socket's handshake and agrees permessage-deflate despite our no_web_socket_compression flag (a zlib state per waiting
// login). Builds this checkout's HEAD (git archive) with and without [assets], serves each on its own socket as the edge
// would (through the router when assets exist), opens one QR socket offering deflate and prints what was agreed.
// Run: node bench/assets-socket.mjs   (127.0.0.1 only; four builds, about a minute)
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { buildWorker, startWorker } from "./lib/server.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "edge-auth-assets-"));
const CONFIGS = {
  "no [assets] (as shipped)": "",
  "[assets], run_worker_first = patterns": 'run_worker_first = ["/*", "!/api/docs/swagger-ui.css"]',
  "[assets], run_worker_first = true": "run_worker_first = true",
  "[assets], assets first": null,
};

/** POST /api/qr/, then the browser's socket with `ws`'s default deflate offer: the agreed extensions. */
async function agreed(url) {
  const key = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", key.publicKey);
  const res = await fetch(`${url}/api/qr/`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ public_key: { kty, crv, x, y } }),
  });
  const login = await res.json();
  if (res.status !== 201) throw new Error(`POST /api/qr/ answered ${res.status}`);
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}${new URL(login.ws_url).pathname}?secret=${encodeURIComponent(login.secret)}`, {
    handshakeTimeout: 10_000,
  });
  return new Promise((resolve, reject) => {
    ws.once("upgrade", (r) => resolve(r.headers["sec-websocket-extensions"] ?? "(none)"));
    ws.once("open", () => ws.close());
    ws.once("error", reject);
  });
}

try {
  const src = join(tmp, "src");
  mkdirSync(join(tmp, "assets", "api", "docs"), { recursive: true });
  writeFileSync(join(tmp, "assets", "api", "docs", "swagger-ui.css"), "/* a static file */\n");
  mkdirSync(src);
  execFileSync("sh", ["-c", `git -C "$1" archive HEAD | tar -x -C "$2"`, "sh", root, src]);
  symlinkSync(join(root, "node_modules"), join(src, "node_modules"));
  const base = readFileSync(join(src, "wrangler.toml"), "utf8");
  for (const [i, [label, runWorkerFirst]] of Object.entries(CONFIGS).entries()) {
    const assets = runWorkerFirst === "" ? "" : `\n[assets]\ndirectory = "${join(tmp, "assets")}"\n${runWorkerFirst ?? ""}\n`;
    writeFileSync(join(src, "wrangler.toml"), base + assets);
    const server = await startWorker({
      root: src,
      scriptPath: await buildWorker(src, join(tmp, `dist-${i}`)),
      persistDir: join(tmp, `persist-${i}`),
    });
    try {
      console.log(`${label.padEnd(40)} QR socket: sec-websocket-extensions ${JSON.stringify(await agreed(server.url))}`);
    } finally {
      await server.stop();
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
