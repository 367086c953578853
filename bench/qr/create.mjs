#!/usr/bin/env node
// QR creation throughput: POST /api/qr/ against GET /health of the same workerd, in alternating rounds
// (autocannon, 16 connections, 127.0.0.1 only, bounded: rounds × 2 × seconds). Issue 25's goal: ≥ 1000 logins/s.
// No socket is opened: this is the cost of starting a login, which since issue 25 addresses no Durable Object.
//
//   node bench/qr/create.mjs [--root DIR] [--rounds 3] [--seconds 10]
//   (--root: another checkout, e.g. an older revision unpacked with `git archive`, this checkout's node_modules linked)
import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { webcrypto } from "node:crypto";
import { runLoad } from "../lib/load.mjs";
import { buildWorker, startWorker } from "../lib/server.mjs";

const option = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const root = resolve(option("root", new URL("../../", import.meta.url).pathname));
const rounds = Number(option("rounds", 3));
const seconds = Number(option("seconds", 10));
const connections = 16;

const tmpDir = mkdtempSync(join(tmpdir(), "qr-create-"));
let server = null;
try {
  const scriptPath = await buildWorker(root, join(tmpDir, "dist"));
  server = await startWorker({ root, scriptPath, persistDir: join(tmpDir, "persist") });
  // One browser key for every request: the worker validates and seals it per request all the same.
  const pair = await webcrypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const { x, y } = await webcrypto.subtle.exportKey("jwk", pair.publicKey);
  const create = {
    method: "POST",
    path: "/api/qr/",
    body: JSON.stringify({ public_key: { kty: "EC", crv: "P-256", x, y } }),
    headers: { "content-type": "application/json" },
  };
  const health = { method: "GET", path: "/health" };
  const load = loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");
  const results = { create: [], health: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [name, spec] of [
      ["health", health],
      ["create", create],
    ]) {
      const r = await runLoad("autocannon", {
        url: server.url,
        spec,
        connections,
        durationSeconds: seconds,
        threads: 1,
        tmpDir,
        label: `${name}-${round}`,
      });
      results[name].push(r);
      console.log(
        `round ${round + 1} ${name.padEnd(6)} ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.latency_ms.p50} ms  p99 ${r.latency_ms.p99} ms  errors ${JSON.stringify(r.errors)}`,
      );
    }
  }
  const median = (list) => list.map((r) => r.rps).sort((a, b) => a - b)[Math.floor(list.length / 2)];
  // What the logins left on disk: workerd's open SQLite files name the directories; D1's database is not a login's.
  const open = readdirSync(`/proc/${server.pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${server.pid}/fd/${fd}`);
    } catch {
      return "";
    }
  });
  const dirs = new Set(
    open.filter((f) => f.endsWith(".sqlite") && !f.includes("D1Database") && !f.includes("metadata")).map((f) => dirname(f)),
  );
  const files = [...dirs].flatMap((d) => readdirSync(d).map((f) => join(d, f)));
  const mib = files.reduce((sum, f) => sum + statSync(f).size, 0) / 2 ** 20;
  const made = results.create.reduce((sum, r) => sum + r.requests, 0);
  console.log(
    `Durable Object files after ${made} logins: ${files.length} in ${[...dirs].join(", ") || "(no object storage open)"}, ${mib.toFixed(1)} MiB`,
  );
  console.log(
    `\n${root}: POST /api/qr/ median ${median(results.create).toFixed(0)} logins/s, GET /health ${median(results.health).toFixed(0)} req/s (${((median(results.create) / median(results.health)) * 100).toFixed(0)} %); load average at start ${load}, at end ${loadavg()
      .map((n) => n.toFixed(2))
      .join(" ")}`,
  );
} finally {
  await server?.stop();
  rmSync(tmpDir, { recursive: true, force: true });
}
