#!/usr/bin/env node
// Cold start with and without the API reference's renderer in the bundle: builds the worker twice (as deployed,
// and with BENCH_WITHOUT_DOCS_RENDERER=1, which empties src/openapi/swagger-ui.generated.ts), then starts each in a fresh workerd ROUNDS times and times
// new workerd -> first 200 on /health. Bounded: ROUNDS (default 5) starts per build, 127.0.0.1 only.
// Run: node bench/startup.mjs
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { buildWorker, startWorker } from "./lib/server.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const generated = join(root, "src/openapi/swagger-ui.generated.ts");
const tmp = mkdtempSync(join(tmpdir(), "edge-auth-startup-"));

async function starts(scriptPath, label) {
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    const server = await startWorker({ root, scriptPath, persistDir: join(tmp, `${label}-${i}`) });
    const res = await fetch(`${server.url}/health`);
    await res.arrayBuffer();
    times.push(performance.now() - t);
    await server.stop();
  }
  times.sort((a, b) => a - b);
  const bytes = readFileSync(scriptPath);
  return { label, size_kib: Math.round(statSync(scriptPath).size / 1024), gzip_kib: Math.round(gzipSync(bytes).length / 1024), median_ms: Math.round(times[times.length >> 1]), min_ms: Math.round(times[0]), max_ms: Math.round(times.at(-1)) };
}

const original = readFileSync(generated, "utf8");
try {
  const withDocs = await buildWorker(root, join(tmp, "with"));
  process.env.BENCH_WITHOUT_DOCS_RENDERER = "1";
  const without = await buildWorker(root, join(tmp, "without"));
  delete process.env.BENCH_WITHOUT_DOCS_RENDERER;
  writeFileSync(generated, original);
  const rows = [await starts(without, "without the renderer"), await starts(withDocs, "with Swagger UI in the bundle")];
  console.log(`\nworkerd start -> first /health answer, ${ROUNDS} starts each (ms):`);
  for (const r of rows) console.log(`  ${r.label.padEnd(32)} bundle ${r.size_kib} KiB (${r.gzip_kib} KiB gzip)  median ${r.median_ms}  min ${r.min_ms}  max ${r.max_ms}`);
} finally {
  writeFileSync(generated, original);
  rmSync(tmp, { recursive: true, force: true });
}
