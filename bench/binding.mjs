#!/usr/bin/env node
// What another Worker pays to check a bearer token through a service binding: AuthService.authenticate (RPC)
// against POST /api/token/verify/ (HTTP through a binding to our default entrypoint). Ours and a consumer Worker
// run in one workerd (the deployed build, as `npm run bench` loads it); node calls the consumer one request at a
// time on 127.0.0.1, and the consumer's no-auth answer is subtracted. Bounded: BINDING_N calls per path (2000).
// Run: node bench/binding.mjs
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expectStatus, percentile } from "./lib/http.mjs";
import { buildWorker, startWorker } from "./lib/server.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const N = Number(process.env.BINDING_N ?? 2000);

const CONSUMER = `export default {
  async fetch(request, env) {
    const authorization = request.headers.get("authorization") ?? "";
    const path = new URL(request.url).pathname;
    if (path === "/noop") return new Response("ok");
    if (path === "/http") {
      const token = authorization.replace(/^Bearer\\s+/i, "");
      const res = await env.API.fetch("https://auth.bench/api/token/verify/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
      return new Response(res.ok ? "ok" : "refused", { status: res.ok ? 200 : 401 });
    }
    const result = await env.AUTH.authenticate(authorization);
    return new Response(result.ok ? "ok" : "refused", { status: result.ok ? 200 : 401 });
  },
};`;

async function timed(url, token) {
  const samples = [];
  for (let i = 0; i < N + 200; i++) {
    const start = process.hrtime.bigint();
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    // The first 200 warm the JIT and the session cache.
    if (i >= 200) samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

const tmp = mkdtempSync(join(tmpdir(), "edge-auth-binding-"));
let server;
try {
  const scriptPath = await buildWorker(root, join(tmp, "dist"));
  server = await startWorker({
    root,
    scriptPath,
    persistDir: join(tmp, "persist"),
    // A fixed issuer: the consumer's HTTP call names this host, whatever port the bench got.
    extraVars: { JWT_ISSUER: "https://auth.bench", JWT_AUDIENCE: "https://auth.bench" },
    companions: [
      {
        name: "consumer",
        modules: true,
        script: CONSUMER,
        compatibilityDate: "2026-04-01",
        serviceBindings: { AUTH: { name: "edge-auth-worker", entrypoint: "AuthService" }, API: "edge-auth-worker" },
      },
    ],
  });
  const consumer = server.companionUrls.consumer;
  const password = "bench password 123";
  await expectStatus(201, server.url, "POST", "/api/auth/register/", {
    json: { username: "bindingbench", email: "b@example.com", password },
  });
  const { access } = await expectStatus(200, server.url, "POST", "/api/token/", { json: { username: "bindingbench", password } });
  const rows = {};
  for (const [name, path] of [
    ["consumer alone (no auth)", "/noop"],
    ["AuthService.authenticate (RPC)", "/"],
    ["POST /api/token/verify/ (HTTP over a binding)", "/http"],
  ]) {
    rows[name] = await timed(`${consumer}${path}`, access);
  }
  const base = rows["consumer alone (no auth)"];
  console.log(`\nbearer check from another Worker, one call at a time, N = ${N} each (µs per call; node -> consumer -> ours):`);
  for (const [name, r] of Object.entries(rows)) {
    const extra = r === base ? "" : `   check alone ≈ ${Math.round(r.p50 - base.p50)} µs (p50 minus the consumer alone)`;
    console.log(
      `  ${name.padEnd(48)} p50 ${Math.round(r.p50).toString().padStart(5)}  p99 ${Math.round(r.p99).toString().padStart(5)}  mean ${Math.round(r.mean).toString().padStart(5)}${extra}`,
    );
  }
} finally {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
}
