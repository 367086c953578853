#!/usr/bin/env node
// What the runtime itself charges for what our chain adds to every response with no
// framework and none of our code: the one-line worker, then the same with one JSON log line per request
// (workerd's stdout, drained by this process as `npm run bench` drains ours), with our ten response
// headers, and with both. Each variant in its own workerd on its own socket, loaded as `npm run bench` loads ours
// (bench/lib/measure.mjs) in interleaved rounds. Printed, never asserted.
//
//   node bench/floor-variants.mjs     (127.0.0.1 only; FLOOR_ROUNDS x 5 variants x FLOOR_SECONDS)
import { mkdtempSync, rmSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { ONE_LINE_WORKER, startScratchWorker } from "./lib/server.mjs";
import { median, measure } from "./lib/measure.mjs";
import { which } from "./lib/proc.mjs";

const rounds = Math.min(10, Number(process.env.FLOOR_ROUNDS ?? 3));
const seconds = Math.min(30, Number(process.env.FLOOR_SECONDS ?? 8));

// The headers our /health answers with besides content-type (src/http/security.ts).
const HEADERS = [
  ["content-security-policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"],
  ["cross-origin-opener-policy", "same-origin"],
  ["cross-origin-resource-policy", "same-origin"],
  ["origin-agent-cluster", "?1"],
  ["permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"],
  ["referrer-policy", "no-referrer"],
  ["strict-transport-security", "max-age=31536000; includeSubDomains"],
  ["x-content-type-options", "nosniff"],
  ["x-dns-prefetch-control", "off"],
  ["x-download-options", "noopen"],
  ["x-frame-options", "DENY"],
  ["x-permitted-cross-domain-policies", "none"],
  ["x-xss-protection", "0"],
];

const LOG = `console.log('{"level":"info","event":"request","time":"' + new Date().toISOString() + '","request_id":"' + crypto.randomUUID() + '","method":"GET","route":"/health","status":200,"duration_ms":0,"user_id":null}');`;
const HEADERS_SRC = `[["content-type", "application/json"], ["x-request-id", crypto.randomUUID()], ...${JSON.stringify(HEADERS)}]`;
const VARIANTS = {
  "one-line worker": ONE_LINE_WORKER,
  "+ one JSON log line (console.log)": `export default { fetch() { ${LOG} return new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } }); } };`,
  "+ request id and 13 security headers": `export default { fetch() { return new Response('{"status":"ok"}', { headers: ${HEADERS_SRC} }); } };`,
  "+ both": `export default { fetch() { ${LOG} return new Response('{"status":"ok"}', { headers: ${HEADERS_SRC} }); } };`,
  // Ways to build the same 15 headers: which one the runtime charges least for.
  "headers: copy of a per-isolate Headers": `const T = new Headers([["content-type", "application/json"], ...${JSON.stringify(HEADERS)}]); export default { fetch() { const h = new Headers(T); h.set("x-request-id", crypto.randomUUID()); return new Response('{"status":"ok"}', { headers: h }); } };`,
  "headers: object literal init": `const O = Object.fromEntries([["content-type", "application/json"], ...${JSON.stringify(HEADERS)}]); export default { fetch() { return new Response('{"status":"ok"}', { headers: { ...O, "x-request-id": crypto.randomUUID() } }); } };`,
  "headers: set one by one on the response": `const L = ${JSON.stringify(HEADERS)}; export default { fetch() { const r = new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } }); const h = r.headers; h.set("x-request-id", crypto.randomUUID()); for (const [k, v] of L) h.set(k, v); return r; } };`,
  // The runtime's part of verify and notes: a POST body read (as readBodyText does) and a 20-note page's JSON
  // (~4.5 KB) written, each with the log line and headers: what those scenarios cost before any of our code.
  "+ log + headers + reads the POST body": `const L = ${JSON.stringify(HEADERS)}; export default { async fetch(request) { const text = new TextDecoder("utf-8", { fatal: true }).decode(await request.arrayBuffer()); ${LOG} const r = new Response(text.length ? "{}" : "{}", { headers: { "content-type": "application/json" } }); const h = r.headers; for (const [k, v] of L) h.set(k, v); h.set("x-request-id", crypto.randomUUID()); return r; } };`,
  "+ log + headers + a 20-note page's JSON": `const L = ${JSON.stringify(HEADERS)}; const PAGE = { count: 20, next: null, previous: null, results: Array.from({ length: 20 }, (_, i) => ({ id: "0190f3c2-6a1e-7c4d-9b2a-" + String(i).padStart(12, "0"), title: "Bench note " + (i + 1), body: ("Body of bench note " + (i + 1) + ". ").repeat(8), created_at: "2026-11-28T17:00:00Z", updated_at: "2026-11-28T17:00:00Z" })) }; export default { fetch() { ${LOG} const r = new Response(JSON.stringify(PAGE), { headers: { "content-type": "application/json" } }); const h = r.headers; for (const [k, v] of L) h.set(k, v); h.set("x-request-id", crypto.randomUUID()); return r; } };`,
  "+ log + headers + the same page's JSON serialised once per isolate": `const L = ${JSON.stringify(HEADERS)}; const PAGE = JSON.stringify({ count: 20, next: null, previous: null, results: Array.from({ length: 20 }, (_, i) => ({ id: "0190f3c2-6a1e-7c4d-9b2a-" + String(i).padStart(12, "0"), title: "Bench note " + (i + 1), body: ("Body of bench note " + (i + 1) + ". ").repeat(8), created_at: "2026-11-28T17:00:00Z", updated_at: "2026-11-28T17:00:00Z" })) }); export default { fetch() { ${LOG} const r = new Response(PAGE, { headers: { "content-type": "application/json" } }); const h = r.headers; for (const [k, v] of L) h.set(k, v); h.set("x-request-id", crypto.randomUUID()); return r; } };`,
  // What our /health leaves the runtime to do besides Hono and the chain's logic: the runtime's own ceiling for it.
  "+ log line and headers set one by one": `const L = ${JSON.stringify(HEADERS)}; export default { fetch() { ${LOG} const r = new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } }); const h = r.headers; for (const [k, v] of L) h.set(k, v); h.set("x-request-id", crypto.randomUUID()); return r; } };`,
};
// FLOOR_VARIANTS=0,2,4: a subset by index (the one-line worker always runs).
const pick = (process.env.FLOOR_VARIANTS ?? "").split(",").filter(Boolean).map(Number);
for (const [i, name] of Object.keys(VARIANTS).entries()) if (pick.length && i !== 0 && !pick.includes(i)) delete VARIANTS[name];

// FLOOR_POST=1: every request is verify's POST (a 600-byte JSON body). FLOOR_BEARER=1: every request carries an
// Authorization header as long as our ES256 access tokens (what hello's requests weigh).
const spec = {
  method: process.env.FLOOR_POST === "1" ? "POST" : "GET",
  path: "/",
  headers: {
    ...(process.env.FLOOR_POST === "1" ? { "content-type": "application/json" } : {}),
    ...(process.env.FLOOR_BEARER === "1" ? { authorization: `Bearer ${"x".repeat(560)}` } : {}),
  },
  ...(process.env.FLOOR_POST === "1" ? { body: `{"token":"${"x".repeat(580)}"}` } : {}),
};
// The same load as `npm run bench` (wrk -t1 if installed, else autocannon; 16 connections), measured the same way.
const settings = { tool: which("wrk") ? "wrk" : "autocannon", connections: 16, wrk_threads: 1, warmup_s: 1, duration_s: seconds };
const tmpDir = mkdtempSync(join(tmpdir(), "floor-variants-"));
const drained = { lines: 0 };
const drain = (stream) => stream.on("data", (chunk) => (drained.lines += chunk.toString().split("\n").length - 1));
const servers = {};
try {
  for (const [name, source] of Object.entries(VARIANTS)) {
    servers[name] = await startScratchWorker(source, {
      handleRuntimeStdio(out, err) {
        drain(out);
        drain(err);
      },
      // Miniflare 5 hands the worker's console lines over one by one instead of as streams.
      handleStructuredLogs() {
        drained.lines += 1;
      },
    });
  }
  const results = Object.fromEntries(Object.keys(VARIANTS).map((n) => [n, []]));
  for (let r = 1; r <= rounds; r++) {
    for (const [name, server] of Object.entries(servers)) {
      // measure() awaits the load generator asynchronously, so this process keeps draining workerd's stdout meanwhile.
      const run = await measure(settings, tmpDir, `variant-${r}`, server.url, server.pid, async () => spec);
      results[name].push({ rps: run.rps, cpuUsPerRequest: run.workerd_cpu_us_per_request, load: os.loadavg()[0] });
      console.log(
        `round ${r}: ${name}: ${run.rps} req/s, workerd ${run.workerd_cpu_us_per_request} µs CPU/request, load ${os.loadavg()[0].toFixed(2)}`,
      );
    }
  }
  const floor = median(results["one-line worker"].map((x) => x.rps));
  console.log(
    `\nmedians of ${rounds} rounds of ${seconds} s (${settings.tool}, 16 connections), load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}:`,
  );
  for (const [name, runs] of Object.entries(results)) {
    const rps = median(runs.map((x) => x.rps));
    console.log(
      `  ${name.padEnd(40)} ${String(Math.round(rps)).padStart(7)} req/s  ${String(Math.round((rps / floor) * 100)).padStart(4)} %  ${median(
        runs.map((x) => x.cpuUsPerRequest),
      )
        .toFixed(1)
        .padStart(6)} µs workerd CPU/request`,
    );
  }
  console.log(`log lines drained: ${drained.lines}`);
} finally {
  for (const server of Object.values(servers)) await server.dispose();
  rmSync(tmpDir, { recursive: true, force: true });
}
